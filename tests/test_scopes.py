"""Which kinds are namespaced: Kubernetes' own, CustomResourceDefinitions among the templates, fanout.yaml's
``scopes``; and a guess that is said, never silent, for a kind none of them knows (formats/common.py)."""

from __future__ import annotations

from pathlib import Path

from conftest import Invoke, write_tree
from kubefed_helpers import objects

CLUSTER = "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n"
POLICIES = """apiVersion: platform.example.com/v1
kind: TenantQuota
metadata: {name: require-labels}
spec: {match: {kinds: [{kinds: [Namespace]}]}}
---
apiVersion: platform.example.com/v1
kind: TenantQuota
metadata: {name: internal}
spec: {enforcementAction: dryrun}
"""


def _root(tmp_path: Path, config: str) -> Path:
    return write_tree(
        tmp_path / "src",
        {
            "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\n" + config,
            "clusters/a.yaml": CLUSTER,
            "templates/policies.yaml": POLICIES,
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
        "templates/policies.yaml:3:1: warning: TenantQuota 'require-labels' (platform.example.com/v1) has no namespace"
    )
    assert "written in the default namespace apps" in warning
    assert "`scopes: {TenantQuota.platform.example.com: Namespaced}` (or Cluster)" in warning
    assert sorted(objects(root / "rendered", "a")) == [
        "apps/tenantquota.platform.example.com_internal.yaml",
        "apps/tenantquota.platform.example.com_require-labels.yaml",
    ]


def test_scopes_settle_it_either_way(tmp_path: Path, invoke: Invoke) -> None:
    cluster = _root(
        tmp_path / "c",
        "defaultNamespace: apps\nscopes: {TenantQuota.platform.example.com: Cluster}\n",
    )
    result = invoke("render", str(cluster))
    assert result.exit_code == 0 and "warning" not in result.stderr
    files = objects(cluster / "rendered", "a")
    assert sorted(files) == [
        "_cluster/tenantquota.platform.example.com_internal.yaml",
        "_cluster/tenantquota.platform.example.com_require-labels.yaml",
    ]
    assert all("namespace" not in f["metadata"] for f in files.values())

    namespaced = _root(
        tmp_path / "n",
        "defaultNamespace: apps\nscopes: {TenantQuota.platform.example.com: Namespaced}\n",
    )
    result = invoke("render", str(namespaced))
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert sorted(objects(namespaced / "rendered", "a")) == [
        "apps/tenantquota.platform.example.com_internal.yaml",
        "apps/tenantquota.platform.example.com_require-labels.yaml",
    ]


def test_without_a_default_namespace_nothing_is_guessed(tmp_path: Path, invoke: Invoke) -> None:
    root = _root(tmp_path, "")
    result = invoke("render", str(root))
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert sorted(objects(root / "rendered", "a")) == [
        "_cluster/tenantquota.platform.example.com_internal.yaml",
        "_cluster/tenantquota.platform.example.com_require-labels.yaml",
    ]


def test_a_scope_for_the_core_group_is_written_without_a_group(tmp_path: Path, invoke: Invoke) -> None:
    from fanout.formats.common import scope_key

    assert scope_key("v1", "Widget") == "Widget"
    assert scope_key("example.com/v1", "Widget") == "Widget.example.com"


def test_well_known_custom_kinds_need_no_scopes_entry(tmp_path: Path, invoke: Invoke) -> None:
    """Charts write ServiceMonitors, HTTPRoutes and ClusterIssuers without shipping their definitions: their
    scopes come from the projects' own CustomResourceDefinitions (fanout/kube/data/wellknown-scopes.json),
    so they are placed right and no warning asks for a `scopes:` line."""
    known = """apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web}
spec: {endpoints: [{port: http}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: public}
spec: {controllerName: example.com/gateway}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt}
spec: {acme: {server: https://acme-v02.api.letsencrypt.org/directory}}
"""
    root = write_tree(
        tmp_path / "src",
        {
            "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\ndefaultNamespace: apps\n",
            "clusters/a.yaml": CLUSTER,
            "templates/known.yaml": known,
        },
    )
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert sorted(objects(root / "rendered", "a")) == [
        "_cluster/clusterissuer.cert-manager.io_letsencrypt.yaml",
        "_cluster/gatewayclass.gateway.networking.k8s.io_public.yaml",
        "apps/servicemonitor.monitoring.coreos.com_web.yaml",
    ]
    # fanout.yaml still decides: a team that runs its own variant says so.
    (root / "fanout.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Config\ndefaultNamespace: apps\n"
        "scopes: {ClusterIssuer.cert-manager.io: Namespaced}\n"
    )
    assert invoke("render", str(root)).exit_code == 0
    assert "apps/clusterissuer.cert-manager.io_letsencrypt.yaml" in objects(root / "rendered", "a")


def test_the_well_known_table_names_where_each_scope_was_read() -> None:
    import json

    from fanout.kube.kinds import DATA_DIR, well_known_scopes

    data = json.loads((DATA_DIR / "wellknown-scopes.json").read_text())
    for source in data["sources"]:
        assert len(source["commit"]) == 40 and source["repository"].count("/") == 1 and source["path"]
        assert set(source["kinds"].values()) <= {"Namespaced", "Cluster"}
    assert well_known_scopes()[("monitoring.coreos.com", "ServiceMonitor")] is True
    assert well_known_scopes()[("cert-manager.io", "ClusterIssuer")] is False
    assert well_known_scopes()[("helm.toolkit.fluxcd.io", "HelmRelease")] is True
    assert well_known_scopes()[("kyverno.io", "ClusterPolicy")] is False
    # kyverno-policies' chart (kyverno/kyverno charts/kyverno-policies, commit
    # 111e07bbecc66abfde36ab99969af22d7a961003) writes ValidatingPolicies, cluster-scoped: they were put in
    # the release namespace with a warning.
    assert well_known_scopes()[("policies.kyverno.io", "ValidatingPolicy")] is False
    assert well_known_scopes()[("policies.kyverno.io", "NamespacedValidatingPolicy")] is True
    assert well_known_scopes()[("networking.istio.io", "VirtualService")] is True
    assert well_known_scopes()[("image.toolkit.fluxcd.io", "ImageUpdateAutomation")] is True
    # Cluster-scoped kinds that charts and platform repositories write without their definitions: taken as
    # namespaced, each went into a namespace (with a warning).
    for group, kind in [
        ("external-secrets.io", "ClusterSecretStore"),
        ("karpenter.sh", "NodePool"),
        ("argoproj.io", "ClusterWorkflowTemplate"),
        ("keda.sh", "ClusterTriggerAuthentication"),
        ("templates.gatekeeper.sh", "ConstraintTemplate"),
    ]:
        assert well_known_scopes()[(group, kind)] is False, kind
    assert well_known_scopes()[("keda.sh", "ScaledObject")] is True
    from fanout.kube.kinds import well_known_scope

    # Gatekeeper's constraint kinds are made by ConstraintTemplates, always cluster-scoped (CreateCRD in
    # open-policy-agent/frameworks constraint/pkg/client/crds/crds.go, commit
    # 106d3e3fec59ec52cb121aa93254b04b2dc1df53): the whole group is.
    assert well_known_scope("constraints.gatekeeper.sh", "K8sRequiredLabels") is False
    assert well_known_scope("constraints.gatekeeper.sh", "AnyConstraintATemplateMakes") is False
    assert well_known_scope("monitoring.coreos.com", "ServiceMonitor") is True
    assert well_known_scope("platform.example.com", "TenantQuota") is None


def test_a_gatekeeper_constraint_lands_in_the_cluster_folder(tmp_path: Path, invoke: Invoke) -> None:
    """The most common custom kind a platform repository writes without its definition: a constraint."""
    constraint = (
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\n"
        "metadata: {name: require-team}\nspec: {match: {kinds: [{apiGroups: [''], kinds: [Namespace]}]}}\n"
    )
    root = _root(tmp_path, "defaultNamespace: apps\n")
    (root / "templates/policies.yaml").write_text(constraint)
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert sorted(objects(root / "rendered", "a")) == [
        "_cluster/k8srequiredlabels.constraints.gatekeeper.sh_require-team.yaml"
    ]
