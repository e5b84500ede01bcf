"""ReplicaSchedulingPreference applied to federated workloads, through the real CLI."""

from __future__ import annotations

from pathlib import Path

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


def rsp(total: int, clusters: str = "", intersect: bool = False, kind: str = "FederatedDeployment") -> str:
    return f"""
apiVersion: scheduling.kubefed.io/v1alpha1
kind: ReplicaSchedulingPreference
metadata: {{name: web, namespace: shop}}
spec:
  targetKind: {kind}
  totalReplicas: {total}
  intersectWithClusterSelector: {str(intersect).lower()}
{clusters}"""


def root(tmp_path: Path, files: dict[str, str]) -> Path:
    return write_tree(tmp_path / "src", {"clusters/kubefed.yaml": KUBEFED_CLUSTERS, **files})


def replicas(out: Path) -> dict[str, int]:
    return {c: objects(out, c)[DEPLOY]["spec"]["replicas"] for c in sorted(placed(out, DEPLOY))}


def test_weights_split_the_total(tmp_path: Path, invoke: Invoke) -> None:
    clusters = "  clusters:\n    aws-east: {weight: 1}\n    azure-west: {weight: 2}\n"
    source = root(
        tmp_path, {"templates/web.yaml": federated_deployment("web"), "templates/rsp.yaml": rsp(9, clusters)}
    )
    out = render(invoke, source)
    # gcp-dev has neither its own entry nor "*": KubeFed's planner gave it 0 (plan[cluster] = 0) and
    # placed the object there with 0 replicas (pkg/controller/util/planner at v0.8.1).
    assert replicas(out) == {"aws-east": 3, "azure-west": 6, "gcp-dev": 0}
    header = (out / "azure-west" / DEPLOY).read_text().splitlines()[1]
    assert header == "# Overrides applied, in order: templates/rsp.yaml (replica scheduling: 6 of 9)"
    assert "rsp" not in " ".join(objects(out, "aws-east"))  # the RSP itself is never rendered
    assert warnings(invoke, source) == []


def test_no_clusters_means_every_cluster_with_weight_one(tmp_path: Path, invoke: Invoke) -> None:
    source = root(tmp_path, {"templates/web.yaml": federated_deployment("web"), "templates/rsp.yaml": rsp(6)})
    assert replicas(render(invoke, source)) == dict.fromkeys(ALL, 2)


def test_zero_replicas_still_get_a_copy(tmp_path: Path, invoke: Invoke) -> None:
    clusters = '  clusters:\n    "*": {weight: 1}\n    aws-east: {weight: 100}\n'
    source = root(
        tmp_path, {"templates/web.yaml": federated_deployment("web"), "templates/rsp.yaml": rsp(2, clusters)}
    )
    assert replicas(render(invoke, source)) == {"aws-east": 2, "azure-west": 0, "gcp-dev": 0}


def test_without_intersect_the_plan_overrides_the_placement(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {
            "templates/web.yaml": federated_deployment("web", placement="clusters: [{name: aws-east}]"),
            "templates/rsp.yaml": rsp(4),
        },
    )
    got = replicas(render(invoke, source))
    assert set(got) == set(ALL)  # gcp-dev and azure-west take part although the placement names aws-east
    assert sorted(got.values()) == [0, 2, 2]  # ceil(4/3) twice, then nothing is left


def test_intersect_keeps_the_placement(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {
            "templates/web.yaml": federated_deployment(
                "web", placement="clusterSelector: {matchLabels: {env: prod}}"
            ),
            "templates/rsp.yaml": rsp(5, intersect=True),
        },
    )
    got = replicas(render(invoke, source))
    assert set(got) == {"aws-east", "azure-west"}
    assert sorted(got.values()) == [2, 3]


def test_inline_overrides_and_override_files_apply_afterwards(tmp_path: Path, invoke: Invoke) -> None:
    deployment = federated_deployment("web") + (
        "  overrides:\n"
        "  - clusterName: gcp-dev\n"
        "    clusterOverrides:\n"
        "    - {path: /spec/replicas, value: 7}\n"
    )
    override = """
    apiVersion: fanout.dev/v1alpha1
    kind: Override
    metadata: {name: image}
    spec:
      clusters: {clusterSelector: {matchLabels: {cloud: aws}}}
      resources: [{kind: Deployment, name: web, namespace: shop}]
      patch:
      - {op: replace, path: /spec/replicas, value: 10}
    """
    source = root(
        tmp_path,
        {"templates/web.yaml": deployment, "templates/rsp.yaml": rsp(3), "overrides/aws.yaml": override},
    )
    # KubeFed's scheduler rewrote the inline /spec/replicas override with its plan (updateOverridesMap),
    # so gcp-dev runs its planned 1, not 7; fanout's own Override documents apply after all of it.
    assert replicas(render(invoke, source)) == {"aws-east": 10, "azure-west": 1, "gcp-dev": 1}
    assert warnings(invoke, source) == [
        "templates/web.yaml:15:8: this override of /spec/replicas for 'gcp-dev' has no effect:"
        " ReplicaSchedulingPreference shop/web sets it from its plan, as KubeFed's scheduler replaced such"
        " overrides"
    ]


def test_replica_set_target(tmp_path: Path, invoke: Invoke) -> None:
    replica_set = federated_deployment("web").replace("FederatedDeployment", "FederatedReplicaSet")
    source = root(
        tmp_path, {"templates/rs.yaml": replica_set, "templates/rsp.yaml": rsp(3, kind="FederatedReplicaSet")}
    )
    out = render(invoke, source)
    assert {
        c: objects(out, c)["shop/replicaset.apps_web.yaml"]["spec"]["replicas"] for c in ALL
    } == dict.fromkeys(ALL, 1)


def test_unassigned_replicas_warn(tmp_path: Path, invoke: Invoke) -> None:
    clusters = '  clusters:\n    "*": {weight: 1, maxReplicas: 2}\n'
    source = root(
        tmp_path, {"templates/web.yaml": federated_deployment("web"), "templates/rsp.yaml": rsp(10, clusters)}
    )
    assert replicas(render(invoke, source)) == dict.fromkeys(ALL, 2)
    assert warnings(invoke, source) == [
        "templates/rsp.yaml:6:3: ReplicaSchedulingPreference shop/web: 4 of 10 replicas are not placed:"
        " each cluster that takes part is at its maxReplicas or has weight 0"
    ]


def test_replicas_outside_the_namespace_are_lost_as_in_kubefed(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {
            "templates/ns.yaml": federated_namespace("shop", "clusterSelector: {matchLabels: {env: prod}}"),
            "templates/web.yaml": federated_deployment("web"),
            "templates/rsp.yaml": rsp(3),
        },
    )
    assert replicas(render(invoke, source)) == {"aws-east": 1, "azure-west": 1}
    assert warnings(invoke, source) == [
        "templates/rsp.yaml:6:3: ReplicaSchedulingPreference shop/web: 1 replicas are planned for clusters"
        " outside the placement of namespace 'shop' and run nowhere: gcp-dev (1)"
    ]


def test_mistakes_are_errors(tmp_path: Path, invoke: Invoke) -> None:
    clusters = "  clusters:\n    aws-eats: {weight: 1}\n    gcp-dev: {minReplicas: 3, maxReplicas: 2}\n"
    other = rsp(2).replace("name: web", "name: nothere")
    source = root(
        tmp_path,
        {
            "templates/web.yaml": federated_deployment("web"),
            "templates/a.yaml": rsp(2, clusters),
            "templates/b.yaml": other,
            "templates/c.yaml": rsp(2),
            "templates/d.yaml": rsp(2, kind="FederatedStatefulSet").replace("name: web", "name: db"),
        },
    )
    assert errors(invoke, source) == [
        "templates/a.yaml:9:5: unknown cluster 'aws-eats' (did you mean 'aws-east'?)",
        "templates/a.yaml:10:5: minReplicas 3 is greater than maxReplicas 2",
        "templates/b.yaml:3:12: ReplicaSchedulingPreference shop/nothere schedules FederatedDeployment"
        " shop/nothere, which is not among the templates",
        "templates/c.yaml:3:12: a second ReplicaSchedulingPreference shop/web (first at templates/a.yaml:1:1)",
        "templates/d.yaml:5:3: 'FederatedStatefulSet' is not one of ['FederatedDeployment',"
        " 'FederatedReplicaSet', 'Deployment', 'ReplicaSet', 'StatefulSet'] at /spec/targetKind",
    ]


def test_render_is_deterministic(tmp_path: Path, invoke: Invoke) -> None:
    clusters = '  clusters:\n    "*": {weight: 1}\n'
    source = root(
        tmp_path, {"templates/web.yaml": federated_deployment("web"), "templates/rsp.yaml": rsp(7, clusters)}
    )
    first = {c: (render(invoke, source) / c / DEPLOY).read_bytes() for c in ALL}
    second = {c: (render(invoke, source) / c / DEPLOY).read_bytes() for c in ALL}
    assert first == second


def test_no_cluster_takes_part(tmp_path: Path, invoke: Invoke) -> None:
    clusters = "  clusters:\n    gcp-dev: {weight: 1}\n"
    source = root(
        tmp_path,
        {
            "templates/web.yaml": federated_deployment("web", placement="clusters: [{name: aws-east}]"),
            "templates/rsp.yaml": rsp(3, clusters, intersect=True),
        },
    )
    # With intersectWithClusterSelector KubeFed planned over the clusters the target's clusterSelector
    # selects (GetResourceClusters with selectorOnly); a target placed by names alone has none, and the
    # RSP did nothing: the object keeps its own placement and replicas.
    out = render(invoke, source)
    assert placed(out, DEPLOY) == {"aws-east"}
    assert objects(out, "aws-east")[DEPLOY]["spec"]["replicas"] == 1
    assert warnings(invoke, source) == [
        "templates/rsp.yaml:6:3: ReplicaSchedulingPreference shop/web does nothing: with"
        " intersectWithClusterSelector, KubeFed planned over the clusters Deployment.apps shop/web selects with"
        " its clusterSelector (within its namespace's placement), and there are none; the object keeps its"
        " own placement"
    ]
