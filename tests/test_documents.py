"""KubeFedCluster objects (and exported lists of them) as the cluster inventory, through the real CLI."""

from __future__ import annotations

from pathlib import Path

from conftest import Invoke, write_tree
from kubefed_helpers import KUBEFED_CLUSTERS, errors, placed, render

SELECTED = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: prod-only
  namespace: shop
  annotations: {fanout.dev/placement: "env=prod"}
"""

EXPORTED = """
apiVersion: v1
kind: List
items:
- apiVersion: core.kubefed.io/v1beta1
  kind: KubeFedCluster
  metadata:
    name: onprem-a
    namespace: kube-federation-system
    uid: 1b2c
    resourceVersion: "12"
    labels: {env: prod, site: a}
  spec: {apiEndpoint: "https://a.example.com", secretRef: {name: a}}
  status:
    conditions: [{type: Ready, status: "True"}]
- apiVersion: core.kubefed.io/v1beta1
  kind: KubeFedCluster
  metadata: {name: onprem-b, labels: {env: test, site: b}}
  spec: {apiEndpoint: "https://b.example.com", secretRef: {name: b}}
"""


def test_kubefed_clusters_are_the_inventory(tmp_path: Path, invoke: Invoke) -> None:
    source = write_tree(
        tmp_path / "src", {"clusters/kubefed.yaml": KUBEFED_CLUSTERS, "templates/cm.yaml": SELECTED}
    )
    result = invoke("clusters", str(source))
    assert result.exit_code == 0, result.output
    assert result.stdout.split()[:3] == ["NAME", "LABELS", "OBJECTS"]
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows == [
        ["aws-east", "cloud=aws,env=prod", "1"],
        ["azure-west", "cloud=azure,env=prod", "1"],
        ["gcp-dev", "cloud=gcp,env=dev", "0"],
    ]
    assert placed(render(invoke, source), "shop/configmap_prod-only.yaml") == {"aws-east", "azure-west"}


def test_an_exported_list_works_as_it_is(tmp_path: Path, invoke: Invoke) -> None:
    source = write_tree(tmp_path / "src", {"clusters/export.yaml": EXPORTED, "templates/cm.yaml": SELECTED})
    assert placed(render(invoke, source), "shop/configmap_prod-only.yaml") == {"onprem-a"}


def test_both_kinds_of_cluster_mix(tmp_path: Path, invoke: Invoke) -> None:
    fanout_cluster = """
    apiVersion: fanout.dev/v1alpha1
    kind: Cluster
    metadata: {name: edge, labels: {env: prod}}
    spec: {values: {replicas: 2}}
    """
    source = write_tree(
        tmp_path / "src",
        {
            "clusters/kubefed.yaml": KUBEFED_CLUSTERS,
            "clusters/edge.yaml": fanout_cluster,
            "templates/cm.yaml": SELECTED,
        },
    )
    assert placed(render(invoke, source), "shop/configmap_prod-only.yaml") == {
        "aws-east",
        "azure-west",
        "edge",
    }


def test_kubefed_clusters_have_no_values(tmp_path: Path, invoke: Invoke) -> None:
    uses_values = """
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: c, namespace: shop}
    data: {size: "${cluster.values.size}", name: "${cluster.name}"}
    """
    source = write_tree(
        tmp_path / "src", {"clusters/kubefed.yaml": KUBEFED_CLUSTERS, "templates/cm.yaml": uses_values}
    )
    (line,) = errors(invoke, source)
    assert line.startswith(
        "templates/cm.yaml:4:8: ${cluster.values.size} is undefined for clusters aws-east,"
    )


def test_mistakes_in_cluster_objects_are_located(tmp_path: Path, invoke: Invoke) -> None:
    bad = EXPORTED.replace("name: onprem-b", "name: OnPrem_B").replace("site: a}", "site: 7}")
    duplicate = KUBEFED_CLUSTERS.split("---")[0].replace("kube-federation-system", "other")
    source = write_tree(
        tmp_path / "src",
        {"clusters/a.yaml": KUBEFED_CLUSTERS, "clusters/b.yaml": duplicate, "clusters/export.yaml": bad},
    )
    assert errors(invoke, source) == [
        "clusters/b.yaml:3:12: cluster 'aws-east' is defined twice (first at clusters/a.yaml:3:12)",
        "clusters/export.yaml:11:25: 7 is not of type 'string' at /metadata/labels/site",
        "clusters/export.yaml:17:14: 'OnPrem_B' is not a DNS-1123 label (lowercase letters, digits and '-',"
        " at most 63) at /metadata/name",
    ]
