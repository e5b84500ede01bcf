"""Real upstream material (tests/upstream, see its README) renders as each system propagated it.

The expected objects are written out from the federation controllers' code, object by object:
KubeFed v0.8.1 ``pkg/controller/sync/resource.go`` (``ObjectForCluster``, ``ApplyOverrides``),
``pkg/controller/util/overrides.go`` (JSON Patch, ``replace`` by default) and ``pkg/schedulingtypes``;
federation-v2 v0.0.10 and v0.0.4 ``pkg/controller/sync`` (dotted paths, ``SetNestedField``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Invoke, write_tree
from kubefed_helpers import objects

UPSTREAM = ROOT / "tests" / "upstream"
CLUSTERS = """
apiVersion: core.kubefed.io/v1beta1
kind: KubeFedCluster
metadata: {name: cluster1, namespace: kube-federation-system}
spec: {apiEndpoint: "https://172.17.0.2:6443", secretRef: {name: cluster1-shqkv}}
---
apiVersion: core.kubefed.io/v1beta1
kind: KubeFedCluster
metadata: {name: cluster2, namespace: kube-federation-system}
spec: {apiEndpoint: "https://172.17.0.3:6443", secretRef: {name: cluster2-8rjwv}}
"""
NS = "test-namespace"
# Host-cluster objects of KubeFed's sample1 that KubeFed never propagated (the user guide applies them
# with `kubectl apply -R`, and they land in the host's default namespace): not part of the source.
HOST_ONLY = ("configmap.yaml", "deployment.yaml", "service.yaml")
# federation-v2 0.0.4's Ingress needs that release's type config, which comes with its control-plane CRDs:
# test_an_ingress_of_its_day_without_its_type_config_is_refused covers it.
WITHOUT_INGRESS = (*HOST_ONLY, "federatedingress-template.yaml", "federatedingress-placement.yaml")


def source(tmp_path: Path, folders: Iterable[str], skip: Iterable[str] = HOST_ONLY) -> Path:
    root = write_tree(tmp_path / "src", {"clusters/clusters.yaml": CLUSTERS})
    for folder in folders:
        for path in sorted((UPSTREAM / folder).glob("*.yaml")):
            if path.name not in skip:
                target = root / "templates" / folder / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    return root


def render(invoke: Invoke, root: Path) -> tuple[Path, str]:
    out = root.parent / "out"
    result = invoke("render", str(root), "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    return out, result.stderr


def deployment(replicas: int, image: str = "nginx", **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "test-deployment", "namespace": NS, "labels": {"app": "nginx"}, **metadata},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"image": image, "name": "nginx"}]},
            },
        },
    }


def common(cluster: str) -> dict[str, Any]:
    """What KubeFed v0.8.1 propagated of sample1 (with its chart's type configs) into ``cluster``."""
    two = cluster == "cluster2"
    job: dict[str, Any] = {
        "parallelism": 2 if two else 1,
        "selector": {"matchLabels": {"app": "busybox"}},
        "manualSelector": True,
        "template": {
            "metadata": {"labels": {"app": "busybox"}},
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "busybox",
                        "image": "busybox",
                        "command": [
                            "/bin/sh",
                            "-c",
                            "trap : TERM INT; (while true; do sleep 1000; done) & wait",
                        ],
                    }
                ],
            },
        },
    }
    return {
        "_cluster/namespace_test-namespace.yaml": {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NS},
        },
        f"{NS}/configmap_test-configmap.yaml": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "test-configmap", "namespace": NS},
            # cluster2: replace /data with {foo: bar}
            "data": {"foo": "bar"} if two else {"A": "ala ma kota"},
        },
        f"{NS}/secret_test-secret.yaml": {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "test-secret", "namespace": NS},
            "data": {"A": None} if two else {"A": "YWxhIG1hIGtvdGE="},
            "type": "Opaque",
        },
        f"{NS}/job.batch_test-job.yaml": {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "test-job", "namespace": NS},
            "spec": job,
        },
        f"{NS}/service_test-service.yaml": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "test-service", "namespace": NS},
            "spec": {
                "selector": {"app": "nginx"},
                "type": "NodePort",
                "ports": [{"name": "http", "port": 80}],
            },
        },
        f"{NS}/serviceaccount_test-serviceaccount.yaml": {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "test-serviceaccount", "namespace": NS},
            "automountServiceAccountToken": True,
        },
        # The chart's type config: ingresses.extensions, extensions/v1beta1.
        f"{NS}/ingress.extensions_test-ingress.yaml": {
            "apiVersion": "extensions/v1beta1",
            "kind": "Ingress",
            "metadata": {"name": "test-ingress", "namespace": NS},
            "spec": {
                "rules": [
                    {
                        "host": "ingress.example.com",
                        "http": {"paths": [{"backend": {"serviceName": "test-service", "servicePort": 80}}]},
                    }
                ]
            },
        },
        "_cluster/clusterrole.rbac.authorization.k8s.io_test-clusterrole.yaml": {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "test-clusterrole"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
        },
        "_cluster/clusterrolebinding.rbac.authorization.k8s.io_test-clusterrolebinding.yaml": {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "test-clusterrolebinding"},
            "subjects": [{"kind": "Group", "name": "test-user", "apiGroup": "rbac.authorization.k8s.io"}],
            "roleRef": {
                "kind": "ClusterRole",
                "name": "cluster-admin",
                "apiGroup": "rbac.authorization.k8s.io",
            },
        },
    }


def kubefed_sample1(cluster: str, replicas: int | None = None) -> dict[str, Any]:
    if cluster == "cluster1":
        deploy = deployment(replicas or 3)
    else:
        # replace /spec/replicas 5, the image, add /metadata/annotations {foo: bar}, remove .../foo
        deploy = deployment(replicas or 5, "nginx:1.17.0-alpine", annotations={})
    return {**common(cluster), f"{NS}/deployment.apps_test-deployment.yaml": deploy}


def test_kubefed_sample1_with_the_charts_type_configs(tmp_path: Path, invoke: Invoke) -> None:
    out, stderr = render(invoke, source(tmp_path, ["kubefed-v0.8.1/chart", "kubefed-v0.8.1/sample1"]))
    for cluster in ("cluster1", "cluster2"):
        assert objects(out, cluster) == kubefed_sample1(cluster), cluster
    # The host's plain test-namespace Namespace is the FederatedNamespace's copy: not rendered twice.
    assert "Namespace 'test-namespace'" not in stderr
    # The chart's type config still targets extensions/v1beta1 Ingresses, which no cluster serves today.
    assert (
        "Ingress.extensions test-namespace/test-ingress: Kubernetes has not served extensions/v1beta1"
        in stderr
    )


def test_kubefed_sample1_with_its_replica_scheduling(tmp_path: Path, invoke: Invoke) -> None:
    root = source(tmp_path, ["kubefed-v0.8.1/chart", "kubefed-v0.8.1/sample1", "kubefed-v0.8.1/scheduling"])
    out, stderr = render(invoke, root)
    # totalReplicas 10, weights cluster1 2, cluster2 3; the plan replaced cluster2's inline override of 5.
    assert objects(out, "cluster1") == kubefed_sample1("cluster1", 4)
    assert objects(out, "cluster2") == kubefed_sample1("cluster2", 6)
    assert "this override of /spec/replicas for 'cluster2' has no effect" in stderr


def test_kubefed_host_only_objects_are_refused_not_guessed(tmp_path: Path, invoke: Invoke) -> None:
    """sample1's plain Deployment and Service have no namespace: fanout says so instead of guessing."""
    root = source(tmp_path, ["kubefed-v0.8.1/chart", "kubefed-v0.8.1/sample1"], skip=())
    result = invoke("render", str(root), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:3] == [
        "templates/kubefed-v0.8.1/sample1/configmap.yaml:3:1: ConfigMap 'web-file' is namespaced but has no"
        " namespace (write metadata.namespace, or set defaultNamespace in fanout.yaml)",
        "templates/kubefed-v0.8.1/sample1/deployment.yaml:3:1: Deployment 'nginx' is namespaced but has no"
        " namespace (write metadata.namespace, or set defaultNamespace in fanout.yaml)",
        "templates/kubefed-v0.8.1/sample1/service.yaml:3:1: Service 'nginx' is namespaced but has no namespace"
        " (write metadata.namespace, or set defaultNamespace in fanout.yaml)",
    ]


@pytest.mark.parametrize("release", ["kubefed-v0.1.0-rc1", "kubefed-v0.1.0-rc3"])
def test_kubefed_release_candidates(release: str, tmp_path: Path, invoke: Invoke) -> None:
    """types.kubefed.k8s.io: dotted override paths (rc1) and JSON Pointers (rc3) give the same objects,
    with the type configs of rc3's chart (its Ingress is extensions/v1beta1, as the sample is written)."""
    out, _ = render(invoke, source(tmp_path, ["kubefed-v0.1.0-rc3/chart", f"{release}/sample1"]))
    for cluster in ("cluster1", "cluster2"):
        got = objects(out, cluster)
        expected = common(cluster)
        deploy = got.pop(f"{NS}/deployment.apps_test-deployment.yaml")
        assert got == expected, cluster
        assert deploy["spec"]["replicas"] == (5 if cluster == "cluster2" else 3)


@pytest.mark.parametrize(
    ("folder", "ingress"),
    [
        ("kubefed-v0.1.0-rc1/sample1", "federatedingress.yaml"),
        ("kubefed-v0.1.0-rc3/sample1", "federatedingress.yaml"),
        ("federation-v2-v0.0.4/sample1", "federatedingress-template.yaml"),
    ],
)
def test_an_ingress_of_its_day_without_its_type_config_is_refused(
    folder: str, ingress: str, tmp_path: Path, invoke: Invoke
) -> None:
    """Without a type config fanout would render networking.k8s.io/v1, where serviceName/servicePort mean
    nothing and pathType is required: an object the cluster refuses. Found by running these very samples
    (fanout 0.1 rendered it with exit 0)."""
    root = source(tmp_path, [folder])
    result = invoke("render", str(root), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    where = f"templates/{folder}/{ingress}:13:13: "
    assert result.stderr.splitlines()[:2] == [
        where + "backend.serviceName/servicePort are extensions/v1beta1's; networking.k8s.io/v1 writes"
        " backend.service.name and backend.service.port.number (or .name); FederatedIngress renders as"
        " networking.k8s.io/v1 because no FederatedTypeConfig among the templates names another version:"
        " rewrite the template for networking.k8s.io/v1, or add the type config your control plane used",
        where + "networking.k8s.io/v1 requires pathType on every path (extensions/v1beta1 did not);"
        " FederatedIngress renders as networking.k8s.io/v1 because no FederatedTypeConfig among the"
        " templates names another version: rewrite the template for networking.k8s.io/v1, or add the type"
        " config your control plane used",
    ]
    assert not (tmp_path / "out").exists()


def test_federation_v2_types_group(tmp_path: Path, invoke: Invoke) -> None:
    """types.federation.k8s.io/v1alpha1 (federation-v2 0.0.10) with its chart's type configs."""
    root = source(tmp_path, ["federation-v2-v0.0.10/chart", "federation-v2-v0.0.10/sample1"])
    out, _ = render(invoke, root)
    for cluster in ("cluster1", "cluster2"):
        got = objects(out, cluster)
        deploy = got.pop(f"{NS}/deployment.apps_test-deployment.yaml")
        assert got == common(cluster), cluster
        assert deploy["spec"]["replicas"] == (5 if cluster == "cluster2" else 3)
        assert "annotations" not in deploy["metadata"]


def test_federation_v2_primitives(tmp_path: Path, invoke: Invoke) -> None:
    """primitives.federation.k8s.io/v1alpha1 (0.0.4): template, placement and override joined by name."""
    out, _ = render(invoke, source(tmp_path, ["federation-v2-v0.0.4/sample1"], WITHOUT_INGRESS))
    one, two = objects(out, "cluster1"), objects(out, "cluster2")
    assert set(one) == set(two)
    assert one["_cluster/namespace_test-namespace.yaml"]["metadata"] == {"name": NS}
    assert one[f"{NS}/deployment.apps_test-deployment.yaml"]["spec"]["replicas"] == 3
    assert two[f"{NS}/deployment.apps_test-deployment.yaml"]["spec"]["replicas"] == 5
    assert not [p for p in one if "placement" in p or "override" in p or "federated" in p]


def test_federation_v2_scheduling_group(tmp_path: Path, invoke: Invoke) -> None:
    """scheduling.federation.k8s.io's ReplicaSchedulingPreference schedules a primitives deployment."""
    root = source(
        tmp_path, ["federation-v2-v0.0.4/sample1", "federation-v2-v0.0.4/scheduling"], WITHOUT_INGRESS
    )
    out, _ = render(invoke, root)
    replicas = {
        c: objects(out, c)[f"{NS}/deployment.apps_test-deployment.yaml"]["spec"]["replicas"]
        for c in ("cluster1", "cluster2")
    }
    assert replicas == {"cluster1": 4, "cluster2": 6}


def test_first_federation_v2_format_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    root = source(tmp_path, ["federation-v2-v0.0.1/sample1"])
    result = invoke("render", str(root), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 4  # the three files' objects, and the summary
    assert all("federation-v2's first format (core.federation.k8s.io/v1alpha1" in line for line in lines[:3])
    assert not (tmp_path / "out").exists()


def test_control_plane_objects_are_refused(tmp_path: Path, invoke: Invoke) -> None:
    root = source(tmp_path, ["kubefed-v0.8.1/control-plane", "kubefed-v0.8.1/sample1"])
    result = invoke("render", str(root), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    crds = [line for line in lines if "crds.yaml" in line]
    assert crds and all("defines the federation control plane's own API" in line for line in crds)
    assert any(
        line.startswith("templates/kubefed-v0.8.1/control-plane/kubefedconfig.yaml:2:1: KubeFedConfig")
        and "KubeFed's controller settings" in line
        for line in lines
    )
    assert not (tmp_path / "out").exists()
