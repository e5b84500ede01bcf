"""``format: federation-v1``: plain objects rendered as Federation v1's controllers propagated them.

Expected values follow kubernetes/federation (804bb9f35, the last commit): ``pkg/federatedtypes/
scheduling.go`` (replica preferences, default ``{"*": {"weight": 1}}``, every selected cluster placed),
``pkg/federation-controller/job/jobcontroller.go`` (parallelism and completions, created only above 0,
cluster selector ignored), ``pkg/federation-controller/util/clusterselector`` (the operators).
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Invoke, write_tree
from kubefed_helpers import objects, placed

CLUSTERS = """
apiVersion: federation/v1beta1
kind: Cluster
metadata: {name: us-east, labels: {region: us, tier: "3"}}
spec: {serverAddressByClientCIDRs: [{clientCIDR: 0.0.0.0/0, serverAddress: "https://us-east"}]}
---
apiVersion: clusterregistry.k8s.io/v1alpha1
kind: Cluster
metadata: {name: us-west, labels: {region: us, tier: "1"}}
spec: {kubernetesApiEndpoints: {serverEndpoints: [{serverAddress: "https://us-west"}]}}
---
apiVersion: federation/v1beta1
kind: Cluster
metadata: {name: eu-west, labels: {region: eu}}
spec: {serverAddressByClientCIDRs: [{clientCIDR: 0.0.0.0/0, serverAddress: "https://eu-west"}]}
"""
ALL = ("eu-west", "us-east", "us-west")
CONFIG = "apiVersion: fanout.dev/v1alpha1\nkind: Config\nformat: federation-v1\n"


def deployment(
    annotations: dict[str, str] | None = None, replicas: int | None = 6, kind: str = "Deployment"
) -> str:
    meta: dict[str, object] = {"name": "web"}
    if annotations:
        meta["annotations"] = annotations
    spec: dict[str, object] = {"template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return json.dumps({"apiVersion": "extensions/v1beta1", "kind": kind, "metadata": meta, "spec": spec})


def root(tmp_path: Path, templates: dict[str, str], config: str = CONFIG) -> Path:
    return write_tree(tmp_path / "src", {"fanout.yaml": config, "clusters/all.yaml": CLUSTERS, **templates})


def render(invoke: Invoke, source: Path) -> tuple[Path, str]:
    out = source.parent / "out"
    result = invoke("render", str(source), "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    return out, result.stderr


def replicas(out: Path, path: str, field: str = "replicas") -> dict[str, int]:
    return {c: objects(out, c)[path]["spec"][field] for c in sorted(placed(out, path))}


DEPLOY = "default/deployment.extensions_web.yaml"
PREFS = "federation.kubernetes.io/deployment-preferences"
SELECTOR = "federation.alpha.kubernetes.io/cluster-selector"


def test_no_preferences_divide_evenly_into_the_default_namespace(tmp_path: Path, invoke: Invoke) -> None:
    out, _ = render(invoke, root(tmp_path, {"templates/web.yaml": deployment()}))
    assert replicas(out, DEPLOY) == dict.fromkeys(ALL, 2)
    assert objects(out, "us-east")[DEPLOY]["metadata"]["namespace"] == "default"


def test_missing_replicas_is_one_as_the_api_server_defaulted_it(tmp_path: Path, invoke: Invoke) -> None:
    out, _ = render(invoke, root(tmp_path, {"templates/web.yaml": deployment(replicas=None)}))
    # One replica over three clusters: the hash picks one; the other two get the object with 0.
    got = replicas(out, DEPLOY)
    assert sorted(got.values()) == [0, 0, 1] and set(got) == set(ALL)


def test_preferences_weights_minimum_and_maximum(tmp_path: Path, invoke: Invoke) -> None:
    prefs = {
        "rebalance": True,
        "clusters": {"us-east": {"weight": 2, "minReplicas": 1}, "us-west": {"Weight": 1, "maxReplicas": 1}},
    }
    out, _ = render(invoke, root(tmp_path, {"templates/web.yaml": deployment({PREFS: json.dumps(prefs)}, 9)}))
    # eu-west has no entry and no "*": placed with 0, as Federation v1's planner did (plan[cluster] = 0).
    assert replicas(out, DEPLOY) == {"eu-west": 0, "us-east": 8, "us-west": 1}


def test_cluster_selector_then_division_within_it(tmp_path: Path, invoke: Invoke) -> None:
    selector = json.dumps([{"key": "region", "operator": "in", "values": ["us"]}])
    web = deployment({SELECTOR: selector})
    out, _ = render(invoke, root(tmp_path, {"templates/web.yaml": web}))
    assert replicas(out, DEPLOY) == {"us-east": 3, "us-west": 3}
    # The annotations reach the clusters, as Federation v1 copied the object's metadata.
    assert objects(out, "us-east")[DEPLOY]["metadata"]["annotations"] == {SELECTOR: selector}


def test_selector_operators(tmp_path: Path, invoke: Invoke) -> None:
    def config_map(name: str, requirements: list[dict[str, object]]) -> str:
        annotations = {SELECTOR: json.dumps(requirements)}
        return json.dumps(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "annotations": annotations}}
        )

    cases = {
        "gt": [{"key": "tier", "operator": "gt", "values": ["2"]}],
        "lt": [{"key": "tier", "operator": "Lt", "values": ["2"]}],
        "notin": [{"key": "region", "operator": "notin", "values": ["us"]}],
        "not-exists": [{"key": "tier", "operator": "!"}],
        "equals": [{"key": "region", "operator": "=", "values": ["eu"]}],
        "both": [
            {"key": "region", "operator": "==", "values": ["us"]},
            {"key": "tier", "operator": "exists"},
        ],
    }
    files = {f"templates/{name}.yaml": config_map(name, reqs) for name, reqs in cases.items()}
    out, _ = render(invoke, root(tmp_path, files))
    where = {name: placed(out, f"default/configmap_{name}.yaml") for name in cases}
    assert where == {
        "gt": {"us-east"},
        "lt": {"us-west"},
        "notin": {"eu-west"},
        "not-exists": {"eu-west"},
        "equals": {"eu-west"},
        "both": {"us-east", "us-west"},
    }


def test_jobs_divide_parallelism_and_completions_and_ignore_the_selector(
    tmp_path: Path, invoke: Invoke
) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "batch",
            "annotations": {
                SELECTOR: json.dumps([{"key": "region", "operator": "in", "values": ["eu"]}]),
                "federation.kubernetes.io/job-preferences": json.dumps(
                    {"clusters": {"us-east": {"weight": 1}, "us-west": {"weight": 1}}}
                ),
            },
        },
        "spec": {"parallelism": 4, "completions": 6, "template": {"spec": {"restartPolicy": "Never"}}},
    }
    out, stderr = render(invoke, root(tmp_path, {"templates/job.yaml": json.dumps(job)}))
    path = "default/job.batch_batch.yaml"
    # eu-west's share is 0: Federation v1 did not create a Job there.
    assert replicas(out, path, "parallelism") == {"us-east": 2, "us-west": 2}
    assert replicas(out, path, "completions") == {"us-east": 3, "us-west": 3}
    assert "Job controller ignored federation.alpha.kubernetes.io/cluster-selector" in stderr


def test_kinds_federation_v1_did_not_federate(tmp_path: Path, invoke: Invoke) -> None:
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "spec": {}}
    hpa = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {},
    }
    source = root(tmp_path, {"templates/pvc.yaml": json.dumps(pvc), "templates/hpa.yaml": json.dumps(hpa)})
    result = invoke("render", str(source), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("templates/hpa.yaml:1:")
    assert "HorizontalPodAutoscaler cannot be rendered as Federation v1 ran it" in lines[0]
    assert lines[1].startswith("templates/pvc.yaml:1:")
    assert "Federation v1 did not federate PersistentVolumeClaim (v1)" in lines[1]
    assert "fanout.dev/clusters" in lines[1]
    # With fanout's own placement it goes where that says.
    pvc["metadata"]["annotations"] = {"fanout.dev/clusters": "us-east"}
    source = root(tmp_path / "again", {"templates/pvc.yaml": json.dumps(pvc)})
    out, _ = render(invoke, source)
    assert placed(out, "default/persistentvolumeclaim_data.yaml") == {"us-east"}


def test_mistakes_in_annotations_are_located(tmp_path: Path, invoke: Invoke) -> None:
    files = {
        "templates/a.yaml": deployment({PREFS: "{not json"}).replace('"web"', '"a"', 1),
        "templates/b.yaml": deployment({PREFS: json.dumps({"clusters": {"us-eats": {"weight": 1}}})}).replace(
            '"web"', '"b"', 1
        ),
        "templates/c.yaml": deployment(
            {SELECTOR: json.dumps([{"key": "x", "operator": "near", "values": ["y"]}])}
        ).replace('"web"', '"c"', 1),
        "templates/d.yaml": deployment({"fanout.dev/clusters": "us-east"}).replace('"web"', '"d"', 1),
        "templates/e.yaml": deployment({PREFS: json.dumps({"clusters": {"*": {"wieght": 1}}})}).replace(
            '"web"', '"e"', 1
        ),
    }
    result = invoke("render", str(root(tmp_path, files)), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 6, lines
    assert lines[0].startswith("templates/a.yaml:1:") and f"{PREFS}: not JSON" in lines[0]
    assert "unknown cluster 'us-eats' (did you mean 'us-east'?)" in lines[1]
    assert "unknown operator 'near'" in lines[2]
    assert (
        "places Deployment with federation.alpha.kubernetes.io/cluster-selector, not fanout.dev" in lines[3]
    )
    assert "cluster '*': expected {weight, minReplicas, maxReplicas}" in lines[4]
    assert not (tmp_path / "out").exists()


def test_default_namespace_can_be_chosen(tmp_path: Path, invoke: Invoke) -> None:
    config = CONFIG + "defaultNamespace: shop\n"
    out, _ = render(invoke, root(tmp_path, {"templates/web.yaml": deployment()}, config))
    assert placed(out, "shop/deployment.extensions_web.yaml") == set(ALL)


def test_the_v1_annotation_divides_replicas_in_fanouts_own_format_too(tmp_path: Path, invoke: Invoke) -> None:
    own = "apiVersion: fanout.dev/v1alpha1\nkind: Config\ndefaultNamespace: default\n"
    prefs = json.dumps({"clusters": {"us-east": {"weight": 1}, "us-west": {"weight": 1}}})
    files = {
        "templates/web.yaml": deployment({PREFS: prefs, "fanout.dev/placement": "region=us"}),
        "templates/plain.yaml": deployment(replicas=5).replace('"web"', '"plain"', 1),
    }
    out, _ = render(invoke, root(tmp_path, files, own))
    assert replicas(out, DEPLOY) == {"us-east": 3, "us-west": 3}
    # Without the annotation nothing is divided: fanout's own rule is every cluster, full replicas.
    assert replicas(out, "default/deployment.extensions_plain.yaml") == dict.fromkeys(ALL, 5)
