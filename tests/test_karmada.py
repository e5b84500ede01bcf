"""The Karmada front end end to end: real source roots, the real CLI, and what Karmada's code would do.

Where a test states what Karmada does, the comment names the Karmada file (commit f8fdd02, as the front end).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, Invoke, read_tree, write_tree

SHOP = ROOT / "examples" / "karmada" / "shop"

MEMBERS = """
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: member1, labels: {env: prod}}
spec: {provider: aws, region: eu}
---
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: member2, labels: {env: prod}}
spec: {provider: gcp, region: us}
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.27"}
"""


def _policy(kind: str, name: str, spec: str, namespace: str = "") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return f"---\napiVersion: policy.karmada.io/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}{ns}}}\nspec:\n{spec}"


PROPAGATE_WEB = _policy(
    "PropagationPolicy",
    "web",
    "  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]\n"
    "  placement: {clusterAffinity: {clusterNames: [member1, member2]}}\n",
)


def _source(root: Path, templates: str, members: str = MEMBERS, config: str = "") -> Path:
    files = {"clusters/members.yaml": members, "templates/all.yaml": templates}
    if config:
        files["fanout.yaml"] = config
    return write_tree(root, files)


def _rendered(root: Path) -> dict[str, str]:
    return {
        path: data.decode()
        for path, data in read_tree(root / "rendered").items()
        if not path.endswith("kustomization.yaml") and not path.startswith(".")
    }


def _object(root: Path, path: str) -> dict[str, object]:
    loaded = yaml.safe_load((root / "rendered" / path).read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_duplicated_goes_everywhere_with_the_written_replicas(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, DEPLOYMENT + PROPAGATE_WEB)
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert sorted(_rendered(root)) == [
        "member1/default/deployment.apps_web.yaml",
        "member2/default/deployment.apps_web.yaml",
    ]
    assert _object(root, "member2/default/deployment.apps_web.yaml")["spec"]["replicas"] == 4  # type: ignore[index]


def test_an_unclaimed_object_is_not_rendered_and_said(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(
        tmp_path,
        DEPLOYMENT + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: lone}\n" + PROPAGATE_WEB,
    )
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert (
        "templates/all.yaml:13:1: warning: ConfigMap default/lone is not rendered: no PropagationPolicy"
        in result.output
    )
    assert not any("lone" in path for path in _rendered(root))


def test_a_propagation_policy_claims_only_its_own_namespace(tmp_path: Path, invoke: Invoke) -> None:
    policy = _policy(
        "PropagationPolicy",
        "web",
        "  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]\n"
        "  placement: {clusterAffinity: {clusterNames: [member1]}}\n",
        namespace="other",
    )
    root = _source(tmp_path, DEPLOYMENT + policy)
    result = invoke("render", str(root))
    assert result.exit_code == 0
    assert "Deployment.apps default/web is not rendered" in result.output


def test_divided_by_static_weight_and_an_override_of_replicas_wins(tmp_path: Path, invoke: Invoke) -> None:
    # binding/common.go: ReviseReplica first, ApplyOverridePolicies last.
    policy = _policy(
        "PropagationPolicy",
        "web",
        "  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]\n"
        "  placement:\n"
        "    replicaScheduling:\n"
        "      replicaSchedulingType: Divided\n"
        "      weightPreference:\n"
        "        staticWeightList:\n"
        "        - {targetCluster: {clusterNames: [member1]}, weight: 3}\n"
        "        - {targetCluster: {clusterNames: [member2]}, weight: 1}\n",
    )
    override = _policy(
        "OverridePolicy",
        "more",
        "  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]\n"
        "  overrideRules:\n"
        "  - targetCluster: {clusterNames: [member2]}\n"
        "    overriders:\n"
        "      plaintext: [{path: /spec/replicas, operator: replace, value: 9}]\n",
    )
    root = _source(tmp_path, DEPLOYMENT + policy + override)
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert _object(root, "member1/default/deployment.apps_web.yaml")["spec"]["replicas"] == 3  # type: ignore[index]
    assert _object(root, "member2/default/deployment.apps_web.yaml")["spec"]["replicas"] == 9  # type: ignore[index]
    explained = invoke("explain", "member2", "deployment/web", str(root), "--field", "/spec/replicas")
    assert "4 (template" in explained.output and "→ 1" in explained.output and "→ 9" in explained.output


def test_a_cluster_given_no_replicas_gets_nothing_unless_empty_workloads_propagate(
    tmp_path: Path, invoke: Invoke
) -> None:
    deployment = DEPLOYMENT.replace("replicas: 4", "replicas: 1")
    policy = PROPAGATE_WEB.replace(
        "clusterNames: [member1, member2]}}",
        "clusterNames: [member1, member2]}, replicaScheduling: {replicaSchedulingType: Divided}}",
    )
    root = _source(tmp_path / "a", deployment + policy)
    assert invoke("render", str(root)).exit_code == 0
    assert sorted(_rendered(root)) == ["member1/default/deployment.apps_web.yaml"]
    config = (
        "apiVersion: fanout.dev/v1alpha1\nkind: Config\nkarmada: {enableEmptyWorkloadPropagation: true}\n"
    )
    root = _source(tmp_path / "b", deployment + policy, config=config)
    assert invoke("render", str(root)).exit_code == 0
    assert _object(root, "member2/default/deployment.apps_web.yaml")["spec"]["replicas"] == 0  # type: ignore[index]


def test_a_tie_the_uid_would_break_is_a_located_warning(tmp_path: Path, invoke: Invoke) -> None:
    deployment = DEPLOYMENT.replace("replicas: 4", "replicas: 3")
    policy = PROPAGATE_WEB.replace(
        "clusterNames: [member1, member2]}}",
        "clusterNames: [member1, member2]}, replicaScheduling: {replicaSchedulingType: Divided}}",
    )
    root = _source(tmp_path, deployment + policy)
    result = invoke("render", str(root))
    assert result.exit_code == 0
    assert "warning: Deployment.apps default/web: dividing 3 replicas by weight tied" in result.output
    # An empty UID seats by name: member1 first (helper/binding.go tieBreakerByUID).
    assert _object(root, "member1/default/deployment.apps_web.yaml")["spec"]["replicas"] == 2  # type: ignore[index]


@pytest.mark.parametrize(
    ("placement", "field", "line"),
    [
        ("spreadConstraints: [{spreadByField: region, maxGroups: 2}]", "spreadConstraints", 19),
        (
            "replicaScheduling: {replicaSchedulingType: Divided, replicaDivisionPreference: Aggregated}",
            "Aggregated",
            19,
        ),
        (
            "replicaScheduling: {replicaSchedulingType: Divided, weightPreference: {dynamicWeight: AvailableReplicas}}",
            "dynamicWeight",
            19,
        ),
        ("workloadAffinity: {affinity: {groupByLabelKey: app}}", "workloadAffinity", 19),
        (
            "clusterAffinities: [{affinityName: a, overflowAffinities: [{affinityName: b}]}]",
            "overflowAffinities",
            19,
        ),
        ("clusterAfinity: {clusterNames: [member1]}", "clusterAfinity", 19),
    ],
)
def test_what_needs_a_live_control_plane_is_a_located_error(
    tmp_path: Path, invoke: Invoke, placement: str, field: str, line: int
) -> None:
    policy = _policy(
        "PropagationPolicy",
        "web",
        "  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]\n"
        f"  placement:\n    {placement}\n",
    )
    root = _source(tmp_path, DEPLOYMENT + policy)
    (root / "rendered" / "member1").mkdir(parents=True)
    (root / "rendered" / "member1" / "keep.yaml").write_text("kept\n")
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert f"templates/all.yaml:{line}:" in result.output and field in result.output
    assert (root / "rendered" / "member1" / "keep.yaml").read_text() == "kept\n"


def test_karmada_objects_that_cannot_be_honoured_are_refused(tmp_path: Path, invoke: Invoke) -> None:
    hpa = (
        "---\napiVersion: autoscaling.karmada.io/v1alpha1\nkind: FederatedHPA\nmetadata: {name: web}\n"
        "spec: {maxReplicas: 3}\n"
    )
    cluster = "---\napiVersion: cluster.karmada.io/v1alpha1\nkind: Cluster\nmetadata: {name: member3}\n"
    annotated = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, annotations: {fanout.dev/clusters: member1}}\n"
    root = _source(tmp_path, DEPLOYMENT + PROPAGATE_WEB + hpa + cluster + annotated)
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert "FederatedHPA is a Karmada control-plane object that fanout cannot honour offline" in result.output
    assert "a Karmada Cluster is a member of the inventory: move it to the clusters folder" in result.output
    assert "fanout.dev/clusters and fanout.dev/placement would be ignored" in result.output
    assert result.output.count("templates/all.yaml:") == 3


def test_an_override_that_fails_is_located_and_names_the_cluster(tmp_path: Path, invoke: Invoke) -> None:
    override = _policy(
        "OverridePolicy",
        "bad",
        "  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]\n"
        "  overrideRules:\n"
        "  - targetCluster: {clusterNames: [member2]}\n"
        "    overriders:\n"
        "      plaintext: [{path: /spec/missing/field, operator: replace, value: 1}]\n",
    )
    root = _source(tmp_path, DEPLOYMENT + PROPAGATE_WEB + override)
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert "templates/all.yaml:26:" in result.output
    assert "OverridePolicy default/bad cannot be applied to Deployment.apps default/web" in result.output
    assert "(in cluster member2)" in result.output
    assert not (root / "rendered").exists()


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("spec/template/spec/containers/0/image", "imagePath should be start with / character"),
        ("/spec/template/spec/initContainers/0/image", "path(initContainers) of rawObj's type is not"),
        ("/spec/template/spec/containers/x/image", "path(x) of rawObj's is not number"),
        ("/spec/template/spec/containers/1/image", "path(1) is out of range: containers has 1 item"),
        ("/spec/template/spec/containers/-1/image", "path(-1) is out of range"),
        ("/spec/template/spec/containers/0", "failed to convert path(0) to string"),
    ],
)
def test_an_image_predicate_karmada_cannot_follow_is_located(
    path: str, why: str, tmp_path: Path, invoke: Invoke
) -> None:
    """``obtainImageValue`` (pkg/util/overridemanager/imageoverride.go) walks maps and list indexes to a string;
    where it returns an error (or indexes past a slice's end, a panic), nothing is propagated."""
    override = _policy(
        "OverridePolicy",
        "images",
        "  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]\n"
        "  overrideRules:\n"
        "  - overriders:\n"
        f"      imageOverrider: [{{predicate: {{path: '{path}'}}, component: Tag, operator: replace, value: '2'}}]\n",
    )
    root = _source(tmp_path, DEPLOYMENT + PROPAGATE_WEB + override)
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert "templates/all.yaml:26:" in result.output and f"imageOverrider: {why}" in result.output
    assert not (root / "rendered").exists()


def test_a_failing_override_of_a_secret_does_not_quote_it(tmp_path: Path, invoke: Invoke) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n"
    propagate = _policy(
        "ClusterPropagationPolicy", "all", "  resourceSelectors: [{apiVersion: v1, kind: Secret}]\n"
    )
    override = _policy(
        "ClusterOverridePolicy",
        "bad",
        "  resourceSelectors: [{apiVersion: v1, kind: Secret}]\n"
        "  overrideRules:\n"
        "  - overriders:\n"
        "      fieldOverrider: [{fieldPath: /data/config, yaml: [{subPath: /a, operator: add, value: 1}]}]\n",
    )
    root = _source(tmp_path, secret + propagate + override)
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert "/data/config does not exist" in result.output
    assert "hunter2" not in result.output


def test_an_override_may_not_rename_the_object(tmp_path: Path, invoke: Invoke) -> None:
    override = _policy(
        "OverridePolicy",
        "rename",
        "  overrideRules:\n  - overriders:\n      plaintext: [{path: /metadata/name, operator: replace, value: x}]\n",
    )
    root = _source(tmp_path, DEPLOYMENT + PROPAGATE_WEB + override)
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert "changes the object's apiVersion, kind, name or namespace" in result.output


def test_namespaces_go_everywhere_as_the_namespace_sync_controller_sends_them(
    tmp_path: Path, invoke: Invoke
) -> None:
    namespaces = (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-extra}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ops-private}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: quiet, labels:"
        " {namespace.karmada.io/skip-auto-propagation: 'True'}}\n"
    )
    tainted = MEMBERS + (
        "---\napiVersion: cluster.karmada.io/v1alpha1\nkind: Cluster\nmetadata: {name: edge}\n"
        "spec: {taints: [{key: edge, effect: NoSchedule}]}\n"
    )
    relabel = _policy(
        "ClusterOverridePolicy",
        "mark",
        "  resourceSelectors: [{apiVersion: v1, kind: Namespace}]\n"
        "  overrideRules:\n  - overriders: {labelsOverrider: [{operator: add, value: {synced: 'yes'}}]}\n",
    )
    config = (
        "apiVersion: fanout.dev/v1alpha1\nkind: Config\n"
        "karmada: {skippedPropagatingNamespaces: ['kube-.*', 'ops-.*']}\n"
    )
    root = _source(tmp_path, namespaces + relabel, members=tainted, config=config)
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert sorted(_rendered(root)) == [
        f"{c}/_cluster/namespace_shop.yaml" for c in ("edge", "member1", "member2")
    ]
    labels = _object(root, "edge/_cluster/namespace_shop.yaml")["metadata"]["labels"]  # type: ignore[index]
    assert labels == {"synced": "yes"}
    for skipped in ("kube-extra", "ops-private", "quiet"):
        assert f"Namespace {skipped} is not rendered" in result.output


def test_karmada_bookkeeping_and_server_fields_never_reach_the_output(tmp_path: Path, invoke: Invoke) -> None:
    exported = """
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: default
      uid: 0b5c8a52-1d1e-4d7e-9d55-6c7d0f9d3a10
      resourceVersion: "4711"
      creationTimestamp: "2026-11-30T09:12:44Z"
      labels:
        app: web
        propagationpolicy.karmada.io/permanent-id: 5b0c3c6e-aaaa-bbbb-cccc-000000000001
      annotations:
        propagationpolicy.karmada.io/name: web
        propagationpolicy.karmada.io/namespace: default
    spec:
      clusterIP: 10.96.0.10
      clusterIPs: [10.96.0.10]
      ports: [{port: 80}]
    status:
      loadBalancer: {}
    """
    import textwrap

    policy = _policy("PropagationPolicy", "web", "  resourceSelectors: [{apiVersion: v1, kind: Service}]\n")
    root = _source(tmp_path, textwrap.dedent(exported).lstrip() + policy)
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    rendered = _object(root, "member1/default/service_web.yaml")
    assert rendered == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"ports": [{"port": 80}]},
    }


def test_a_cluster_without_the_api_gets_nothing_until_a_crd_brings_it(tmp_path: Path, invoke: Invoke) -> None:
    members = """
    apiVersion: cluster.karmada.io/v1alpha1
    kind: Cluster
    metadata: {name: old}
    status:
      apiEnablements:
      - groupVersion: v1
        resources: [{name: configmaps, kind: ConfigMap}]
      - groupVersion: apiextensions.k8s.io/v1
        resources: [{name: customresourcedefinitions, kind: CustomResourceDefinition}]
    """
    crd = """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: widgets.example.com}
    spec:
      group: example.com
      scope: Namespaced
      names: {kind: Widget, plural: widgets, singular: widget}
      versions:
      - name: v1
        served: true
        storage: true
        schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    ---
    apiVersion: example.com/v1
    kind: Widget
    metadata: {name: w}
    """
    import textwrap

    everything = _policy(
        "ClusterPropagationPolicy",
        "all",
        "  resourceSelectors:\n  - {apiVersion: example.com/v1, kind: Widget}\n"
        "  - {apiVersion: apps/v1, kind: Deployment}\n",
    )
    crds = _policy(
        "ClusterPropagationPolicy",
        "crds",
        "  resourceSelectors: [{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition}]\n",
    )
    root = _source(
        tmp_path,
        textwrap.dedent(crd).lstrip() + "---" + DEPLOYMENT + everything + crds,
        members=textwrap.dedent(members),
    )
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert sorted(_rendered(root)) == [
        "old/_cluster/customresourcedefinition.apiextensions.k8s.io_widgets.example.com.yaml",
        "old/default/widget.example.com_w.yaml",
    ]
    assert "no member cluster fits the placement of ClusterPropagationPolicy all" in result.output
    explained = invoke("explain", "old", "widget/w", str(root))
    assert "ClusterPropagationPolicy all claims it" in explained.output


def test_explain_says_which_policy_claimed_and_why_the_others_lost(invoke: Invoke) -> None:
    result = invoke("explain", "edge-1", "deployment/frontend", "--namespace", "shop", str(SHOP))
    assert result.exit_code == 0, result.output
    text = result.output
    assert "PropagationPolicy shop/frontend-everywhere claims it (priority 10, matched by name)" in text
    assert "PropagationPolicy shop/web lost (priority 0 < 10)" in text
    assert "OverridePolicy shop/frontend-edge, rule at overrideRules/0" in text
    assert "Divided replicas, 2 of 7 to this cluster" in text


def test_explain_says_why_a_cluster_is_left_out(invoke: Invoke) -> None:
    result = invoke("explain", "edge-1", "deployment/cart", "--namespace", "shop", str(SHOP))
    assert "has taint edge=true:NoSchedule, which clusterTolerations do not tolerate" in result.output


def test_clusters_diff_and_kubernetes_validation_work_on_a_karmada_source(
    tmp_path: Path, invoke: Invoke
) -> None:
    source = tmp_path / "shop"
    shutil.copytree(SHOP, source, ignore=shutil.ignore_patterns("rendered"))
    matrix = invoke("clusters", str(source), "--matrix")
    assert matrix.exit_code == 0, matrix.output
    assert "Deployment.apps shop/frontend" in matrix.output
    diff = invoke("diff", "--clusters", "eu-west-1", "us-east-1", str(source))
    assert diff.exit_code in (0, 1), diff.output
    assert "mirror.gcr.example/shop/frontend:1.4.2" in diff.output
    checked = invoke("validate", "--kubernetes", str(source))
    assert checked.exit_code == 0, checked.output


def test_the_installed_command_renders_the_karmada_sample(tmp_path: Path) -> None:
    source = tmp_path / "nginx"
    shutil.copytree(
        ROOT / "examples" / "karmada" / "nginx", source, ignore=shutil.ignore_patterns("rendered")
    )
    command = Path(sys.executable).parent / "fanout"
    done = subprocess.run(
        [str(command), "--error-format", "json", "render", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = read_tree(ROOT / "examples" / "karmada" / "nginx" / "rendered")
    assert read_tree(source / "rendered") == expected


def test_a_karmada_source_renders_byte_identically_twice(tmp_path: Path, invoke: Invoke) -> None:
    first = tmp_path / "one"
    second = tmp_path / "two"
    for out in (first, second):
        assert invoke("render", str(SHOP), "--output-dir", str(out), "--no-cache").exit_code == 0
    assert read_tree(first) == read_tree(second)
    marker = json.loads((first / ".fanout-output.json").read_text())
    assert "edge-1" in json.dumps(marker)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (
            {"b10": 1, "b9": 2, "a": "yes"},
            'a: "yes"\nb9: 2\nb10: 1\n',
        ),  # go-yaml's keyList order; yes is a bool
        (
            {"m": 1000000.0, "s": 0.5, "t": "2026-01-02", "e": ""},
            'e: ""\nm: 1e+06\ns: 0.5\nt: "2026-01-02"\n',
        ),
        ({"n": "y"}, '"n": "y"\n'),  # go-yaml v2 reads n and y as booleans, so it quotes them, keys too
        ({"list": ["a", {"k": None}], "text": "one\ntwo"}, "list:\n- a\n- k: null\ntext: |-\n  one\n  two\n"),
    ],
)
def test_the_yaml_karmada_writes_back(value: object, written: str) -> None:
    from fanout.formats.karmada_serial import go_yaml

    assert go_yaml(value) == written


def test_the_json_karmada_writes_back_keeps_order_and_numbers() -> None:
    from fanout.formats.karmada_serial import go_json, load_go_json

    loaded = load_go_json('{"z": 1.50, "a": [1e3, "<x> & y"]}')
    assert go_json(loaded) == '{"z":1.50,"a":[1e3,"\\u003cx\\u003e \\u0026 y"]}'
    assert go_json({"b": {"d": 1, "c": True}}, sort_keys=True) == '{"b":{"c":true,"d":1}}'


def test_a_scheduler_of_ones_own_is_refused_where_it_is_named(tmp_path: Path, invoke: Invoke) -> None:
    policy = _policy(
        "PropagationPolicy",
        "web",
        "  schedulerName: my-scheduler\n"
        "  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]\n",
    )
    root = _source(tmp_path, DEPLOYMENT + policy)
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert "templates/all.yaml:17:3:" in result.output and "schedulerName 'my-scheduler'" in result.output


# The example of Karmada's federated-resource-quota guide (karmada-io/website 747f80c4,
# docs/userguide/bestpractices/federated-resource-quota.md), written for the members above.
QUOTA = """---
apiVersion: policy.karmada.io/v1alpha1
kind: FederatedResourceQuota
metadata: {name: test, namespace: test}
spec:
  overall: {cpu: 100, memory: 100Gi}
  staticAssignments:
  - clusterName: member1
    hard: {cpu: 20, memory: 20Gi}
  - clusterName: member2
    hard: {cpu: "20", memory: 30Gi}
  - clusterName: member1
    hard: {cpu: 1}
"""


def test_a_federated_resource_quota_writes_a_resource_quota_per_assignment(
    tmp_path: Path, invoke: Invoke
) -> None:
    """Karmada's sync controller writes a ResourceQuota into each member an assignment names (the first
    assignment that names it), with no policy: no PropagationPolicy claims it, no OverridePolicy changes it."""
    override = _policy(
        "ClusterOverridePolicy",
        "label-all",
        "  resourceSelectors: [{apiVersion: v1, kind: ResourceQuota}]\n"
        "  overrideRules: [{overriders: {labelsOverrider: [{operator: add, value: {team: shop}}]}}]\n",
    )
    members = (
        MEMBERS + "---\napiVersion: cluster.karmada.io/v1alpha1\nkind: Cluster\nmetadata: {name: member3}\n"
    )
    root = _source(tmp_path, QUOTA + override, members)
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    rendered = _rendered(root)
    assert sorted(rendered) == [
        "member1/test/resourcequota_test.yaml",
        "member2/test/resourcequota_test.yaml",
    ]
    for member, hard in (
        ("member1", {"cpu": 20, "memory": "20Gi"}),
        ("member2", {"cpu": "20", "memory": "30Gi"}),
    ):
        assert _object(root, f"{member}/test/resourcequota_test.yaml") == {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "test", "namespace": "test"},
            "spec": {"hard": hard},
        }
    explained = invoke("explain", "member2", "resourcequota/test", str(root))
    assert "Karmada's sync controller writes it for this assignment" in explained.output


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "  overall: {cpu: 10}\n  staticAssignments: [{clusterName: member1, hard: {cpu: 8}},"
            " {clusterName: member2, hard: {cpu: 3}}]\n",
            "templates/all.yaml:6:13: FederatedResourceQuota q: overall cpu is 10, less than the static"
            " assignments' sum",
        ),
        (
            "  overall: {cpu: 10}\n  staticAssignments: [{clusterName: member1, hard: {memory: 1Gi}}]\n",
            "FederatedResourceQuota q: memory is assigned but not in overall",
        ),
        ("  overall: {pods: 1.5}\n", "1.5 is not of type 'integer', 'string' at /spec/overall/pods"),
        ("  overall: {pods: '1.5'}\n", "FederatedResourceQuota q: pods: 1.5 must be an integer"),
        (
            "  overall: {example.com/gpus: '0.5'}\n",
            "FederatedResourceQuota q: example.com/gpus: 0.5 must be an integer",
        ),
        ("  overall: {memory: -1Gi}\n", "memory: -1Gi must be greater than or equal to 0"),
        ("  overall: {memory: 1Gb}\n", "'1Gb' is not a quantity (such as 10, 500m, 20Gi)"),
        ("  overall: {gpus: 1}\n", "'gpus' must be a standard resource type or fully qualified"),
        ("  overall: {storage: 1Gi}\n", "'storage' is not a resource a quota can limit"),
        (
            "  overall: {cpu: 1}\n  staticAssignments: [{clusterName: Member_1, hard: {cpu: 1}}]\n",
            "clusterName 'Member_1' is not a cluster name (a DNS label of at most 48 characters)",
        ),
        ("  overall: {cpu: 1}\n  dynamicAssignments: []\n", "unknown field 'dynamicAssignments'"),
    ],
)
def test_a_federated_resource_quota_karmada_refuses_is_a_located_error(
    spec: str, message: str, tmp_path: Path, invoke: Invoke
) -> None:
    root = _source(tmp_path, _policy("FederatedResourceQuota", "q", spec, "test"))
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert not (root / "rendered").exists()


def test_an_assignment_for_no_member_is_a_warning(tmp_path: Path, invoke: Invoke) -> None:
    spec = "  overall: {cpu: 2}\n  staticAssignments: [{clusterName: membr1, hard: {cpu: 1}}]\n"
    root = _source(tmp_path, _policy("FederatedResourceQuota", "q", spec))
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert (
        "templates/all.yaml:7:24: warning: FederatedResourceQuota q: 'membr1' is no member cluster, so Karmada"
        " writes no ResourceQuota for this assignment (did you mean 'member1'?)" in result.stderr
    )
    assert _rendered(root) == {}


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1Gi", 2**30), ("500m", 0.5), ("4", 4), ("1e3", 1000), ("1.5k", 1500), (".5", 0.5), ("2E", 2 * 10**18)],
)
def test_quantities_read_as_kubernetes_reads_them(text: str, amount: float) -> None:
    from fanout.formats.karmada_quota import quantity

    assert quantity(text) == pytest.approx(amount)
    assert quantity(text + "x") is None


# Cases of Karmada's own webhook tests (karmada-io/karmada f8fdd02d, pkg/webhook/federatedresourcequota/
# validating_test.go), by their names: (overall, assignments, whether Karmada admits the quota).
WEBHOOK_CASES = {
    "validateOverallAndAssignments_ValidValues_NoErrors": (
        "{cpu: '10', memory: 10Gi}",
        "[{clusterName: m1, hard: {cpu: '1', memory: 1Gi}}, {clusterName: m2, hard: {cpu: '1.5', memory: 2Gi}}]",
        True,
    ),
    "validateOverallAndAssignments_LowerOverallCPUThanAssignments_OverallCPULessThanAssignments": (
        "{cpu: '10', memory: 10Gi}",
        "[{clusterName: m1, hard: {cpu: '1', memory: 1Gi}}, {clusterName: m2, hard: {cpu: '10', memory: 2Gi}}]",
        False,
    ),
    "validateOverallAndAssignments_LowerOverallMemoryThanAssignments_OverallMemoryLessThanAssignments": (
        "{cpu: '10', memory: 10Gi}",
        "[{clusterName: m1, hard: {cpu: '1', memory: 1Gi}}, {clusterName: m2, hard: {cpu: '1.5', memory: 10Gi}}]",
        False,
    ),
    "validateOverallAndAssignments_InvalidAssignmentResource_AssignmentResourceNotInOverall": (
        "{cpu: '10', memory: 10Gi}",
        "[{clusterName: m1, hard: {cpux: '1', memory: 1Gi}}, {clusterName: m2, hard: {cpu: '1.5', memory: 2Gi}}]",
        False,
    ),
    "Handle_ResourceLimitsMatch_NoErrors": (
        "{cpu: '10', memory: 10Gi}",
        "[{clusterName: m1, hard: {cpu: '5', memory: 5Gi}}, {clusterName: m2, hard: {cpu: '5', memory: 5Gi}}]",
        True,
    ),
    "Handle_ExceedResourceLimits_ResourceLimitsExceeded": (
        "{cpu: '5', memory: 5Gi}",
        "[{clusterName: m1, hard: {cpu: '5', memory: 5Gi}}, {clusterName: m2, hard: {cpu: '5', memory: 5Gi}}]",
        False,
    ),
    "Handle_InvalidClusterName_ClusterNameInvalid": (
        "{cpu: '10', memory: 10Gi}",
        "[{clusterName: invalid cluster name, hard: {cpu: '5', memory: 5Gi}}]",
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(WEBHOOK_CASES))
def test_a_federated_resource_quota_is_admitted_as_karmadas_webhook_admits_it(
    case: str, tmp_path: Path, invoke: Invoke
) -> None:
    overall, assignments, admitted = WEBHOOK_CASES[case]
    spec = f"  overall: {overall}\n  staticAssignments: {assignments}\n"
    root = _source(tmp_path, _policy("FederatedResourceQuota", "q", spec, "test"))
    result = invoke("render", str(root))
    assert result.exit_code == (0 if admitted else 1), result.output
