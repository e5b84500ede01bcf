"""KubeFed v1beta1 semantics as KubeFed v0.8.1 ran them, lists everywhere, and format mistakes located.

References (kubernetes-sigs/kubefed 16fb853905f9): ``pkg/controller/sync/resource.go`` ObjectForCluster
(template apiVersion wins; annotations and finalizers not propagated), ``pkg/controller/util/overrides.go``
(default op replace; evanphx/json-patch v4.11 sets a key a mapping lacks), ``pkg/schedulingtypes/plugin.go``
(GetResourceClusters with selectorOnly for intersectWithClusterSelector).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Invoke, write_tree
from kubefed_helpers import (
    ALL,
    KUBEFED_CLUSTERS,
    errors,
    federated_deployment,
    federated_namespace,
    objects,
    placed,
    render,
    warnings,
)

DEPLOY = "shop/deployment.apps_web.yaml"


def root(tmp_path: Path, files: dict[str, str]) -> Path:
    return write_tree(tmp_path / "src", {"clusters/kubefed.yaml": KUBEFED_CLUSTERS, **files})


def test_template_api_version_wins_over_the_type(tmp_path: Path, invoke: Invoke) -> None:
    ingress = """
    apiVersion: types.kubefed.io/v1beta1
    kind: FederatedIngress
    metadata: {name: web, namespace: shop}
    spec:
      template:
        apiVersion: networking.k8s.io/v1beta1
        spec: {rules: [{host: web.example.com}]}
      placement: {clusterSelector: {}}
    """
    out = render(invoke, root(tmp_path, {"templates/ingress.yaml": ingress}))
    # Not the type's networking.k8s.io/v1, and not silently dropped.
    assert objects(out, "aws-east")["shop/ingress.networking.k8s.io_web.yaml"]["apiVersion"] == (
        "networking.k8s.io/v1beta1"
    )


def test_replace_sets_a_missing_key_and_retain_replicas_is_accepted(tmp_path: Path, invoke: Invoke) -> None:
    deployment = federated_deployment("web") + (
        "  retainReplicas: true\n"
        "  overrides:\n"
        "  - clusterName: gcp-dev\n"
        "    clusterOverrides:\n"
        "    - {path: /spec/minReadySeconds, value: 30}\n"
        "    - {path: /spec/nothere/deeper, value: 1}\n"
    )
    source = root(tmp_path, {"templates/web.yaml": deployment})
    # The key a mapping lacks is set; a missing parent is still an error, as in json-patch v4.
    assert errors(invoke, source) == [
        "templates/web.yaml:17:7: patch failed on Deployment.apps shop/web: replace /spec/nothere/deeper: the"
        " path does not exist (use add to create it) (in cluster gcp-dev)"
    ]
    source = root(tmp_path, {"templates/web.yaml": deployment.rsplit("    - {path: /spec/nothere", 1)[0]})
    out = render(invoke, source)
    assert objects(out, "gcp-dev")[DEPLOY]["spec"]["minReadySeconds"] == 30
    assert "minReadySeconds" not in objects(out, "aws-east")[DEPLOY]["spec"]


def test_template_annotations_are_not_propagated(tmp_path: Path, invoke: Invoke) -> None:
    deployment = federated_deployment("web").replace(
        "  template:\n    spec:",
        "  template:\n    metadata: {annotations: {a: b}, finalizers: [x]}\n    spec:",
    )
    source = root(tmp_path, {"templates/web.yaml": deployment})
    out = render(invoke, source)
    assert objects(out, "aws-east")[DEPLOY]["metadata"] == {"name": "web", "namespace": "shop"}
    found = warnings(invoke, source)
    assert len(found) == 2
    assert "spec.template.metadata.annotations is not rendered: KubeFed did not propagate it" in found[0]
    assert "spec.template.metadata.finalizers is not rendered: KubeFed did not propagate it" in found[1]


def test_intersect_plans_over_the_selector_within_the_namespace(tmp_path: Path, invoke: Invoke) -> None:
    rsp = """
    apiVersion: scheduling.kubefed.io/v1alpha1
    kind: ReplicaSchedulingPreference
    metadata: {name: web, namespace: shop}
    spec: {targetKind: FederatedDeployment, totalReplicas: 6, intersectWithClusterSelector: true}
    """
    # The target's selector picks every cluster, its clusters list only aws-east (ignored by the
    # scheduler, which reads the selector alone); the namespace goes to prod clusters only.
    deployment = federated_deployment("web", placement="clusters: [{name: aws-east}], clusterSelector: {}")
    source = root(
        tmp_path,
        {
            "templates/ns.yaml": federated_namespace("shop", "clusterSelector: {matchLabels: {env: prod}}"),
            "templates/web.yaml": deployment,
            "templates/rsp.yaml": rsp,
        },
    )
    out = render(invoke, source)
    assert {c: objects(out, c)[DEPLOY]["spec"]["replicas"] for c in placed(out, DEPLOY)} == {
        "aws-east": 3,
        "azure-west": 3,
    }


def test_lists_are_expanded_everywhere_without_what_the_cluster_wrote(tmp_path: Path, invoke: Invoke) -> None:
    exported = """
    apiVersion: v1
    kind: List
    items:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: one
        namespace: shop
        uid: 1234
        resourceVersion: "77"
        creationTimestamp: "2020-01-01T00:00:00Z"
        generation: 2
        managedFields: [{manager: kubectl}]
        finalizers: [x]
        annotations:
          kubectl.kubernetes.io/last-applied-configuration: '{"secret": "do not copy"}'
      data: {a: "1"}
      status: {phase: Active}
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: two, namespace: shop, annotations: {keep: me, kubectl.kubernetes.io/last-applied-configuration: x}}
      data: {b: "2"}
    """
    overrides = """
    apiVersion: v1
    kind: List
    items:
    - apiVersion: fanout.dev/v1alpha1
      kind: Override
      metadata: {name: first}
      spec:
        clusters: {names: [aws-east]}
        resources: [{kind: ConfigMap, name: one}]
        merge: {data: {a: "10"}}
    - apiVersion: fanout.dev/v1alpha1
      kind: Override
      metadata: {name: second}
      spec:
        clusters: {names: [aws-east]}
        resources: [{kind: ConfigMap, name: one}]
        merge: {data: {c: "3"}}
    """
    out = render(invoke, root(tmp_path, {"templates/list.yaml": exported, "overrides/list.yaml": overrides}))
    got = objects(out, "aws-east")
    assert got["shop/configmap_one.yaml"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "one", "namespace": "shop"},
        "data": {"a": "10", "c": "3"},
    }
    assert got["shop/configmap_two.yaml"]["metadata"]["annotations"] == {"keep": "me"}
    header = (out / "aws-east" / "shop/configmap_one.yaml").read_text().splitlines()[:2]
    assert header == [
        "# Rendered by fanout from templates/list.yaml[0]. Do not edit: change the source and re-render.",
        "# Overrides applied, in order: overrides/list.yaml[0] (first), overrides/list.yaml[1] (second)",
    ]
    assert set(placed(out, "shop/configmap_two.yaml")) == set(ALL)


def test_a_list_without_items_is_an_error(tmp_path: Path, invoke: Invoke) -> None:
    source = root(tmp_path, {"templates/list.yaml": "apiVersion: v1\nkind: List\nitems: {}\n"})
    assert errors(invoke, source) == ["templates/list.yaml:3:1: a List needs a list of items"]


def test_federated_type_of_another_group_is_located(tmp_path: Path, invoke: Invoke) -> None:
    bad = """
    apiVersion: types.kubefed.io/v1beta1
    kind: FederatedDeployment
    metadata: {name: web, namespace: shop}
    spec:
      template: {spec: {replicas: 1}}
      placement: {clusterNames: [aws-east]}
      overrides: [{clusterName: aws-east, clusterOverrides: [{path: spec.replicas, value: 2}]}]
    """
    found = errors(invoke, root(tmp_path, {"templates/web.yaml": bad}))
    assert (
        found[0]
        == "templates/web.yaml:6:15: unknown field 'clusterNames' (allowed: clusterSelector, clusters)"
    )


CONTROL_PLANE = {
    "enable-type-directive": (
        "apiVersion: core.kubefed.io/v1beta1\nkind: EnableTypeDirective\nmetadata: {name: deployments.apps}\n",
        "EnableTypeDirective (core.kubefed.io/v1beta1) is not rendered: the input of kubefedctl enable",
    ),
    "dns-record": (
        "apiVersion: multiclusterdns.kubefed.io/v1alpha1\nkind: ServiceDNSRecord\nmetadata: {name: web, namespace: shop}\n",
        "ServiceDNSRecord (multiclusterdns.kubefed.io/v1alpha1) is not rendered: multi-cluster DNS",
    ),
    "federated-cluster": (
        "apiVersion: core.federation.k8s.io/v1alpha1\nkind: FederatedCluster\nmetadata: {name: c1}\n",
        "FederatedCluster (core.federation.k8s.io/v1alpha1) is not rendered: a cluster registration belongs in the inventory",
    ),
    "kubefed-cluster": (
        "apiVersion: core.kubefed.io/v1beta1\nkind: KubeFedCluster\nmetadata: {name: c1}\n",
        "KubeFedCluster (core.kubefed.io/v1beta1) is not rendered: a cluster registration belongs in the inventory",
    ),
    "v1-cluster": (
        "apiVersion: federation/v1beta1\nkind: Cluster\nmetadata: {name: c1}\n",
        "Cluster (federation/v1beta1) is not rendered: a cluster registration belongs in the inventory",
    ),
    "propagated-version": (
        "apiVersion: core.kubefed.io/v1beta1\nkind: PropagatedVersion\nmetadata: {name: x, namespace: shop}\n",
        "PropagatedVersion (core.kubefed.io/v1beta1) is not rendered: status that KubeFed's controllers wrote",
    ),
    "types-group-without-federated-kind": (
        "apiVersion: types.kubefed.io/v1beta1\nkind: Deployment\nmetadata: {name: x, namespace: shop}\n",
        "Deployment (types.kubefed.io/v1beta1) is not rendered: it configures the federation control plane",
    ),
}


@pytest.mark.parametrize("case", sorted(CONTROL_PLANE))
def test_control_plane_objects_are_located_errors(case: str, tmp_path: Path, invoke: Invoke) -> None:
    text, message = CONTROL_PLANE[case]
    found = errors(invoke, root(tmp_path, {"templates/x.yaml": text}))
    assert len(found) == 1
    assert found[0].startswith("templates/x.yaml:2:1: " + message), found[0]


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_replica_scheduling_of_a_plain_workload(kind: str, tmp_path: Path, invoke: Invoke) -> None:
    workload = f"""
    apiVersion: apps/v1
    kind: {kind}
    metadata: {{name: web, namespace: shop}}
    spec: {{replicas: 1, template: {{spec: {{containers: [{{name: web, image: "web:1"}}]}}}}}}
    """
    rsp = f"""
    apiVersion: scheduling.kubefed.io/v1alpha1
    kind: ReplicaSchedulingPreference
    metadata: {{name: web, namespace: shop}}
    spec:
      targetKind: {kind}
      totalReplicas: 7
      clusters: {{aws-east: {{weight: 1}}, azure-west: {{weight: 1}}}}
    """
    out = render(invoke, root(tmp_path, {"templates/web.yaml": workload, "templates/rsp.yaml": rsp}))
    path = f"shop/{kind.lower()}.apps_web.yaml"
    got = {c: objects(out, c)[path]["spec"]["replicas"] for c in placed(out, path)}
    assert sorted(got.values()) == [0, 3, 4] and set(got) == set(ALL)
