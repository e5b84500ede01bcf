"""Inline overrides of Federated<Kind> objects follow the rules KubeFed enforced, all reported at once."""

from __future__ import annotations

from pathlib import Path

from conftest import Invoke, write_tree
from kubefed_helpers import KUBEFED_CLUSTERS, errors, objects, render

OVERRIDES = """
apiVersion: types.kubefed.io/v1beta1
kind: FederatedConfigMap
metadata: {name: settings, namespace: shop}
spec:
  template: {data: {a: "1"}}
  placement: {clusterSelector: {}}
  overrides:
  - clusterName: aws-east
    clusterOverrides:
    - {path: /metadata/name, value: other}
    - {path: /metadata/namespace, value: other}
    - {path: /metadata/generateName, value: x-}
    - {path: /kind, value: Secret}
    - {path: /data/a, value: "2"}
    - {path: /data/a, value: "3"}
  - clusterName: aws-east
    clusterOverrides: []
"""


def test_forbidden_paths_and_duplicates(tmp_path: Path, invoke: Invoke) -> None:
    source = write_tree(
        tmp_path / "src", {"clusters/c.yaml": KUBEFED_CLUSTERS, "templates/cm.yaml": OVERRIDES}
    )
    assert errors(invoke, source) == [
        "templates/cm.yaml:10:8: overrides may not change /metadata/name (it identifies the object)",
        "templates/cm.yaml:11:8: overrides may not change /metadata/namespace (it identifies the object)",
        "templates/cm.yaml:12:8: overrides may not change /metadata/generateName (it identifies the object)",
        "templates/cm.yaml:13:8: overrides may not change /kind (it identifies the object)",
        "templates/cm.yaml:15:8: path /data/a is overridden twice for cluster 'aws-east'",
        "templates/cm.yaml:16:5: cluster 'aws-east' has two override entries in this object",
    ]


def test_op_defaults_to_replace_and_add_remove_work(tmp_path: Path, invoke: Invoke) -> None:
    template = """
    apiVersion: types.kubefed.io/v1beta1
    kind: FederatedConfigMap
    metadata: {name: settings, namespace: shop}
    spec:
      template: {data: {a: "1", b: "2"}}
      placement: {clusters: [{name: gcp-dev}]}
      overrides:
      - clusterName: gcp-dev
        clusterOverrides:
        - {path: /data/a, value: "10"}
        - {op: remove, path: /data/b}
        - {op: add, path: /data/c, value: "3"}
    """
    source = write_tree(
        tmp_path / "src", {"clusters/c.yaml": KUBEFED_CLUSTERS, "templates/cm.yaml": template}
    )
    rendered = objects(render(invoke, source), "gcp-dev")["shop/configmap_settings.yaml"]
    assert rendered["data"] == {"a": "10", "c": "3"}
