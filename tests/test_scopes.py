"""Which kinds are namespaced: Kubernetes' own, CustomResourceDefinitions among the templates, fanout.yaml's
``scopes``; and a guess that is said, never silent, for a kind none of them knows (formats/common.py)."""

from __future__ import annotations

from pathlib import Path

from conftest import Invoke, write_tree
from kubefed_helpers import objects

CLUSTER = "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n"
ISSUERS = """apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt}
spec: {acme: {server: https://acme-v02.api.letsencrypt.org/directory}}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: internal}
spec: {ca: {secretName: ca}}
"""


def _root(tmp_path: Path, config: str) -> Path:
    return write_tree(
        tmp_path / "src",
        {
            "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\n" + config,
            "clusters/a.yaml": CLUSTER,
            "templates/issuers.yaml": ISSUERS,
        },
    )


def test_a_default_namespace_given_to_an_unknown_kind_is_said_once(tmp_path: Path, invoke: Invoke) -> None:
    """kustomize's ``namespace:`` does the same guess silently; fanout keeps the guess (most custom kinds are
    namespaced) and says it once per kind, with the line that settles it."""
    root = _root(tmp_path, "defaultNamespace: apps\n")
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warning.startswith(
        "templates/issuers.yaml:3:1: warning: ClusterIssuer 'letsencrypt' (cert-manager.io/v1) has no namespace"
    )
    assert "written in the default namespace apps" in warning
    assert "`scopes: {ClusterIssuer.cert-manager.io: Namespaced}` (or Cluster)" in warning
    assert sorted(objects(root / "rendered", "a")) == [
        "apps/clusterissuer.cert-manager.io_internal.yaml",
        "apps/clusterissuer.cert-manager.io_letsencrypt.yaml",
    ]


def test_scopes_settle_it_either_way(tmp_path: Path, invoke: Invoke) -> None:
    cluster = _root(
        tmp_path / "c", "defaultNamespace: apps\nscopes: {ClusterIssuer.cert-manager.io: Cluster}\n"
    )
    result = invoke("render", str(cluster))
    assert result.exit_code == 0 and "warning" not in result.stderr
    files = objects(cluster / "rendered", "a")
    assert sorted(files) == [
        "_cluster/clusterissuer.cert-manager.io_internal.yaml",
        "_cluster/clusterissuer.cert-manager.io_letsencrypt.yaml",
    ]
    assert all("namespace" not in f["metadata"] for f in files.values())

    namespaced = _root(
        tmp_path / "n", "defaultNamespace: apps\nscopes: {ClusterIssuer.cert-manager.io: Namespaced}\n"
    )
    result = invoke("render", str(namespaced))
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert sorted(objects(namespaced / "rendered", "a")) == [
        "apps/clusterissuer.cert-manager.io_internal.yaml",
        "apps/clusterissuer.cert-manager.io_letsencrypt.yaml",
    ]


def test_without_a_default_namespace_nothing_is_guessed(tmp_path: Path, invoke: Invoke) -> None:
    root = _root(tmp_path, "")
    result = invoke("render", str(root))
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert sorted(objects(root / "rendered", "a")) == [
        "_cluster/clusterissuer.cert-manager.io_internal.yaml",
        "_cluster/clusterissuer.cert-manager.io_letsencrypt.yaml",
    ]


def test_a_scope_for_the_core_group_is_written_without_a_group(tmp_path: Path, invoke: Invoke) -> None:
    from fanout.formats.common import scope_key

    assert scope_key("v1", "Widget") == "Widget"
    assert scope_key("example.com/v1", "Widget") == "Widget.example.com"
