"""HelmChart templates: each cluster gets exactly what Helm's engine renders for its values.

The examples' charts are real (examples/helm/README.md); every cluster's rendered objects are compared with
Helm's engine (``helm-python-sdk``) called directly with the same values, the way ``helm template
--include-crds`` would print them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fanout.formats.helm import chart_archive, merge_maps
from tests.conftest import ROOT, Invoke, read_tree, write_tree
from tests.gitutil import commit_all, init_repo
from tests.kubefed_helpers import objects

helm = pytest.importorskip("helm_python", reason="pip install 'fanout-gitops[helm]'")

EXAMPLE = ROOT / "examples" / "helm"
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace"}


def _objects(folder: Path) -> list[dict[str, Any]]:
    found = [
        yaml.safe_load(p.read_text())
        for p in sorted(folder.rglob("*.yaml"))
        if p.name != "kustomization.yaml"
    ]
    return sorted(found, key=lambda o: json.dumps(o, sort_keys=True))


def _helm_template(chart: Path, values: dict[str, Any], release: str, namespace: str) -> list[dict[str, Any]]:
    """What ``helm template RELEASE CHART -n NAMESPACE --include-crds`` prints, as objects, placed as fanout
    documents: a namespaced object without a namespace is in the release's."""
    with helm.Chart.load(str(chart)) as loaded:
        rendered = loaded.render(
            values=values, name=release, namespace=namespace, revision=1, is_install=True
        )
        texts = [c["data"] for c in loaded.crds] + [
            text for name, text in sorted(rendered.items()) if not name.endswith("NOTES.txt")
        ]
    found = []
    for text in texts:
        for obj in yaml.safe_load_all(text):
            if not obj:
                continue
            hook = (obj["metadata"].get("annotations") or {}).get("helm.sh/hook", "")
            if "test" in hook:
                continue
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"].setdefault("namespace", namespace)
            found.append(obj)
    return sorted(found, key=lambda o: json.dumps(o, sort_keys=True))


CLUSTERS = {
    "prod-eu": {"replicas": 3, "host": "podinfo.eu.example.com", "mesh": "istio"},
    "prod-us": {"replicas": 3, "host": "podinfo.us.example.com", "mesh": "istio"},
    "staging": {"replicas": 1, "host": "podinfo.staging.example.com", "mesh": "linkerd"},
}


def _podinfo_values(cluster: str) -> dict[str, Any]:
    values = CLUSTERS[cluster]
    written = {
        "replicaCount": values["replicas"],
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "hosts": [
                {"host": values["host"], "paths": [{"path": "/", "pathType": "ImplementationSpecific"}]}
            ],
        },
    }
    extra = EXAMPLE / "values" / f"podinfo-{cluster}.yaml"
    files = yaml.safe_load(extra.read_text()) if extra.exists() else {}
    return merge_maps(files, written)


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_each_cluster_gets_what_helm_renders(cluster: str, tmp_path: Path, invoke: Invoke) -> None:
    out = tmp_path / "out"
    result = invoke("render", str(EXAMPLE), "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    expected = _helm_template(EXAMPLE / "charts" / "podinfo", _podinfo_values(cluster), "podinfo", "apps")
    if cluster.startswith("prod"):
        flagger = {
            "meshProvider": CLUSTERS[cluster]["mesh"],
            "metricsServer": "http://prometheus.monitoring:9090",
        }
        expected += _helm_template(EXAMPLE / "charts" / "flagger", flagger, "flagger", "flagger-system")
    assert _objects(out / cluster) == sorted(expected, key=lambda o: json.dumps(o, sort_keys=True))
    # The example's committed output is this render (tests/test_examples.py holds it byte for byte).
    assert read_tree(out / cluster) == read_tree(EXAMPLE / "rendered" / cluster)


def test_distinct_values_render_once_and_share_objects(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("clusters", "--matrix", str(EXAMPLE), "-o", "json")
    assert result.exit_code == 0, result.output
    placements = json.loads(result.stdout)["templates"]
    deployments = [t for t in placements if t["kind"] == "Deployment" and t["name"] == "podinfo"]
    # prod-eu and prod-us have equal replicas: one shared Deployment; staging its own.
    assert sorted(tuple(t["clusters"]) for t in deployments) == [("prod-eu", "prod-us"), ("staging",)]


def _source(tmp_path: Path, helm_chart: str, **files: str) -> Path:
    root = tmp_path / "src"
    shutil.copytree(EXAMPLE / "charts" / "podinfo", root / "charts" / "podinfo")
    write_tree(
        root,
        {
            "clusters/c.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n"
            "spec: {values: {replicas: 2}}\n---\n"
            "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: b}\n",
            "templates/chart.yaml": helm_chart,
            **files,
        },
    )
    return root


CHART = """apiVersion: fanout.dev/v1alpha1
kind: HelmChart
metadata: {name: web, namespace: shop}
spec:
  chart: podinfo
"""


def test_problems_are_located_at_the_helmchart(tmp_path: Path, invoke: Invoke) -> None:
    bad = CHART + "  valuesFiles:\n  - values/${cluster.name}.yaml\n"
    root = _source(tmp_path, bad, **{"values/a.yaml": "ui: {color: red}\n"})
    result = invoke("render", str(root))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert (
        "templates/chart.yaml:7:5: no values file values/b.yaml (write it, or mark the entry optional: true) (for cluster b)"
        in lines
    )
    assert lines[-1] == "fanout: 1 problem found"
    assert "Traceback" not in result.output

    undefined = CHART + "  values:\n    replicaCount: ${cluster.values.replicas}\n"
    root = _source(tmp_path / "2", undefined)
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert "${cluster.values.replicas} is undefined" in result.stderr and "(for cluster b)" in result.stderr
    assert result.stderr.startswith("templates/chart.yaml:7:5: ")


def test_a_template_error_carries_helms_message(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, CHART)
    (root / "charts/podinfo/templates/broken.yaml").write_text("kind: {{ .Values.nope.deeper }}\n")
    result = invoke("validate", str(root))
    assert result.exit_code == 1
    [line, summary] = result.stderr.splitlines()
    assert line.startswith("templates/chart.yaml:5:3: Helm cannot render charts/podinfo: ")
    assert "broken.yaml" in line and "nil pointer" in line and "\\n" not in line
    assert summary == "fanout: 1 problem found"


def test_values_are_checked_against_the_charts_schema(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, CHART + "  values: {replicaCount: many}\n")
    (root / "charts/podinfo/values.schema.json").write_text(
        json.dumps({"type": "object", "properties": {"replicaCount": {"type": "integer"}}})
    )
    result = invoke("validate", str(root))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "templates/chart.yaml:6:3: the values do not fit the chart's values.schema.json:"
    )
    assert "replicaCount" in result.stderr
    # Helm's message breaks lines between its complaints: one line here, without escaped newlines.
    [line, _summary] = result.stderr.splitlines()
    assert "\\n" not in line and "podinfo: - at '/replicaCount'" in line


def test_a_dependency_not_vendored_is_refused_with_the_fix(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, CHART)
    chart_yaml = root / "charts/podinfo/Chart.yaml"
    chart_yaml.write_text(
        chart_yaml.read_text()
        + "dependencies:\n- name: redis\n  version: 1.0.0\n  repository: https://example.com\n"
    )
    result = invoke("validate", str(root))
    assert result.exit_code == 1
    assert "depends on redis, which is not vendored" in result.stderr
    assert "helm dependency build charts/podinfo" in result.stderr


def test_a_chart_that_renders_differently_each_time_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, CHART)
    (root / "charts/podinfo/templates/secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: pw}\nstringData: {password: {{ randAlphaNum 16 | quote }}}\n"
    )
    result = invoke("validate", str(root))
    assert result.exit_code == 1
    assert "the chart renders differently each time" in result.stderr
    # ... but random test hooks are dropped before the check, as podinfo's own tests show: this chart renders.
    assert "tests/" not in result.stderr


# grafana/helm-charts' loki-distributed (charts/loki-distributed/templates/gateway/secret-gateway.yaml at commit
# 7a0ab968961a165318ab95ff678908c3b9bc3240) and prometheus-community's prometheus-pushgateway write a
# `htpasswd` line, whose bcrypt salt is random, when basic auth is on. The refusal is right; it named neither
# the object nor the field, and told the user to give values, which cannot fix a random salt.
def test_the_refusal_names_the_object_and_field_that_vary(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, CHART)
    (root / "charts/podinfo/templates/secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: gateway}\n"
        'stringData:\n  user: admin\n  .htpasswd: {{ htpasswd "admin" "s3cret" | quote }}\n'
    )
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "templates/chart.yaml:5:3: the chart renders differently each time (charts/podinfo/templates/secret.yaml,"
        " Secret gateway, /stringData/.htpasswd: randAlphaNum, htpasswd, genCA, now, ...); fanout's output must be"
        " the same on every run: give the value it is made from, or turn that object off in the values and write"
        " it as a template (many charts take an existing Secret's name) (for clusters a, b)",
        "fanout: 1 problem found",
    ]
    assert "s3cret" not in result.output and "$2a$" not in result.output
    assert not (root / "rendered").exists()


def test_the_differences_are_named_by_file_object_and_field() -> None:
    from fanout.formats.helm import _differences

    one = (
        "charts/c/templates/a.yaml",
        0,
        None,
        {"kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a/b": "1"}},
    )
    two = (one[0], 0, None, {"kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a/b": "2"}})
    listed = (one[0], 0, None, {"kind": "List", "items": [1, 2]})
    assert _differences([one], [one]) is None
    assert _differences([one], [two]) == "charts/c/templates/a.yaml, ConfigMap x, /data/a~1b"
    assert _differences([listed], [(one[0], 0, None, {"kind": "List", "items": [1, 3]})]) == (
        "charts/c/templates/a.yaml, List None, /items/1"
    )
    assert _differences([listed], [(one[0], 0, None, {"kind": "List", "items": [1]})]) == (
        "charts/c/templates/a.yaml, List None, /items/1"
    )
    assert _differences([one], [(one[0], 0, None, [1])]) == "charts/c/templates/a.yaml, ConfigMap x, /"
    assert _differences([one], [one, two]) == "charts/c/templates/a.yaml: a different number of objects"
    assert _differences([one, two], [one]) == "charts/c/templates/a.yaml: a different number of objects"
    # Bitnami's redis chart: the StatefulSet's checksum/secret annotation sorts before the Secret it sums.
    assert (
        _differences([one] * 5, [two] * 5)
        == "; ".join(["charts/c/templates/a.yaml, ConfigMap x, /data/a~1b"] * 3) + "; and 2 more"
    )


def test_tests_are_dropped_unless_asked_for(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, CHART)
    assert invoke("render", str(root)).exit_code == 0
    names = [p.name for p in (root / "rendered/a").rglob("*.yaml")]
    assert not [n for n in names if "test" in n]
    # podinfo's test hooks carry random names: asking for them is a (located) determinism error.
    root = _source(tmp_path / "2", CHART + "  includeTests: true\n")
    result = invoke("render", str(root))
    assert result.exit_code == 1 and "renders differently each time" in result.stderr


def test_overrides_apply_to_chart_objects(tmp_path: Path, invoke: Invoke) -> None:
    override = """apiVersion: fanout.dev/v1alpha1
kind: Override
metadata: {name: image}
spec:
  clusters: {names: [a]}
  strategic:
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web-podinfo, namespace: shop}
    spec:
      template:
        spec:
          containers:
          - name: podinfo
            image: ghcr.io/stefanprodan/podinfo:6.0.0
"""
    root = _source(tmp_path, CHART, **{"overrides/image.yaml": override})
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    deployment = yaml.safe_load((root / "rendered/a/shop/deployment.apps_web-podinfo.yaml").read_text())
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        == "ghcr.io/stefanprodan/podinfo:6.0.0"
    )
    other = yaml.safe_load((root / "rendered/b/shop/deployment.apps_web-podinfo.yaml").read_text())
    assert other["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "ghcr.io/stefanprodan/podinfo:6.14"
    )


def test_an_archived_chart_and_a_commit_render_the_same(tmp_path: Path, invoke: Invoke) -> None:
    root = init_repo(tmp_path / "repo")
    shutil.copytree(EXAMPLE / "charts" / "podinfo", root / "charts" / "podinfo")
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in (root / "charts/podinfo").rglob("*")
        if p.is_file()
    }
    (root / "charts/podinfo.tgz").write_bytes(chart_archive(files, "charts/podinfo"))
    write_tree(
        root,
        {
            "clusters/c.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            "templates/folder.yaml": CHART,
            "templates/archive.yaml": CHART.replace("name: web,", "name: tar,").replace(
                "chart: podinfo", "chart: podinfo.tgz"
            ),
        },
    )
    commit_all(root, "charts")
    at_head = invoke("render", str(root), "--ref", "HEAD", "--output-dir", str(tmp_path / "head"))
    assert at_head.exit_code == 0, at_head.output
    tree = invoke("render", str(root), "--output-dir", str(tmp_path / "tree"))
    assert tree.exit_code == 0, tree.output
    assert read_tree(tmp_path / "head") == read_tree(tmp_path / "tree")
    names = sorted(p.name for p in (tmp_path / "tree/a/shop").iterdir())
    assert "deployment.apps_tar-podinfo.yaml" in names and "deployment.apps_web-podinfo.yaml" in names
    header = (tmp_path / "tree/a/shop/deployment.apps_tar-podinfo.yaml").read_text().splitlines()[0]
    assert "charts/podinfo.tgz/podinfo/templates/deployment.yaml" in header


def test_helms_own_warnings_become_located_warnings(tmp_path: Path) -> None:
    root = _source(tmp_path, CHART + "  values: {replicaCount: {x: 1}}\n")  # a table for a number: Helm warns
    done = subprocess.run(
        [sys.executable, "-m", "fanout", "validate", str(root)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "templates/chart.yaml:4:1: warning: Helm, rendering charts/podinfo: skipped value for"
        " podinfo.replicaCount: Not a table."
    ]


def test_without_the_extra_a_chart_is_one_located_error(tmp_path: Path) -> None:
    root = _source(tmp_path, CHART)
    write_tree(
        root,
        {"templates/plain.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"},
    )
    blocked = "import sys; sys.modules['helm_python'] = None; from fanout.cli import main; sys.argv = ['fanout', 'validate', sys.argv[1]]; main()"
    done = subprocess.run(
        [sys.executable, "-c", blocked, str(root)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "templates/chart.yaml:2:1: a HelmChart is rendered with Helm's own engine, which is not installed:"
        " pip install 'fanout-gitops[helm]'",
        "fanout: 1 problem found",
    ]
    (root / "templates/chart.yaml").unlink()
    done = subprocess.run(
        [sys.executable, "-c", blocked, str(root)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr  # everything else works as before


def test_a_kube_version_that_cannot_reach_helm_is_said(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, CHART)
    (root / "clusters/c.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\nspec: {values: {kubeVersion: '1.29'}}\n"
    )
    result = invoke("validate", str(root))
    assert result.exit_code == 0, result.output
    assert "warning: the kubeVersion value of a does not reach Helm" in result.stderr


def test_the_chart_folder_is_not_read_as_templates(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, CHART)
    shutil.copytree(root / "charts", root / "templates" / "charts")
    (root / "fanout.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Config\ncharts: templates/charts\n"
    )
    result = invoke("validate", str(root))
    assert result.exit_code == 0, result.output
    assert os.path.isdir(root / "templates" / "charts")


# A chart that ships a cluster-scoped CustomResourceDefinition and writes objects of kinds fanout may or may
# not know, none with a namespace: the shape of Gatekeeper constraint charts.
SCOPED_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: clusterwidgets.example.com}
spec:
  group: example.com
  names: {kind: ClusterWidget, plural: clusterwidgets, singular: clusterwidget, listKind: ClusterWidgetList}
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""
SCOPED_OBJECTS = """apiVersion: example.com/v1
kind: ClusterWidget
metadata: {name: w}
---
apiVersion: platform.example.com/v1
kind: TenantQuota
metadata: {name: require-labels}
spec: {match: {kinds: [{kinds: [Namespace]}]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: []
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
"""


def _scoped_source(tmp_path: Path, config: str = "", **files: str) -> Path:
    return write_tree(
        tmp_path / "src",
        {
            "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\n" + config,
            "clusters/c.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            "charts/scoped/Chart.yaml": "apiVersion: v2\nname: scoped\nversion: 0.1.0\n",
            "charts/scoped/crds/widgets.yaml": SCOPED_CRD,
            "charts/scoped/templates/objects.yaml": SCOPED_OBJECTS,
            "templates/chart.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: HelmChart\n"
            "metadata: {name: scoped, namespace: tools}\nspec: {chart: scoped}\n",
            **files,
        },
    )


def test_a_cluster_scoped_kind_the_chart_defines_gets_no_namespace(tmp_path: Path, invoke: Invoke) -> None:
    """Helm installs a chart's objects with the cluster's own idea of each kind's scope: a cluster-scoped
    custom resource gets no namespace. Before, fanout put every object without one in the release's."""
    root = _scoped_source(tmp_path)
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    found = objects(root / "rendered", "a")
    assert "namespace" not in found["_cluster/clusterwidget.example.com_w.yaml"]["metadata"]
    assert "namespace" not in found["_cluster/clusterrole.rbac.authorization.k8s.io_reader.yaml"]["metadata"]
    assert found["tools/configmap_settings.yaml"]["metadata"]["namespace"] == "tools"
    # A kind nobody defines is taken as namespaced, as most custom kinds are, and that guess is said.
    assert (
        found["tools/tenantquota.platform.example.com_require-labels.yaml"]["metadata"]["namespace"]
        == "tools"
    )
    [warning] = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warning.startswith(
        "templates/chart.yaml:4:8: warning: TenantQuota 'require-labels' (platform.example.com/v1) has no namespace"
    )
    assert "written in the release namespace tools, where Helm installs a namespaced kind" in warning
    assert "`scopes: {TenantQuota.platform.example.com: Namespaced}` (or Cluster)" in warning


def test_fanout_yaml_says_which_kinds_are_cluster_scoped(tmp_path: Path, invoke: Invoke) -> None:
    root = _scoped_source(tmp_path, "scopes:\n  TenantQuota.platform.example.com: Cluster\n")
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    found = objects(root / "rendered", "a")
    assert (
        "namespace" not in found["_cluster/tenantquota.platform.example.com_require-labels.yaml"]["metadata"]
    )


def test_a_plain_template_learns_its_kinds_scope_from_a_charts_crd(tmp_path: Path, invoke: Invoke) -> None:
    """A chart's definitions count as "among the templates" for every template, not only the chart's own."""
    widget = "apiVersion: example.com/v1\nkind: ClusterWidget\nmetadata: {name: plain, namespace: apps}\n"
    root = _scoped_source(tmp_path, "defaultNamespace: apps\n", **{"templates/widget.yaml": widget})
    assert invoke("render", str(root)).exit_code == 0
    assert (
        "namespace"
        not in objects(root / "rendered", "a")["_cluster/clusterwidget.example.com_plain.yaml"]["metadata"]
    )


def test_scopes_that_contradict_what_fanout_knows_are_located_errors(tmp_path: Path, invoke: Invoke) -> None:
    config = (
        "scopes:\n"
        "  ClusterWidget.example.com: Namespaced\n"
        "  ClusterRole.rbac.authorization.k8s.io: Namespaced\n"
        "  Secret: Cluster\n"
        "  Widget.example.com: Cluster\n"
    )
    root = _scoped_source(tmp_path, config)
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "fanout.yaml:4:3: ClusterWidget is Namespaced here, but the CustomResourceDefinition at"
        " charts/scoped/crds/widgets.yaml:1:1 defines it Cluster-scoped: remove this entry",
        "fanout.yaml:5:3: ClusterRole is a Kubernetes kind, cluster-scoped: its scope cannot be changed;"
        " remove this entry",
        "fanout.yaml:6:3: Secret is a Kubernetes kind, namespaced: its scope cannot be changed; remove this entry",
        "fanout: 3 problems found",
    ]
    assert not (root / "rendered").exists()
    bad = _scoped_source(tmp_path / "2", "scopes:\n  clusterissuer: Cluster\n  Thing.example.com: cluster\n")
    result = invoke("validate", str(bad))
    assert result.exit_code == 1
    assert "clusterissuer" in result.stderr and "'cluster' is not one of" in result.stderr


def test_two_releases_writing_one_cluster_scoped_object_are_caught(tmp_path: Path, invoke: Invoke) -> None:
    """With its scope right, a cluster-scoped object two releases write is one object written twice (the
    cluster would hold one, flipping between them); in the release namespaces it passed as two."""
    second = "apiVersion: fanout.dev/v1alpha1\nkind: HelmChart\nmetadata: {name: again, namespace: other}\n"
    root = _scoped_source(tmp_path, **{"templates/again.yaml": second + "spec: {chart: scoped}\n"})
    result = invoke("validate", str(root))
    assert result.exit_code == 1
    assert (
        "charts/scoped/templates/objects.yaml:1:1: ClusterRole.rbac.authorization.k8s.io reader, rendered for the"
        " HelmChart scoped at templates/chart.yaml:4:8, is also rendered for the HelmChart again at"
        " templates/again.yaml:4:8, in a"
    ) in result.stderr.splitlines()
    assert "ConfigMap" not in result.stderr  # namespaced: one in each release's namespace


# argo-helm's argocd-apps chart (argoproj/argo-helm, charts/argocd-apps/ci/item-templates.yaml at commit
# af0a9310bacbaa4636018dfe22c801a6d33a5c43) renders `my-appset` twice from one template file, once per
# templating style. `helm install` would fail on the second create; the message said the HelmChart rendered it
# "and also" rendered it, naming the same HelmChart twice.
def test_one_chart_rendering_an_object_twice_says_so(tmp_path: Path, invoke: Invoke) -> None:
    twice = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
    root = _scoped_source(tmp_path, **{"charts/scoped/templates/objects.yaml": twice + "---\n" + twice})
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "charts/scoped/templates/objects.yaml:1:1: ConfigMap tools/settings is rendered twice for the HelmChart"
        " scoped at templates/chart.yaml:4:8: two documents of this chart template name the same object, in a",
        "fanout: 1 problem found",
    ]
    assert not (root / "rendered").exists()


def test_a_comment_above_a_helmchart_leaves_the_output_up_to_date(tmp_path: Path, invoke: Invoke) -> None:
    """The digests the marker records follow what is rendered, not where it is written: a line added above
    the HelmChart moved the location its placement records, and the committed output read as stale."""
    root = tmp_path / "helm"
    shutil.copytree(EXAMPLE, root)
    chart = root / "templates/podinfo.yaml"
    chart.write_text("# who owns this release: the platform team\n" + chart.read_text())
    result = invoke("render", str(root), "--check", "--no-cache")
    assert result.exit_code == 0, result.output


# The pattern of ingress-nginx's chart (kubernetes/ingress-nginx, charts/ingress-nginx/templates/
# controller-service.yaml and admission-webhooks/validating-webhook.yaml at commit
# dbb11b92ddb77bee9c35e462479129354c84f939): the key is written and filled only when values ask, so with the
# default values Helm prints `annotations:` with nothing after it. fanout refused the whole chart ("None is not
# of type 'object'") although Helm installs it. The chart's 14 `ci/` value sets were rendered by hand and
# compared with Helm's engine object by object; every one matched.
EMPTY_KEYS = """\
apiVersion: v1
kind: Service
metadata:
  annotations:
  {{- range $key, $value := .Values.service.annotations }}
    {{ $key }}: {{ $value | quote }}
  {{- end }}
  labels:
  {{- range $key, $value := .Values.service.labels }}
    {{ $key }}: {{ $value | quote }}
  {{- end }}
  name: controller
  namespace: {{ .Values.namespaceOverride }}
spec:
  ports: [{port: 80}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  annotations:
  {{- with .Values.webhook.annotations }}
    {{- toYaml . | nindent 4 }}
  {{- end }}
  name: admission
  namespace: {{ .Values.namespaceOverride | quote }}
webhooks: []
"""


def test_keys_a_chart_leaves_empty_are_installed_as_absent(tmp_path: Path, invoke: Invoke) -> None:
    root = _scoped_source(
        tmp_path,
        **{
            "charts/scoped/templates/objects.yaml": EMPTY_KEYS,
            "charts/scoped/values.yaml": "service: {}\nwebhook: {}\nnamespaceOverride: ''\n",
            "clusters/c.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n---\n"
            "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: b}\n",
            "values/b.yaml": "service: {annotations: {lb: nlb}}\n",
            "templates/chart.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: HelmChart\n"
            "metadata: {name: scoped, namespace: tools}\nspec:\n  chart: scoped\n  valuesFiles:\n"
            '  - {path: "values/${cluster.name}.yaml", optional: true}\n',
        },
    )
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    a, b = objects(root / "rendered", "a"), objects(root / "rendered", "b")
    # As the API server stores them: no empty map, and an empty namespace is the release's (cli-runtime's
    # SetNamespace tests len(info.Namespace) == 0) for a namespaced kind, none for a cluster-scoped one.
    assert a["tools/service_controller.yaml"]["metadata"] == {"name": "controller", "namespace": "tools"}
    assert b["tools/service_controller.yaml"]["metadata"]["annotations"] == {"lb": "nlb"}
    webhook = a["_cluster/validatingwebhookconfiguration.admissionregistration.k8s.io_admission.yaml"]
    assert webhook["metadata"] == {"name": "admission"}


# cert-manager's chart (cert-manager/cert-manager 2d0d7f7f74241a9cbf79f0e2a7bb247238ee09fd,
# deploy/charts/cert-manager/templates/rbac.yaml) writes `---` and then `{{- if ... -}}`, which trims the
# line break after the separator: Helm's output holds `---# Permission to approve ...`. Helm splits there (its
# SplitManifests splits at every `---` that starts a line), YAML does not, and fanout refused cert-manager's
# default rendering ("the chart wrote YAML that does not read"). With the fix its defaults and four more value
# sets were compared with Helm's engine, object by object: every one matched.
GLUED_SEPARATORS = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: controller}
---
{{- if not .Values.disableAutoApproval -}}

# Permission to approve CertificateRequests
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: controller-approve:cert-manager-io
rules: []
{{- end }}
---
{{- with .Values.extraConfig -}}
apiVersion: v1
kind: ConfigMap
metadata: {name: extra}
data: {{ toYaml . | nindent 2 }}
{{- end }}
--- # a separator with a comment: YAML's own
apiVersion: v1
kind: ConfigMap
metadata: {name: last}
"""


def test_a_separator_glued_to_the_next_line_splits_as_helm_splits(tmp_path: Path, invoke: Invoke) -> None:
    root = _scoped_source(
        tmp_path,
        **{
            "charts/scoped/templates/objects.yaml": GLUED_SEPARATORS,
            "charts/scoped/values.yaml": "disableAutoApproval: false\nextraConfig: {a: b}\n",
        },
    )
    (root / "charts/scoped/crds/widgets.yaml").unlink()
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    rendered = root / "charts" / "scoped"
    with helm.Chart.load(str(rendered)) as loaded:
        (text,) = loaded.render(
            values={}, name="scoped", namespace="tools", revision=1, is_install=True
        ).values()
    assert "---# Permission" in text and "---apiVersion: v1" in text  # what Helm's engine prints
    assert sorted(objects(root / "rendered", "a")) == [
        "_cluster/clusterrole.rbac.authorization.k8s.io_controller-approve%3Acert-manager-io.yaml",
        "tools/configmap_extra.yaml",
        "tools/configmap_last.yaml",
        "tools/serviceaccount_controller.yaml",
    ]
    assert objects(root / "rendered", "a")["tools/configmap_extra.yaml"]["data"] == {"a": "b"}


# Traefik's chart (traefik/traefik-helm-chart a8a66d0098703627b2cf352c66b1725c196a734a, traefik/.helmignore)
# keeps a kustomization.yaml in crds/ and ignores it in .helmignore. fanout loads every chart from an archive
# it makes, where Helm reads no .helmignore, so it took that file for a CustomResourceDefinition and refused
# the chart ("'metadata' is required"). Worse, an ignored file in templates/ (an editor's `.orig` copy) was
# rendered: a second object, exit 0. With .helmignore applied as Helm's directory loader applies it, 374
# value sets (the `set:`s of Traefik's helm-unittest suites) were compared with Helm's engine, object by
# object: every one matched.
IGNORED_FILES = {
    ".helmignore": "# as Traefik's\ncrds/kustomization.yaml\n*.orig\n",
    "crds/kustomization.yaml": "resources: [widgets.yaml]\n",
    "templates/config.yaml.orig": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stale}\n",
    "templates/.config.yaml.swp": "not yaml: [",  # a dot-file in templates/: Helm's own default rule
}


def test_the_charts_helmignore_leaves_files_out_as_helm_does(tmp_path: Path, invoke: Invoke) -> None:
    root = _scoped_source(tmp_path, **{f"charts/scoped/{p}": text for p, text in IGNORED_FILES.items()})
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    with helm.Chart.load(str(root / "charts" / "scoped")) as loaded:  # a folder: Helm reads .helmignore
        crds = [c["name"] for c in loaded.crds]
        rendered = loaded.render(values={}, name="scoped", namespace="tools", revision=1, is_install=True)
    assert crds == ["crds/widgets.yaml"]
    assert sorted(rendered) == ["scoped/templates/objects.yaml"]
    found = objects(root / "rendered", "a")
    assert not [path for path in found if "stale" in path or "kustomization" in path]
    assert "_cluster/customresourcedefinition.apiextensions.k8s.io_clusterwidgets.example.com.yaml" in found

    (root / "charts/scoped/.helmignore").write_text("# a rule Helm refuses\ntemplates/**/x.yaml\n")
    before = read_tree(root / "rendered")
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "templates/chart.yaml:4:8: the chart's .helmignore does not load: line 2: 'templates/**/x.yaml':"
        " double-star (**) syntax is not supported"
    )
    assert read_tree(root / "rendered") == before


# kube-prometheus-stack (prometheus-community/helm-charts cf408a290aec489277a94450bb3511432477a53a) turns its
# subcharts on and off by `condition:` (grafana.enabled, nodeExporter.enabled, crds.enabled). Rendering
# changes Helm's loaded chart: it drops the subcharts the values turn off. fanout loaded each chart once for
# all its clusters' values, so after one cluster turned a subchart off, every later cluster rendered without
# it: kube-prometheus-stack then failed ("nil pointer evaluating interface {}.enabled"), and a chart whose
# own templates do not name the subchart lost its objects with exit 0. The CustomResourceDefinitions of a
# subchart turned off were written too. With a chart loaded afresh for every rendering, its four `ci/` sets
# (grafana's adminPassword given) matched Helm's engine object by object.
SUBCHART = {
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n"
    "- {name: sub, version: 1.0.0, condition: sub.enabled}\n",
    "charts/app/values.yaml": "sub: {enabled: true}\n",
    "charts/app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n",
    "charts/app/charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
    "charts/app/charts/sub/crds/widgets.yaml": SCOPED_CRD,
    "charts/app/charts/sub/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\n",
    "clusters/c.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n---\n"
    "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: b}\n---\n"
    "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: c}\n",
    "values/b.yaml": "sub: {enabled: false}\n",
    "templates/chart.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: HelmChart\n"
    "metadata: {name: app, namespace: tools}\nspec:\n  chart: app\n  valuesFiles:\n"
    '  - {path: "values/${cluster.name}.yaml", optional: true}\n',
}


@pytest.mark.parametrize("off", ["a", "b"])
def test_a_subchart_one_cluster_turns_off_stays_on_for_the_others(
    off: str, tmp_path: Path, invoke: Invoke
) -> None:
    files = {k: v for k, v in SUBCHART.items() if k != "values/b.yaml"}
    files[f"values/{off}.yaml"] = SUBCHART["values/b.yaml"]
    root = write_tree(
        tmp_path / "src", {"fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\n", **files}
    )
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    crd = "_cluster/customresourcedefinition.apiextensions.k8s.io_clusterwidgets.example.com.yaml"
    for cluster in "abc":
        expected = ["tools/configmap_app.yaml"]
        if cluster != off:
            expected = sorted([crd, *expected, "tools/configmap_sub.yaml"])
        assert sorted(objects(root / "rendered", cluster)) == expected, cluster
        # What Helm's engine gives each cluster's values alone, from the chart folder loaded for it.
        values = {"sub": {"enabled": False}} if cluster == off else {}
        with helm.Chart.load(str(root / "charts" / "app")) as loaded:
            rendered = loaded.render(
                values=values, name="app", namespace="tools", revision=1, is_install=True
            )
            crds = [c["name"] for c in loaded.crds]
        assert sorted(rendered) == (
            ["app/templates/cm.yaml"]
            if cluster == off
            else ["app/charts/sub/templates/cm.yaml", "app/templates/cm.yaml"]
        )
        assert len(crds) == (0 if cluster == off else 1)


# Kong's chart (Kong/charts e76b80031abfb4909dd89a8a07e3a5ff9a206d94, charts/kong/ci/test1-values.yaml) sets
# `podLabels: {app: kong}`, and its Deployment template writes the pod's labels and then `podLabels`, so Helm's
# output holds the key `app` twice; kube-prometheus-stack's ci/03 set (prometheus-community/helm-charts
# cf408a290aec489277a94450bb3511432477a53a) writes `logFormat` twice through `additionalConfig`. fanout refused
# both ("duplicate key"), where Helm installs them: its kube client reads a manifest with sigs.k8s.io/yaml over
# go-yaml v2, which keeps a key's last value (gopkg.in/yaml.v2 decode.go, ``mapping``), and the client-side
# duplicate check is skipped where the API server validates fields (kubernetes/kubectl
# dee3483a3d6a64c07fdf746caf80af446dee99ac, pkg/validation/schema.go ``paramVerifyingSchema``). Kong's own
# chartsnap snapshot of that set (ci/__snapshots__/test1-values.snap) has `app: kong` once.
TWICE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels:
        app: web
        tier: front
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      containers: [{name: web, image: web:1}]
"""


def test_a_key_helm_writes_twice_keeps_its_last_value_as_helm_does(tmp_path: Path, invoke: Invoke) -> None:
    root = _scoped_source(
        tmp_path,
        **{
            "charts/scoped/templates/objects.yaml": TWICE,
            "clusters/c.yaml": "".join(
                f"---\napiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: {n}}}\n"
                for n in "abc"
            ),
            "templates/chart.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: HelmChart\n"
            "metadata: {name: scoped, namespace: tools}\nspec:\n  chart: scoped\n"
            "  valuesFiles: [{path: 'values/${cluster.name}.yaml', optional: true}]\n",
            "values/a.yaml": "podLabels: {app: kong, environment: test}\n",
            "values/b.yaml": "podLabels: {app: kong, environment: test}\n",
        },
    )
    (root / "charts/scoped/crds/widgets.yaml").unlink()
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "templates/chart.yaml:5:3: warning: Helm's output of charts/scoped/templates/objects.yaml, line 11:"
        " duplicate key 'app' (first defined on line 9); the last value is kept, as Helm's kube client keeps"
        " it (for clusters a, b)"
    ]
    for cluster in "abc":
        values = yaml.safe_load((root / f"values/{cluster}.yaml").read_text()) if cluster != "c" else {}
        (deployment,) = objects(root / "rendered", cluster).values()
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        expected = (
            {"app": "web", "tier": "front"}
            if cluster == "c"
            else {"app": "kong", "tier": "front", "environment": "test"}
        )
        assert labels == expected
        # Helm's engine prints the key twice; read as Go's YAML reads it (and PyYAML), the last one wins.
        assert [
            o["spec"]["template"]["metadata"]["labels"]
            for o in _helm_template(root / "charts" / "scoped", values, "scoped", "tools")
        ] == [expected]
    written = (root / "rendered/a/tools/deployment.apps_web.yaml").read_text()
    assert written.count("app: kong") == 1 and "app: web" in written  # the selector keeps its own


def test_a_key_written_twice_in_a_template_is_still_an_error(tmp_path: Path, invoke: Invoke) -> None:
    """Only Helm's output is read as Helm reads it: a file of the source root is the user's to fix."""
    root = _scoped_source(
        tmp_path,
        **{
            "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
            "metadata: {name: x, namespace: tools}\ndata: {a: '1', a: '2'}\n"
        },
    )
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert "templates/cm.yaml:4:16:" in result.stderr and "duplicate key 'a'" in result.stderr


def test_yaml_a_chart_writes_that_does_not_read_names_the_clusters(tmp_path: Path, invoke: Invoke) -> None:
    root = _scoped_source(
        tmp_path,
        **{
            "charts/scoped/templates/objects.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
            "data: {{ .Values.data }}\n",
            "clusters/c.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n"
            "spec: {values: {d: '{a: b}'}}\n---\n"
            "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: b}\nspec: {values: {d: '[x'}}\n",
            "templates/chart.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: HelmChart\n"
            "metadata: {name: scoped, namespace: tools}\nspec:\n  chart: scoped\n"
            "  values: {data: '${cluster.values.d}'}\n",
        },
    )
    (root / "charts/scoped/crds/widgets.yaml").unlink()
    result = invoke("render", str(root))
    assert result.exit_code == 1
    (line, summary) = result.stderr.splitlines()
    assert line.startswith("templates/chart.yaml:5:3: the chart wrote YAML that does not read (")
    assert line.endswith(" (for cluster b)")
    assert summary == "fanout: 1 problem found"


# aws-load-balancer-controller's chart writes its IngressClassParams and IngressClass as one ``kind: List``
# (kubernetes-sigs/aws-load-balancer-controller 225f4456, helm/aws-load-balancer-controller/templates/
# ingressclass.yaml; also aws/eks-charts 52396092), "to force Helm create IngressClassParams before
# IngressClass": Helm's kube client installs a list's items, not the list. fanout wrote the List as one
# object, in the release namespace, where no Override or policy could reach its items.
LISTED = """\
apiVersion: v1
kind: List
metadata: {name: ingress-class}
items:
- apiVersion: example.com/v1
  kind: ClusterWidget
  metadata: {name: alb-params}
- apiVersion: networking.k8s.io/v1
  kind: IngressClass
  metadata: {name: alb}
  spec: {controller: ingress.k8s.aws/alb}
- kind: ConfigMapList
  apiVersion: v1
  items:
  - metadata: {name: from-a-typed-list}
    data: {a: '1'}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: plain}
"""


def test_a_list_a_chart_writes_is_installed_as_its_items(tmp_path: Path, invoke: Invoke) -> None:
    root = _scoped_source(
        tmp_path,
        **{
            "charts/scoped/templates/objects.yaml": LISTED,
            "overrides/class.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: c}\n"
            "spec:\n  clusters: {names: [a]}\n  resources: [{kind: IngressClass, name: alb}]\n"
            "  merge: {metadata: {annotations: {ingressclass.kubernetes.io/is-default-class: 'true'}}}\n",
        },
    )
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    found = objects(root / "rendered", "a")
    assert sorted(p for p in found if "customresourcedefinition" not in p) == [
        "_cluster/clusterwidget.example.com_alb-params.yaml",
        "_cluster/ingressclass.networking.k8s.io_alb.yaml",
        "tools/configmap_from-a-typed-list.yaml",
        "tools/configmap_plain.yaml",
    ]
    ingress_class = found["_cluster/ingressclass.networking.k8s.io_alb.yaml"]
    assert ingress_class["metadata"] == {
        "name": "alb",
        "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
    }
    # An item of a typed list takes the list's apiVersion and kind (without "List"), as apimachinery does.
    assert found["tools/configmap_from-a-typed-list.yaml"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "from-a-typed-list", "namespace": "tools"},
        "data": {"a": "1"},
    }
    written = (root / "rendered/a/_cluster/ingressclass.networking.k8s.io_alb.yaml").read_text()
    assert written.startswith("# Rendered by fanout from charts/scoped/templates/objects.yaml[1].")
    # Helm's engine prints the List; installed, its items are what our files hold.
    printed = _helm_template(root / "charts" / "scoped", {}, "scoped", "tools")
    assert [o["kind"] for o in printed] == ["CustomResourceDefinition", "List"]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ("items: {a: b}", "List l has items that are not a list (Helm reads an object with items as a list)"),
        ("items: [x]", "List l: item 0 is not an object"),
    ],
)
def test_a_list_helm_cannot_install_is_a_located_error(
    items: str, message: str, tmp_path: Path, invoke: Invoke
) -> None:
    root = _scoped_source(
        tmp_path,
        **{
            "charts/scoped/templates/objects.yaml": f"apiVersion: v1\nkind: List\nmetadata: {{name: l}}\n{items}\n"
        },
    )
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"templates/chart.yaml:4:8: charts/scoped/templates/objects.yaml: {message} (for cluster a)"
    )
    assert not (root / "rendered").exists()
