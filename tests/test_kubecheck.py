"""``fanout validate --kubernetes`` and ``fanout render --validate-kubernetes`` through the real CLI."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fanout.render.pipeline import load_inputs, render
from fanout.report.kubecheck import KubeOptions, check_rendering
from fanout.source.tree import DirectorySource
from tests.conftest import CLUSTERS, ROOT, Invoke, read_tree, write_tree

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: "web:1"
"""

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
"""

REPLICAS_OVERRIDE = """
apiVersion: fanout.dev/v1alpha1
kind: Override
metadata: {name: replicas}
spec:
  clusters:
    clusterSelector: {matchLabels: {env: prod}}
  resources:
  - {kind: Deployment, name: web, namespace: shop}
  patch:
  - {op: replace, path: /spec/replicas, value: "${cluster.values.replicas}"}
"""

# azure-west's replicas are a word: the override above writes it into /spec/replicas.
BAD_CLUSTERS = CLUSTERS.replace("replicas: 3", 'replicas: "three"')

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, maximum: 10}
"""

WIDGET = """
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
spec:
  size: 11
"""


def make_source(tmp_path: Path, **templates: str) -> Path:
    files = {"clusters/all.yaml": CLUSTERS, "templates/ns.yaml": NAMESPACE}
    files.update({f"templates/{name}.yaml": text for name, text in templates.items()})
    return write_tree(tmp_path / "src", files)


@pytest.fixture
def bad_replicas(tmp_path: Path) -> Path:
    root = make_source(tmp_path, web=DEPLOYMENT)
    write_tree(root, {"clusters/all.yaml": BAD_CLUSTERS, "overrides/replicas.yaml": REPLICAS_OVERRIDE})
    return root


# -- validate --kubernetes ------------------------------------------------------------------------


def test_valid_source_passes(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, web=DEPLOYMENT)
    result = invoke("validate", str(root), "--kubernetes", "--strict")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "no problems: checked 6 objects (2 distinct) on 3 clusters against Kubernetes 1.31 (strict)",
        f"fanout: {root} is valid: 3 clusters, 2 templates, 0 overrides, 6 objects rendered",
    ]


def test_override_writing_a_string_fails_at_the_override_line(bad_replicas: Path, invoke: Invoke) -> None:
    result = invoke("validate", str(bad_replicas), "--kubernetes")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "overrides/replicas.yaml:10:41: cluster azure-west: Deployment shop/web /spec/replicas: "
        "'three' is not of type 'integer'",
        "1 problem in 1 object: checked 6 objects (4 distinct) on 3 clusters against Kubernetes 1.31 "
        "(not strict: unknown fields are not checked, use --strict)",
    ]


def test_template_typo_fails_only_with_strict(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, web=DEPLOYMENT.replace("  replicas: 1", "  replica: 1"))
    assert invoke("validate", str(root), "--kubernetes").exit_code == 0
    result = invoke("validate", str(root), "--kubernetes", "--strict")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        'templates/web.yaml:5:3: all 3 clusters: Deployment shop/web /spec/replica: unknown field "replica"'
    )


def test_federated_template_and_inline_override_locations(tmp_path: Path, invoke: Invoke) -> None:
    federated = """
    apiVersion: types.kubefed.io/v1beta1
    kind: FederatedDeployment
    metadata: {name: web, namespace: shop}
    spec:
      template:
        spec:
          replicas: 1
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - {name: web, image: "web:1", imagePullPolicie: Always}
      placement:
        clusterSelector: {}
      overrides:
      - clusterName: gcp-dev
        clusterOverrides:
        - path: /spec/template/spec/containers/0/image
          value: 42
    """
    root = make_source(tmp_path, web=federated)
    result = invoke("validate", str(root), "--kubernetes", "--strict")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "templates/web.yaml:15:41: all 3 clusters: Deployment shop/web "
        '/spec/template/spec/containers/0/imagePullPolicie: unknown field "imagePullPolicie"',
        "templates/web.yaml:22:7: cluster gcp-dev: Deployment shop/web "
        "/spec/template/spec/containers/0/image: 42 is not of type 'string'",
    ]


def test_merge_patch_location(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, web=DEPLOYMENT)
    merge = """
    apiVersion: fanout.dev/v1alpha1
    kind: Override
    metadata: {name: labels}
    spec:
      clusters: {names: [aws-east, gcp-dev]}
      resources: [{kind: Deployment, name: web}]
      merge:
        metadata:
          labels:
            tier: 1
    """
    write_tree(root, {"overrides/labels.yaml": merge})
    result = invoke("validate", str(root), "--kubernetes")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "overrides/labels.yaml:10:9: clusters aws-east,gcp-dev: Deployment shop/web "
        "/metadata/labels/tier: 1 is not of type 'string'"
    )


def test_custom_resource_is_checked_against_the_crd_in_the_templates(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, crd=CRD, widget=WIDGET)
    result = invoke("validate", str(root), "--kubernetes", "--strict")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "templates/widget.yaml:5:3: all 3 clusters: Widget shop/w /spec/size: 11 is greater than the maximum of 10"
    )
    write_tree(root, {"templates/widget.yaml": WIDGET.replace("size: 11", "size: 3")})
    assert invoke("validate", str(root), "--kubernetes", "--strict").exit_code == 0


def test_kind_without_schema_fails_unless_skipped_or_ignored(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, widget=WIDGET)
    missing = invoke("validate", str(root), "--kubernetes")
    assert missing.exit_code == 1
    assert missing.stdout.splitlines()[0] == (
        "templates/widget.yaml:1:1: all 3 clusters: Widget shop/w: no schema for example.com/v1 Widget in "
        "Kubernetes 1.31: add its CustomResourceDefinition to the templates or a schema to a --schema-dir, "
        "or pass --skip Widget or --ignore-missing-schemas"
    )

    for option in (["--skip", "Widget"], ["--skip", "Gadget,example.com/v1/Widget"], ["--skip", "widget"]):
        skipped = invoke("validate", str(root), "--kubernetes", *option)
        assert skipped.exit_code == 0, (option, skipped.output)
        assert skipped.stdout.splitlines()[0] == (
            "skipped: Widget shop/w (example.com/v1): all 3 clusters: kind Widget skipped by --skip"
        )
    assert (
        invoke("validate", str(root), "--kubernetes", "--skip", "other.example.com/v1/Widget").exit_code == 1
    )

    ignored = invoke("validate", str(root), "--kubernetes", "--ignore-missing-schemas")
    assert ignored.exit_code == 0
    assert ignored.stdout.splitlines()[:2] == [
        "skipped: Widget shop/w (example.com/v1): all 3 clusters: "
        "no schema for example.com/v1 Widget in Kubernetes 1.31 (--ignore-missing-schemas)",
        "no problems: checked 6 objects (2 distinct) on 3 clusters against Kubernetes 1.31 "
        "(not strict: unknown fields are not checked, use --strict), skipped 1",
    ]


def test_schema_dir_supplies_schemas(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, widget=WIDGET)
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "widget-example-v1.json").write_text(
        json.dumps({"properties": {"spec": {"properties": {"size": {"type": "integer", "maximum": 5}}}}})
    )
    result = invoke("validate", str(root), "--kubernetes", "--schema-dir", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"--schema-dir {tmp_path / 'none'}: not a directory")
    result = invoke(
        "validate", str(root), "--kubernetes", "--schema-dir", str(tmp_path), "--schema-dir", str(schemas)
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "templates/widget.yaml:5:3: all 3 clusters: Widget shop/w /spec/size: 11 is greater than the maximum of 5"
    )


def test_json_format(bad_replicas: Path, invoke: Invoke) -> None:
    result = invoke("validate", str(bad_replicas), "--kubernetes", "--strict", "--output", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["valid"] is False
    assert document["summary"] == {
        "clusters": 3,
        "objects": 6,
        "distinctObjects": 4,
        "findings": 1,
        "skipped": 0,
    }
    assert document["findings"] == [
        {
            "clusters": ["azure-west"],
            "object": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
            "pointer": "/spec/replicas",
            "message": "'three' is not of type 'integer'",
            "location": {"path": "overrides/replicas.yaml", "line": 10, "column": 41},
        }
    ]
    again = invoke("validate", str(bad_replicas), "--kubernetes", "--strict", "--output", "json")
    assert again.stdout == result.stdout


def test_junit_format(bad_replicas: Path, invoke: Invoke) -> None:
    result = invoke("validate", str(bad_replicas), "--kubernetes", "--output", "junit")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    assert (root.get("tests"), root.get("failures")) == ("6", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert sorted(suites) == ["aws-east", "azure-west", "gcp-dev"]
    failures = [
        (suite, case.get("name"), failure.text)
        for suite, element in suites.items()
        for case in element.iter("testcase")
        for failure in case.iter("failure")
    ]
    assert failures == [
        (
            "azure-west",
            "Deployment shop/web (apps/v1)",
            "overrides/replicas.yaml:10:41: /spec/replicas: 'three' is not of type 'integer'\n",
        )
    ]
    passing = invoke("validate", str(bad_replicas.parent / "nope"), "--kubernetes", "--output", "junit")
    assert passing.exit_code == 1  # input errors are still plain located lines on stderr
    assert passing.stdout == ""


def test_json_and_junit_of_a_valid_source_exit_zero(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, web=DEPLOYMENT)
    for fmt in ("json", "junit"):
        result = invoke("validate", str(root), "--kubernetes", "--output", fmt)
        assert result.exit_code == 0, result.output
        assert "is valid" not in result.stdout  # the document alone owns stdout
    assert (
        json.loads(invoke("validate", str(root), "--kubernetes", "--output", "json").stdout)["valid"] is True
    )


def test_kubernetes_version_option(tmp_path: Path, invoke: Invoke) -> None:
    hpa = """
    apiVersion: autoscaling/v2beta2
    kind: HorizontalPodAutoscaler
    metadata: {name: web, namespace: shop}
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
      maxReplicas: 3
    """
    root = make_source(tmp_path, hpa=hpa)
    assert invoke("validate", str(root), "--kubernetes", "--kubernetes-version", "1.25").exit_code == 0
    removed = invoke("validate", str(root), "--kubernetes", "--kubernetes-version", "v1.26")
    assert removed.exit_code == 1
    assert "no schema for autoscaling/v2beta2 HorizontalPodAutoscaler in Kubernetes 1.26" in removed.stdout
    unsupported = invoke("validate", str(root), "--kubernetes", "--kubernetes-version", "1.12")
    assert unsupported.exit_code == 1
    # (After the warning that autoscaling/v2beta2 is gone since 1.26.)
    assert "\nKubernetes version '1.12' is not supported: kubernetes-validate " in unsupported.stderr
    assert "Traceback" not in unsupported.output


def _unboxed(output: str) -> str:
    """Usage errors may wrap lines: the words alone."""
    return " ".join(output.replace("│", " ").split())


@pytest.mark.parametrize(
    "option",
    [
        ["--strict"],
        ["--kubernetes-version", "1.31"],
        ["--skip", "Widget"],
        ["--ignore-missing-schemas"],
        ["--schema-dir", "."],
    ],
)
def test_kubernetes_options_need_the_kubernetes_flag(
    tmp_path: Path, invoke: Invoke, option: list[str]
) -> None:
    root = make_source(tmp_path, web=DEPLOYMENT)
    result = invoke("validate", str(root), *option)
    assert result.exit_code == 2
    assert "only works with --kubernetes" in _unboxed(result.output)
    rendered = invoke("render", str(root), *option)
    assert rendered.exit_code == 2
    assert "only works with --validate-kubernetes" in _unboxed(rendered.output)


def test_junit_reports_need_the_kubernetes_flag(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, web=DEPLOYMENT)
    result = invoke("validate", str(root), "-o", "junit")
    assert result.exit_code == 2
    assert "junit reports --kubernetes findings" in _unboxed(result.output)


def test_bad_format_is_a_usage_error(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, web=DEPLOYMENT)
    assert invoke("validate", str(root), "--kubernetes", "--output", "xml").exit_code == 2


def test_missing_extra_names_the_pip_command(
    tmp_path: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_source(tmp_path, web=DEPLOYMENT)
    monkeypatch.setitem(sys.modules, "kubernetes_validate", None)  # the package cannot be imported
    result = invoke("validate", str(root), "--kubernetes")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Kubernetes schema validation needs the optional package kubernetes-validate; "
        "install it with: pip install 'fanout-gitops[kubernetes]'"
    )
    assert invoke("validate", str(root)).exit_code == 0  # nothing else needs it


def test_sample_repo_passes_in_strict_mode(invoke: Invoke) -> None:
    result = invoke("validate", str(ROOT / "sample-repo"), "--kubernetes", "--strict")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("no problems: checked ")


# -- render --validate-kubernetes -------------------------------------------------------------------


def test_render_writes_nothing_when_validation_fails(
    bad_replicas: Path, tmp_path: Path, invoke: Invoke
) -> None:
    out = tmp_path / "out"
    result = invoke("render", str(bad_replicas), "--output-dir", str(out), "--validate-kubernetes")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "overrides/replicas.yaml:10:41: cluster azure-west: Deployment shop/web /spec/replicas: "
        "'three' is not of type 'integer'",
        "fanout: 1 problem found",
    ]
    assert not out.exists()

    # An earlier output stays exactly as it was.
    write_tree(bad_replicas, {"clusters/all.yaml": CLUSTERS})
    assert invoke("render", str(bad_replicas), "--output-dir", str(out)).exit_code == 0
    before = read_tree(out)
    write_tree(bad_replicas, {"clusters/all.yaml": BAD_CLUSTERS})
    again = invoke("render", str(bad_replicas), "--output-dir", str(out), "--validate-kubernetes", "--strict")
    assert again.exit_code == 1
    assert read_tree(out) == before
    check = invoke("render", str(bad_replicas), "--output-dir", str(out), "--check", "--validate-kubernetes")
    assert check.exit_code == 1
    assert "'three' is not of type 'integer'" in check.stderr


def test_render_validates_then_writes(tmp_path: Path, invoke: Invoke) -> None:
    root = make_source(tmp_path, crd=CRD, widget=WIDGET.replace("size: 11", "size: 2"), web=DEPLOYMENT)
    gadget = WIDGET.replace("Widget", "Gadget").replace("name: w,", "name: g,")
    write_tree(root, {"templates/gadget.yaml": gadget})
    out = tmp_path / "out"
    result = invoke(
        "render",
        str(root),
        "--output-dir",
        str(out),
        "--validate-kubernetes",
        "--kubernetes-version",
        "1.30",
        "--strict",
        "--skip",
        "Gadget",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        lines[0] == "skipped: Gadget shop/g (example.com/v1): all 3 clusters: kind Gadget skipped by --skip"
    )
    assert lines[1] == (
        "fanout: Kubernetes schemas: no problems: checked 15 objects (4 distinct) on 3 clusters "
        "against Kubernetes 1.30 (strict), skipped 1"
    )
    assert (out / "aws-east/shop/widget.example.com_w.yaml").is_file()

    missing = invoke("render", str(root), "--output-dir", str(out), "--validate-kubernetes")
    assert missing.exit_code == 1
    assert "no schema for example.com/v1 Gadget" in missing.stderr
    ignored = invoke(
        "render", str(root), "--output-dir", str(out), "--validate-kubernetes", "--ignore-missing-schemas"
    )
    assert ignored.exit_code == 0
    assert "(--ignore-missing-schemas)" in ignored.stdout
    schema_dir = tmp_path / "schemas"
    schema_dir.mkdir()
    (schema_dir / "gadget_v1.json").write_text('{"type": "object"}')
    with_dir = invoke(
        "render",
        str(root),
        "--output-dir",
        str(out),
        "--validate-kubernetes",
        "--schema-dir",
        str(schema_dir),
    )
    assert with_dir.exit_code == 0, with_dir.output


def test_render_only_validates_the_chosen_clusters(
    bad_replicas: Path, tmp_path: Path, invoke: Invoke
) -> None:
    out = tmp_path / "out"
    result = invoke(
        "render", str(bad_replicas), "--output-dir", str(out), "-c", "aws-east", "--validate-kubernetes"
    )
    assert result.exit_code == 0, result.output
    assert "checked 2 objects (2 distinct) on 1 cluster" in result.stdout


# -- de-duplication -------------------------------------------------------------------------------


def test_each_distinct_object_is_validated_once(bad_replicas: Path) -> None:
    rendering = render(load_inputs(DirectorySource(bad_replicas)))
    deduplicated = check_rendering(rendering, KubeOptions(strict=True))
    everything = check_rendering(rendering, KubeOptions(strict=True), deduplicate=False)
    # The Namespace and the dev Deployment are shared; the two prod Deployments differ in replicas.
    assert (deduplicated.distinct_objects, everything.distinct_objects) == (4, 6)
    assert deduplicated.findings == everything.findings


def test_skip_option_parsing() -> None:
    assert KubeOptions.parse_skip(["A,B", " C ,", ""]) == ("A", "B", "C")


def test_warnings_go_to_stderr_when_the_report_owns_stdout(tmp_path: Path, invoke: Invoke) -> None:
    federated = """
    apiVersion: types.kubefed.io/v1beta1
    kind: FederatedConfigMap
    metadata: {name: settings, namespace: shop}
    spec:
      template:
        data: {mode: fast}
      placement:
        clusters: [{name: aws-east}]
      overrides:
      - clusterName: gcp-dev
        clusterOverrides:
        - {path: /data/mode, value: slow}
    """
    root = make_source(tmp_path, settings=federated)
    text = invoke("validate", str(root), "--kubernetes")
    assert text.exit_code == 0, text.output
    assert text.stderr.startswith("templates/settings.yaml:")
    assert ": warning: " in text.stderr
    assert ": warning: " not in text.stdout
    for fmt in ("json", "junit"):
        result = invoke("validate", str(root), "--kubernetes", "--output", fmt)
        assert result.exit_code == 0, result.output
        assert result.stderr.startswith("templates/settings.yaml:")
        assert "has no effect" in result.stderr
        assert "warning" not in result.stdout


# A CRD of the wrong shape (its custom resources are then reported as not validated), and a good one whose
# own openAPIV3Schema has a problem only some clusters' overrides bring in.
BROKEN_CRD = (
    CRD.replace("widgets.example.com}", "gadgets.example.com}")
    .replace(
        "names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}",
        "names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}",
    )
    .replace("size: {type: integer, maximum: 10}", "size: 'not a schema'")
)
GADGET = WIDGET.replace("kind: Widget", "kind: Gadget")
CRD_OVERRIDE = """
apiVersion: fanout.dev/v1alpha1
kind: Override
metadata: {name: crd-prod}
spec:
  clusters:
    clusterSelector: {matchLabels: {env: prod}}
  resources:
  - {kind: CustomResourceDefinition, name: widgets.example.com}
  patch:
  - {op: add, path: /spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/size/maximum, value: 12}
"""


@pytest.mark.parametrize(
    "source",
    [
        "bad-replicas",
        "crds",
        "sample-repo",
        "examples/helm",
        "examples/kubefed",
        "examples/karmada/guestbook",
    ],
)
@pytest.mark.parametrize("strict", [False, True])
def test_a_fleet_checked_a_cluster_at_a_time_reports_what_the_whole_rendering_does(
    source: str, strict: bool, tmp_path: Path
) -> None:
    """``validate --kubernetes`` renders the CRDs first, then each cluster, checked and forgotten; the report
    (findings, their clusters and lines, skips, counts) is the one the whole rendering gives."""
    from fanout.report.kubecheck import check_fleet
    from fanout.report.kubereport import format_json

    if source == "bad-replicas":
        root = make_source(tmp_path, web=DEPLOYMENT)
        write_tree(root, {"clusters/all.yaml": BAD_CLUSTERS, "overrides/replicas.yaml": REPLICAS_OVERRIDE})
    elif source == "crds":
        root = make_source(tmp_path, crd=CRD, widget=WIDGET, broken=BROKEN_CRD, gadget=GADGET)
        write_tree(root, {"overrides/crd.yaml": CRD_OVERRIDE})
    else:
        root = ROOT / source
    inputs = load_inputs(DirectorySource(root))
    options = KubeOptions(strict=strict, skip=("Namespace",))
    whole = check_rendering(render(inputs), options)
    streamed, count = check_fleet(inputs, options)
    assert count == render(inputs).object_count
    assert format_json(streamed) == format_json(whole)
    assert (streamed.findings, streamed.skipped, streamed.distinct_objects) == (
        whole.findings,
        whole.skipped,
        whole.distinct_objects,
    )
    if source == "crds":
        assert streamed.findings  # the Widgets' size, the broken CRD, and the Gadgets not validated


def test_forgetting_objects_by_identity_changes_no_report(
    bad_replicas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check remembers the objects it saw last by identity (holding them, so that no id is reused while
    remembered); one remembered at a time, every object is looked up by content again, to the same report."""
    from fanout.report import kubecheck
    from fanout.report.kubereport import format_json

    inputs = load_inputs(DirectorySource(bad_replicas))
    options = KubeOptions(strict=True)
    remembering, _ = kubecheck.check_fleet(inputs, options)
    monkeypatch.setattr(kubecheck, "_BY_IDENTITY", 1)
    forgetting, _ = kubecheck.check_fleet(inputs, options)
    assert format_json(forgetting) == format_json(remembering)
    assert forgetting.distinct_objects == remembering.distinct_objects == 4
