"""``fanout import``: per-cluster copies become a source root whose render gives the copies back.

Every round trip is checked from outside the importer: the source root it wrote is rendered with the real
CLI and the output compared with the copies it was given, file by file (same files, same objects as parsed
YAML; key order and comments are not kept, see docs/import.md).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, Invoke, read_tree, write_tree
from gitutil import commit_all, git, init_repo
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout.importer.factor import _key, canon, get, leaves, plain_copy, same

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate

GOLDEN = ROOT / "tests/golden"
MARKER = ".fanout-output.json"


def _objects(folder: Path) -> dict[tuple[str, ...], Any]:
    """Every object below ``folder`` by cluster (first folder) and identity, as parsed data."""
    found: dict[tuple[str, ...], Any] = {}
    for path, data in read_tree(folder).items():
        name = path.rsplit("/", 1)[-1]
        if name.startswith(".") or name == "kustomization.yaml" or not name.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(data):
            if doc:
                meta = doc["metadata"]
                key = (
                    path.split("/")[0],
                    doc["apiVersion"],
                    doc["kind"],
                    meta.get("namespace", ""),
                    meta["name"],
                )
                assert key not in found
                found[key] = doc
    return found


def _lists(folder: Path) -> dict[str, bytes]:
    return {p: d for p, d in read_tree(folder).items() if p.endswith("/kustomization.yaml")}


def _round_trip(invoke: Invoke, copies: Path, tmp_path: Path, *extra: str) -> Path:
    """Import ``copies`` (a folder per cluster), render the result, and compare it with the copies."""
    source = tmp_path / "imported"
    result = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(source), *extra)
    assert result.exit_code == 0, result.output
    out = tmp_path / "rendered-again"
    rendered = invoke("render", str(source), "--output-dir", str(out))
    assert rendered.exit_code == 0, rendered.output
    assert _objects(out) == _objects(copies)
    if _lists(copies):  # copies fanout wrote: each cluster's file list comes back too, byte for byte
        assert _lists(out) == _lists(copies)
    return source


def test_the_sample_output_comes_back_from_its_import(invoke: Invoke, tmp_path: Path) -> None:
    source = _round_trip(invoke, ROOT / "sample-repo/rendered", tmp_path)
    report = invoke(
        "import",
        str(ROOT / "sample-repo/rendered"),
        "--layout",
        "clusters",
        "--output-dir",
        str(tmp_path / "again"),
    )
    assert "imported 75 objects of 10 clusters" in report.stdout
    assert "x the source)" in report.stdout
    # What varies by cluster became values, shared where fields agree: one domain for three objects.
    clusters = list(yaml.safe_load_all((source / "clusters/clusters.yaml").read_text()))
    east = next(c for c in clusters if c["metadata"]["name"] == "aws-us-east-1")
    assert east["spec"]["values"]["pacman-replicas"] == 6
    hostname_key = next(k for k, v in east["spec"]["values"].items() if v == "us-east-1.aws")
    uses = [
        p
        for p in (source / "templates").rglob("*.yaml")
        if f"${{cluster.values.{hostname_key}}}" in p.read_text()
    ]
    assert len(uses) == 3
    # A copy's literal "${...}" text is escaped, so the render gives it back as text.
    script = (source / "templates/pacman/configmap_mongo-backup-script.yaml").read_text()
    assert "$${cluster.values.domain}" in script


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if (p / "expected").is_dir()))
def test_every_golden_output_comes_back(case: str, invoke: Invoke, tmp_path: Path) -> None:
    _round_trip(invoke, GOLDEN / case / "expected", tmp_path)


def test_a_generated_fleet_comes_back_smaller_than_its_copies(invoke: Invoke, tmp_path: Path) -> None:
    original = tmp_path / "original"
    generate(original, clusters=12, templates=40, overrides=30, seed=3)
    copies = tmp_path / "copies"
    assert invoke("render", str(original), "--output-dir", str(copies)).exit_code == 0
    labels = {
        doc["metadata"]["name"]: doc["metadata"]["labels"]
        for path in (original / "clusters").rglob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
    }
    (tmp_path / "labels.yaml").write_text(yaml.safe_dump(labels))
    source = _round_trip(invoke, copies, tmp_path, "--labels", str(tmp_path / "labels.yaml"))
    written = sum(len(data) for path, data in read_tree(source).items() if not path.startswith("."))
    copied = sum(len(data) for path, data in read_tree(copies).items() if not path.endswith(MARKER))
    assert written * 3 < copied
    # With labels, placements and overrides use selectors where one picks exactly the right clusters.
    overrides = "".join(p.read_text() for p in (source / "overrides").rglob("*.yaml"))
    assert "clusterSelector:" in overrides


def _fleet(root: Path, clusters: dict[str, dict[str, str]]) -> Path:
    files: dict[str, str] = {}
    for name, documents in clusters.items():
        for path, text in documents.items():
            files[f"{name}/{path}"] = text
    return write_tree(root, files)


def _deploy(replicas: int, image: str = "web:1", host: str = "web.example.com", extra_env: str = "") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {{app: web}}
spec:
  replicas: {replicas}
  template:
    spec:
      containers:
      - name: web
        image: {image}
        env:
        - {{name: HOST, value: "{host}"}}
{extra_env}"""


def test_known_differences_become_the_expected_source(invoke: Invoke, tmp_path: Path) -> None:
    copies = _fleet(
        tmp_path / "copies",
        {
            name: {
                "deploy.yaml": _deploy(
                    replicas,
                    image="web:2" if name == "prod-b" else "web:1",
                    host=f"web.{name}.example.com",
                    extra_env="        - {name: DEBUG, value: '1'}\n" if name == "dev" else "",
                ),
                "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: only-prod, namespace: shop}\n"
                "data: {script: 'echo ${HOME} and $${x} and ${cluster.name}'}\n"
                if name.startswith("prod")
                else "",
            }
            for name, replicas in (("dev", 1), ("prod-a", 5), ("prod-b", 7), ("staging", 2))
        },
    )
    (tmp_path / "labels.yaml").write_text(
        "dev: {env: dev}\nprod-a: {env: prod}\nprod-b: {env: prod}\nstaging: {env: staging}\n"
    )
    source = _round_trip(invoke, copies, tmp_path, "--labels", str(tmp_path / "labels.yaml"))
    template = yaml.safe_load((source / "templates/shop/deployment.apps_web.yaml").read_text())
    container = template["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "HOST", "value": "web.${cluster.name}.example.com"}]
    assert template["spec"]["replicas"] == "${cluster.values.web-replicas}"
    assert container["image"] == "web:1"
    overrides = list(yaml.safe_load_all((source / "overrides/shop/deployment.apps_web.yaml").read_text()))
    # dev alone has env=dev: a selector says it; prod-b shares env=prod with prod-a: its name says it.
    assert {json.dumps(o["spec"]["clusters"]) for o in overrides} == {
        json.dumps({"clusterSelector": {"matchLabels": {"env": "dev"}}}),
        json.dumps({"names": ["prod-b"]}),
    }
    dev = next(o for o in overrides if "clusterSelector" in o["spec"]["clusters"])
    # A JSON Patch that names a list item by position first tests that the item is the one meant.
    assert dev["spec"]["patch"] == [
        {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "web"},
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/env/-",
            "value": {"name": "DEBUG", "value": "1"},
        },
    ]
    prod_b = next(o for o in overrides if o["spec"]["clusters"] == {"names": ["prod-b"]})
    assert prod_b["spec"]["patch"] == [
        {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "web"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "web:2"},
    ]
    only_prod = yaml.safe_load((source / "templates/shop/configmap_only-prod.yaml").read_text())
    assert only_prod["metadata"]["annotations"] == {"fanout.dev/placement": "env=prod"}
    assert only_prod["data"]["script"] == "echo ${HOME} and $$${x} and $${cluster.name}"


def _rules(thresholds: dict[str, int]) -> str:
    rules = "".join(f"  - {{name: {n}, threshold: {t}}}\n" for n, t in thresholds.items())
    return (
        "apiVersion: monitoring.example.com/v1\nkind: AlertRules\n"
        f"metadata: {{name: latency, namespace: shop}}\nspec:\n  rules:\n{rules}"
    )


def test_a_list_item_named_by_position_is_tested_first_so_a_reordered_template_fails(
    invoke: Invoke, tmp_path: Path
) -> None:
    # One cluster differs in the third rule of a list without a merge key: JSON Patch names it by position.
    usual = {"p50": 1, "p90": 2, "p99": 3}
    copies = _fleet(
        tmp_path / "copies",
        {
            name: {"rules.yaml": _rules({**usual, "p99": 30} if name == "prod" else usual)}
            for name in ("dev", "prod", "staging")
        },
    )
    source = _round_trip(invoke, copies, tmp_path)
    override = (source / "overrides/shop/alertrules.monitoring.example.com_latency.yaml").read_text()
    assert yaml.safe_load(override)["spec"]["patch"] == [
        {"op": "test", "path": "/spec/rules/2/name", "value": "p99"},
        {"op": "replace", "path": "/spec/rules/2/threshold", "value": 30},
    ]
    # Someone later puts the template's rules in another order: without the test, prod's p50 would get
    # p99's threshold and the render would pass. With it, the render fails and says where.
    template = source / "templates/shop/alertrules.monitoring.example.com_latency.yaml"
    doc = yaml.safe_load(template.read_text())
    rules = doc["spec"]["rules"]
    doc["spec"]["rules"] = [rules[1], rules[2], rules[0]]  # p90, p99, p50: p50 is now at index 2
    template.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    result = invoke("render", str(source), "--output-dir", str(out))
    assert result.exit_code == 1
    assert 'test /spec/rules/2/name: the object has "p50" there, the patch expects "p99"' in result.output
    assert not out.exists()


def test_import_is_deterministic(invoke: Invoke, tmp_path: Path) -> None:
    copies = ROOT / "sample-repo/rendered"
    for name in ("one", "two"):
        assert (
            invoke(
                "import", str(copies), "--layout", "clusters", "--output-dir", str(tmp_path / name)
            ).exit_code
            == 0
        )
    assert read_tree(tmp_path / "one") == read_tree(tmp_path / "two")


def test_an_existing_source_root_is_not_written_over_without_force(invoke: Invoke, tmp_path: Path) -> None:
    copies = ROOT / "golden/layout/expected" if False else GOLDEN / "layout/expected"
    target = tmp_path / "platform"
    assert invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(target)).exit_code == 0
    (target / "templates/mine.yaml").write_text("# mine\n")
    before = read_tree(target)
    refused = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(target))
    assert refused.exit_code == 1
    assert f"{target}/fanout.yaml: already exists" in refused.stderr
    assert f"{target}/templates/mine.yaml: would be read with the imported files" in refused.stderr
    assert read_tree(target) == before
    forced = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(target), "--force")
    assert forced.exit_code == 0
    assert (target / "templates/mine.yaml").read_text() == "# mine\n"  # never deletes what it did not write
    assert "templates/mine.yaml" in forced.stderr


def test_a_kustomization_is_a_file_list(invoke: Invoke, tmp_path: Path) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: x}}\ndata: {{a: b}}\n"
    copies = _fleet(
        tmp_path / "copies",
        {
            name: {
                "kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                "resources: [listed.yaml, app]\n",
                "listed.yaml": cm.format(name="listed"),
                "not-listed.yaml": cm.format(name="ignored"),
                "app/kustomization.yaml": "resources: [cm.yaml]\n",
                "app/cm.yaml": cm.format(name="in-app"),
                ".hidden.yaml": cm.format(name="hidden"),
                MARKER: "{}",
            }
            for name in ("a", "b")
        },
    )
    source = tmp_path / "source"
    assert invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(source)).exit_code == 0
    assert sorted(p.name for p in (source / "templates/x").iterdir()) == [
        "configmap_in-app.yaml",
        "configmap_listed.yaml",
    ]


def test_problems_are_located_and_nothing_is_written(invoke: Invoke, tmp_path: Path) -> None:
    copies = _fleet(
        tmp_path / "copies",
        {
            "a": {
                "kustomization.yaml": "resources: [x.yaml]\nnamePrefix: dev-\n",
                "x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: ns}\n",
            },
            "b": {
                "no-namespace.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n",
                "ours.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ours\n  namespace: ns\n"
                "  annotations: {fanout.dev/clusters: b}\n",
                "junk.yaml": "just: text\n",
                "bad.yaml": "a: {b\n",
            },
            "Not_A_Name": {"x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: ns}\n"},
        },
    )
    target = tmp_path / "out"
    result = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(target))
    assert result.exit_code == 1
    assert "'Not_A_Name' is not a usable cluster name" in result.stderr
    assert not target.exists()
    shutil.rmtree(copies / "Not_A_Name")
    result = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(target))
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert any(
        e.startswith(
            f"{copies}/a/kustomization.yaml:1:1: this kustomization does more than list files (namePrefix)"
        )
        for e in errors
    )
    assert any(e.startswith(f"{copies}/b/ours.yaml:6:") and "fanout's own" in e for e in errors)
    assert any(e.startswith(f"{copies}/b/junk.yaml:1:1: not a Kubernetes object") for e in errors)
    assert any(e.startswith(f"{copies}/b/bad.yaml:2:1: invalid YAML") for e in errors)
    assert not target.exists()

    for path in ("a/kustomization.yaml", "b/ours.yaml", "b/junk.yaml", "b/bad.yaml"):
        (copies / path).unlink()
    result = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(target))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{copies}/b/no-namespace.yaml:1:1: Deployment web has no namespace: give --namespace NS, the namespace"
        " `kubectl apply -n` or your Argo CD Application's destination puts it in"
    )
    assert not target.exists()
    result = invoke(
        "import", str(copies), "--layout", "clusters", "--output-dir", str(target), "-n", "Not_Ok"
    )
    assert result.exit_code == 1
    assert "--namespace: 'Not_Ok' is not a namespace name" in result.stderr
    assert not target.exists()


# Online Boutique's kustomize overlays (GoogleCloudPlatform/microservices-demo
# 34ffea9175946982c3088ed84994fe6019ad6e92, kustomize/) write no namespace: `kubectl apply -n` or an Argo CD
# Application's destination puts them in one. Their 19 builds could not be imported ("is namespaced but has no
# namespace (write metadata.namespace, or set defaultNamespace in fanout.yaml)", once per object and cluster,
# pointing at a fanout.yaml that import itself writes). With --namespace they import in it: 728 objects into 59
# templates and 16 overrides.
NO_NAMESPACE_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Widget, plural: widgets}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
"""


def test_objects_written_without_a_namespace_import_into_the_one_given(
    invoke: Invoke, tmp_path: Path
) -> None:
    def copy(replicas: int, namespace: str = "") -> dict[str, str]:
        written = f"  namespace: {namespace}\n" if namespace else ""
        return {
            "all.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
            f"{written}  labels: {{app: web}}\nspec: {{replicas: {replicas}}}\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules: []\n"
            "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
            "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: web}\nspec: {}\n"
            "---\napiVersion: example.org/v1\nkind: Unknown\nmetadata: {name: u}\n",
            "crd.yaml": NO_NAMESPACE_CRD,
        }

    copies = _fleet(tmp_path / "copies", {"dev": copy(1), "prod": copy(3, "shop"), "stage": copy(2)})
    target = tmp_path / "src"
    result = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(target))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        f"{copies}/dev/all.yaml:1:1: Deployment web has no namespace (and in 1 more clusters): give --namespace NS,"
        " the namespace `kubectl apply -n` or your Argo CD Application's destination puts it in",
        f"{copies}/dev/all.yaml:17:1: ServiceMonitor web has no namespace (and in 2 more clusters): give"
        " --namespace NS, the namespace `kubectl apply -n` or your Argo CD Application's destination puts it in",
    ]
    result = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(target), "-n", "shop")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert invoke("render", str(target), "--output-dir", str(out)).exit_code == 0
    rendered = _objects(out)
    for cluster, replicas in (("dev", 1), ("prod", 3), ("stage", 2)):
        web = rendered[(cluster, "apps/v1", "Deployment", "shop", "web")]
        assert web["metadata"] == {"name": "web", "namespace": "shop", "labels": {"app": "web"}}
        assert web["spec"]["replicas"] == replicas
        assert (cluster, "monitoring.coreos.com/v1", "ServiceMonitor", "shop", "web") in rendered
        # cluster-scoped by Kubernetes, by the copies' own CRD, or unknown: left without one
        assert (cluster, "rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader") in rendered
        assert (cluster, "example.com/v1", "Widget", "", "w") in rendered
        assert (cluster, "example.org/v1", "Unknown", "", "u") in rendered


def test_an_object_that_does_not_factor_is_imported_per_cluster(invoke: Invoke, tmp_path: Path) -> None:
    # metadata.generateName differs by cluster: overrides may not change it (it identifies the object), so
    # the factored form does not render; one template per cluster does, and a warning says so.
    copies = _fleet(
        tmp_path / "copies",
        {
            name: {
                "cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                f"metadata: {{name: m, namespace: x, generateName: {prefix}}}\ndata: {{a: b}}\n"
            }
            for name, prefix in (("a", "one-"), ("b", "one-"), ("c", "two-"))
        },
    )
    source = tmp_path / "source"
    result = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(source))
    assert result.exit_code == 0, result.output
    assert (
        f"{copies}/a/cm.yaml:1:1: warning: ConfigMap m imported as one template per cluster" in result.stderr
    )
    assert "overrides may not change /metadata/generateName" in result.stderr
    assert len(list(yaml.safe_load_all((source / "templates/x/configmap_m.yaml").read_text()))) == 3
    out = tmp_path / "out"
    assert invoke("render", str(source), "--output-dir", str(out)).exit_code == 0
    assert _objects(out) == _objects(copies)


def _service(policy: str | None, port: int, label: str | None = None) -> str:
    lines = ["apiVersion: v1", "kind: Service", "metadata:", "  name: web", "  namespace: shop"]
    if label is not None:
        lines += ["  labels:", f"    tier: web-{label}"]
    lines += ["spec:", f"  ports: [{{port: {port}}}]"]
    if policy is not None:
        lines.append(f"  ipFamilyPolicy: {policy}")
    return "\n".join(lines) + "\n"


def test_a_field_most_copies_have_with_many_values_is_one_template(invoke: Invoke, tmp_path: Path) -> None:
    """Reloader's Service (stakater/Reloader 655a2b38, its chart's unit-test values rendered by Helm) has
    ``ipFamilyPolicy`` in 26 of 35 copies, with three values: a value of the inventory, referenced by the
    template. The clusters without the field had the reference substituted too, which failed, and the
    Service was imported as 35 templates (Kong's Deployment as 36, Jenkins' StatefulSet as 83). Now the
    template leaves such a field out and the clusters that have it add it, in one override."""
    policies = ["SingleStack", "PreferDualStack", "RequireDualStack", None] * 2
    names = {
        "east": "a",
        "west": "b",
        "north": "c",
        "south": "d",
        "up": "e",
        "down": "f",
        "in": "g",
        "out": "h",
    }
    copies = _fleet(
        tmp_path / "copies",
        {
            name: {"svc.yaml": _service(policy, 8000 + index, label if index < 6 else None)}
            for index, ((name, label), policy) in enumerate(zip(names.items(), policies, strict=True))
        },
    )
    labels = tmp_path / "labels.yaml"
    labels.write_text("".join(f"{name}: {{zone: {label}}}\n" for name, label in names.items()))
    source = _round_trip(invoke, copies, tmp_path, "--labels", str(labels))
    [template] = yaml.safe_load_all((source / "templates/shop/service_web.yaml").read_text())
    assert "ipFamilyPolicy" not in template["spec"]  # 6 of 8 have it: a value each, added by one override
    assert template["spec"]["ports"] == [{"port": "${cluster.values.web-port}"}]
    # The label names the cluster's zone in six copies: the reference goes where every cluster has a zone.
    assert "labels" not in template["metadata"]
    result = invoke("import", str(copies), "--layout", "clusters", "--output-dir", str(tmp_path / "again"))
    assert "one template per cluster" not in result.stderr


def test_keys_that_need_escaping_in_paths_come_back(invoke: Invoke, tmp_path: Path) -> None:
    # "/" and "~" in keys are written ~1 and ~0 in JSON Pointers; a number-like key stays text.
    copies = _fleet(
        tmp_path / "copies",
        {
            name: {
                "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m, namespace: x}\n"
                f"data: {{'1': '{value}', 'a/b~c': '{value}', 'list': '[{value}]'}}\n"
            }
            for name, value in (("a", "one"), ("b", "one"), ("c", "two"))
        },
    )
    source = _round_trip(invoke, copies, tmp_path)
    assert "path: /data/a~1b~0c" in (source / "overrides/x/configmap_m.yaml").read_text()


def test_one_folder_per_cluster_and_from_a_git_branch(invoke: Invoke, tmp_path: Path) -> None:
    repo = init_repo(
        tmp_path / "repo",
        {
            f"out/{k}": v
            for k, v in read_tree(GOLDEN / "overrides/expected").items()
            if isinstance(v, bytes) and not k.endswith(MARKER)
        },
    )
    git(repo, "branch", "rendered")
    # The working tree moves on; the branch keeps the copies.
    shutil.rmtree(repo / "out")
    commit_all(repo, "remove the copies")
    from_ref = invoke(
        "import",
        str(repo / "out"),
        "--layout",
        "clusters",
        "--ref",
        "rendered",
        "--output-dir",
        str(tmp_path / "a"),
    )
    assert from_ref.exit_code == 0, from_ref.output
    clusters = sorted(p.name for p in (GOLDEN / "overrides/expected").iterdir() if p.is_dir())
    each = [str(GOLDEN / "overrides/expected" / c) for c in clusters]
    per_folder = invoke("import", *each, "--output-dir", str(tmp_path / "b"))
    assert per_folder.exit_code == 0, per_folder.output
    assert read_tree(tmp_path / "a") == read_tree(tmp_path / "b")


def test_labels_file_mistakes(invoke: Invoke, tmp_path: Path) -> None:
    copies = GOLDEN / "layout/expected"
    (tmp_path / "labels.yaml").write_text("nowhere: {env: prod}\naws-east: {replicas: 3}\n")
    result = invoke(
        "import",
        str(copies),
        "--layout",
        "clusters",
        "--labels",
        str(tmp_path / "labels.yaml"),
        "--output-dir",
        str(tmp_path / "x"),
    )
    assert result.exit_code == 1
    assert "no cluster named 'nowhere'" in result.stderr
    assert "labels are a map of strings to strings" in result.stderr


def test_a_link_out_of_the_output_folder_is_not_followed(invoke: Invoke, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = tmp_path / "platform"
    target.mkdir()
    (target / "templates").symlink_to(elsewhere)
    result = invoke(
        "import",
        str(GOLDEN / "layout/expected"),
        "--layout",
        "clusters",
        "--output-dir",
        str(target),
        "--force",
    )
    assert result.exit_code == 1
    assert "leads outside" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_secrets_values_stay_in_its_own_files(invoke: Invoke, tmp_path: Path) -> None:
    # Three different passwords would be per-cluster values for any other kind; a Secret keeps them.
    copies = _fleet(
        tmp_path / "copies",
        {
            name: {
                "s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: x}\n"
                f"stringData: {{password: pw-{index}}}\n"
            }
            for index, name in enumerate(("a", "b", "c", "d"))
        },
    )
    source = _round_trip(invoke, copies, tmp_path)
    assert "pw-" not in (source / "clusters/clusters.yaml").read_text()
    assert "cluster.values" not in (source / "templates/x/secret_db.yaml").read_text()


def test_a_container_that_differs_becomes_a_strategic_patch_by_name(invoke: Invoke, tmp_path: Path) -> None:
    def deployment(proxy: str, level: str) -> str:
        return (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
            "spec:\n  template:\n    spec:\n      containers:\n"
            f"      - {{name: proxy, image: 'envoy:{proxy}', env: [{{name: LEVEL, value: {level}}}]}}\n"
            "      - {name: web, image: 'web:1', env: [{name: LEVEL, value: info}, {name: MODE, value: fast}]}\n"
        )

    copies = tmp_path / "copies"
    for cluster, proxy, level in (("a", "1", "info"), ("b", "1", "info"), ("c", "2", "debug")):
        write_tree(copies / cluster, {"shop/deployment.apps_web.yaml": deployment(proxy, level)})
    source = _round_trip(invoke, copies, tmp_path)
    (override,) = yaml.safe_load_all((source / "overrides/shop/deployment.apps_web.yaml").read_text())
    # The container named rather than counted, and its env item by name; rendered back exactly.
    assert override["spec"]["strategic"] == {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "proxy", "image": "envoy:2", "env": [{"name": "LEVEL", "value": "debug"}]}
                    ]
                }
            }
        }
    }


def test_strategic_patches_are_offered_only_where_they_merge_back_exactly() -> None:
    from fanout.importer.smpdiff import strategic_patch

    base = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}
            }
        },
    }
    swapped = json.loads(json.dumps(base))
    swapped["spec"]["template"]["spec"]["containers"].reverse()
    # Only the order differs: kustomize keeps it, so the patch says it with $setElementOrder.
    assert strategic_patch(base, swapped) == {
        "spec": {
            "template": {
                "spec": {"containers": [], "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}
            }
        }
    }
    added = json.loads(json.dumps(base))
    added["spec"]["template"]["spec"]["containers"].append({"name": "c", "image": "c:1"})
    # kustomize would put the new container first: the order is kept the same way.
    assert strategic_patch(base, added) == {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "c", "image": "c:1"}],
                    "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
                }
            }
        }
    }
    removed = json.loads(json.dumps(base))
    del removed["spec"]["template"]["spec"]["containers"][0]
    assert strategic_patch(base, removed) == {
        "spec": {"template": {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}}
    }
    renamed = json.loads(json.dumps(base))
    renamed["metadata"]["name"] = "other"
    assert strategic_patch(base, renamed) is None


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-3, 3),
    st.sampled_from(["", "1", "true", "a", "1.0"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(_VALUES, _VALUES)
def test_the_fast_comparisons_agree_with_canon(a: Any, b: Any) -> None:
    """factor's shortcuts (``same``, ``_key``, ``plain_copy``, ``leaves``) decide as the JSON text did, so
    an import's output stays byte for byte what it was (1 and True, 1 and 1.0 stay different)."""
    assert same(a, b) == (canon(a) == canon(b))
    assert (_key(a) == _key(b)) == (canon(a) == canon(b))
    assert canon(plain_copy(a)) == canon(a) and (plain_copy(a) is not a or not isinstance(a, (dict, list)))
    assert all(canon(get(a, pointer)) == canon(leaf) for pointer, leaf in leaves(a))


def test_a_label_reference_stays_out_where_a_cluster_has_no_such_label() -> None:
    """Three clusters' copies name their zone label in a field; the fourth has the field, but no zone
    label: the template may not hold ``${cluster.labels.zone}``, which the fourth could not substitute."""
    from fanout.core.errors import Location
    from fanout.importer.factor import ValueBook, factor
    from fanout.importer.read import Copy, Key

    key = Key("", "ConfigMap", "x", "m", "v1")
    zones = {"a": "z1", "b": "z2", "c": "z3", "d": ""}
    copies = [
        Copy(
            c,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "m", "namespace": "x"},
                "data": {"zone": f"in-{zone or 'z9'}", "same": "1"},
            },
            Location(f"{c}/m.yaml"),
        )
        for c, zone in zones.items()
    ]
    labels = {c: ({"zone": zone} if zone else {}) for c, zone in zones.items()}
    factored = factor(key, copies, ValueBook(), labels)
    assert factored.template["data"] == {"same": "1"}
    added = {members: ops for members, ops in factored.groups}
    assert [(o.op, o.path, o.value) for o in added[("a", "b", "c")]] == [
        ("add", "/data/zone", "in-${cluster.labels.zone}")
    ]
    assert [(o.op, o.path, o.value) for o in added[("d",)]] == [("add", "/data/zone", "in-z9")]
