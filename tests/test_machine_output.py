"""Machine-readable output: every ``-o json|yaml`` document and every problem format, parsed as a tool would."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import Invoke, write_tree

# GitHub's workflow command syntax: ::error file=F,line=L,col=C::message
ANNOTATION = re.compile(r"^::(error|warning|notice)(?: file=([^,]+),line=(\d+),col=(\d+))?::(.+)$")


def _doc(text: str, kind: str) -> dict[str, object]:
    found = json.loads(text)
    assert found["kind"] == kind and found["version"] == 1
    return dict(found)


# --- clusters ----------------------------------------------------------------------------------------


def test_clusters_as_json_builds_a_ci_matrix(source: Path, invoke: Invoke) -> None:
    result = invoke("clusters", str(source), "-o", "json")
    assert result.exit_code == 0
    doc = _doc(result.stdout, "ClusterList")
    clusters = doc["clusters"]
    assert isinstance(clusters, list)
    assert [c["name"] for c in clusters] == ["aws-east", "azure-west", "gcp-dev"]
    first = clusters[0]
    assert first["labels"] == {"cloud": "aws", "env": "prod", "region": "us-east-1"}
    assert first["values"]["db"] == {"size": "10Gi"}
    assert first["objects"] == 1
    assert first["file"]["path"] == "clusters/all.yaml" and first["file"]["column"] == 1


def test_clusters_as_yaml_and_the_matrix_as_json(source: Path, invoke: Invoke) -> None:
    as_yaml = yaml.safe_load(invoke("clusters", str(source), "--output", "yaml").stdout)
    assert as_yaml["kind"] == "ClusterList"
    assert [c["name"] for c in as_yaml["clusters"]] == ["aws-east", "azure-west", "gcp-dev"]

    write_tree(
        source,
        {
            "templates/only-prod.yaml": "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\n"
            "metadata: {name: p, namespace: shop}\nspec:\n  template: {data: {a: b}}\n"
            "  placement: {clusterSelector: {matchLabels: {env: prod}}}\n"
        },
    )
    matrix = _doc(invoke("clusters", str(source), "--matrix", "-o", "json").stdout, "PlacementMatrix")
    assert matrix["clusters"] == ["aws-east", "azure-west", "gcp-dev"]
    by_name = {t["name"]: t for t in matrix["templates"]}  # type: ignore[attr-defined]
    assert by_name["p"]["clusters"] == ["aws-east", "azure-west"]
    assert by_name["p"]["kind"] == "ConfigMap" and by_name["p"]["namespace"] == "shop"
    assert by_name["web"]["clusters"] == ["aws-east", "azure-west", "gcp-dev"]


# --- render ------------------------------------------------------------------------------------------


def test_render_and_check_as_json(source: Path, invoke: Invoke) -> None:
    stale = invoke("render", str(source), "--check", "-o", "json")
    assert stale.exit_code == 3
    doc = _doc(stale.stdout, "RenderResult")
    assert doc["written"] is False and doc["upToDate"] is False
    files = doc["files"]
    assert isinstance(files, list)
    assert {"path": "aws-east/shop/deployment.apps_web.yaml", "change": "added"} in files
    assert not (source / "rendered").exists()

    written = _doc(invoke("render", str(source), "-o", "json").stdout, "RenderResult")
    assert written["written"] is True and written["clusters"] == 3 and written["objects"] == 3

    fresh = invoke("render", str(source), "--check", "-o", "json")
    assert fresh.exit_code == 0
    assert _doc(fresh.stdout, "RenderResult")["files"] == []

    (source / "rendered/gcp-dev/kustomization.yaml").unlink()
    again = _doc(invoke("render", str(source), "--check", "-o", "json").stdout, "RenderResult")
    assert again["files"] == [{"path": "gcp-dev/kustomization.yaml", "change": "added"}]


def test_fail_on_change_exits_3_and_lists_the_files_it_wrote(source: Path, invoke: Invoke) -> None:
    first = invoke("render", str(source), "--fail-on-change")
    assert first.exit_code == 3
    assert "  + aws-east/shop/deployment.apps_web.yaml" in first.stdout
    assert invoke("render", str(source), "--fail-on-change").exit_code == 0


# --- validate ----------------------------------------------------------------------------------------


def test_validate_as_json_valid_and_invalid(source: Path, invoke: Invoke) -> None:
    valid = invoke("validate", str(source), "-o", "json")
    assert valid.exit_code == 0
    doc = _doc(valid.stdout, "Validation")
    assert doc["valid"] is True and doc["clusters"] == 3 and doc["objects"] == 3 and doc["problems"] == []

    (source / "templates/bad.yaml").write_text("a: {b\n")
    (source / "clusters/extra.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: x}\nbogus: 1\n"
    )
    invalid = invoke("validate", str(source), "-o", "json")
    assert invalid.exit_code == 1
    bad = _doc(invalid.stdout, "Validation")
    assert bad["valid"] is False
    problems = bad["problems"]
    assert isinstance(problems, list) and len(problems) == 2
    where = {(p["path"], p["line"], p["column"]) for p in problems}
    root = str(source)
    assert (f"{root}/templates/bad.yaml", 2, 1) in where
    assert (f"{root}/clusters/extra.yaml", 4, 1) in where
    assert all(p["severity"] == "error" and p["message"] for p in problems)


def test_validate_as_github_annotations(source: Path, invoke: Invoke) -> None:
    (source / "templates/bad.yaml").write_text("a: {b\n")
    result = invoke("validate", str(source), "-o", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    match = ANNOTATION.match(lines[0])
    assert match is not None
    assert match.group(1, 2, 3, 4) == ("error", f"{source}/templates/bad.yaml", "2", "1")
    assert match.group(5).startswith("invalid YAML")


def test_warnings_are_annotations_too(source: Path, invoke: Invoke) -> None:
    # An inline KubeFed override for a cluster the template is not placed on is legal but worth a warning.
    write_tree(
        source,
        {
            "templates/fed.yaml": "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\n"
            "metadata: {name: f, namespace: shop}\nspec:\n  template: {data: {a: b}}\n"
            "  placement: {clusters: [{name: aws-east}]}\n"
            "  overrides:\n  - clusterName: gcp-dev\n    clusterOverrides: [{path: /data/a, value: c}]\n"
        },
    )
    result = invoke("validate", str(source), "-o", "github")
    assert result.exit_code == 0
    *warnings, passed = [ANNOTATION.match(line) for line in result.stdout.splitlines()]
    assert warnings and all(m is not None and m.group(1) == "warning" for m in warnings)
    assert passed is not None and passed.group(1) == "notice"  # and the summary: it passed

    as_json = _doc(invoke("validate", str(source), "-o", "json").stdout, "Validation")
    assert as_json["valid"] is True
    assert [p["severity"] for p in as_json["problems"]] == ["warning"]  # type: ignore[attr-defined]

    annotated = invoke("--error-format", "github", "render", str(source))
    assert annotated.exit_code == 0
    assert any(line.startswith("::warning file=") for line in annotated.stdout.splitlines())


# --- input errors in every format -------------------------------------------------------------------


def _broken(source: Path) -> Path:
    (source / "templates/bad.yaml").write_text("a: {b\n")
    (source / "templates/also-bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    return source


def test_error_format_json_is_one_problem_per_line(source: Path, invoke: Invoke) -> None:
    _broken(source)
    result = invoke("--error-format", "json", "render", str(source))
    assert result.exit_code == 1
    problems = [json.loads(line) for line in result.stderr.splitlines()]
    assert len(problems) == 2
    assert all(p["kind"] == "Problem" and p["version"] == 1 and p["severity"] == "error" for p in problems)
    assert {p["path"] for p in problems} == {
        f"{source}/templates/bad.yaml",
        f"{source}/templates/also-bad.yaml",
    }
    assert not (source / "rendered").exists()


def test_render_notes_follow_the_error_format(source: Path, invoke: Invoke) -> None:
    # render's own notes (here: a marker entry it will not follow) are warning documents too, so that
    # stderr stays JSON Lines for whoever parses it.
    assert invoke("render", str(source)).exit_code == 0
    marker = source / "rendered" / ".fanout-output.json"
    data = json.loads(marker.read_text())
    data["files"]["../outside.yaml"] = None
    marker.write_text(json.dumps(data, indent=1) + "\n")
    result = invoke("--error-format", "json", "render", str(source))
    assert result.exit_code == 0, result.output
    notes = [json.loads(line) for line in result.stderr.splitlines()]
    assert notes and all(n["kind"] == "Problem" and n["severity"] == "warning" for n in notes)
    assert any("../outside.yaml" in n["message"] for n in notes)


def test_error_format_github_and_the_environment_variable(
    source: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _broken(source)
    result = invoke("--error-format", "github", "validate", str(source))
    assert result.exit_code == 1
    matches = [ANNOTATION.match(line) for line in result.stdout.splitlines()]
    assert len(matches) == 2 and all(m is not None and m.group(1) == "error" for m in matches)

    monkeypatch.setenv("FANOUT_ERROR_FORMAT", "json")
    from_env = invoke("clusters", str(source))
    assert from_env.exit_code == 1
    assert all(json.loads(line)["kind"] == "Problem" for line in from_env.stderr.splitlines())

    monkeypatch.setenv("FANOUT_ERROR_FORMAT", "nonsense")  # an unknown value falls back to text
    text = invoke("clusters", str(source))
    assert text.stderr.splitlines()[-1] == "fanout: 2 problems found"


def test_annotation_text_is_escaped() -> None:
    from fanout.core.errors import Location, Problem
    from fanout.report.machine import github

    line = github(Problem("100% wrong\nsecond line", Location("a,b:c.yaml", 3, 4)), "error", "root")
    assert line == "::error file=root/a%2Cb%3Ac.yaml,line=3,col=4::100%25 wrong%0Asecond line"
    assert github(Problem("no place")) == "::error::no place"


# --- explain -----------------------------------------------------------------------------------------


def test_explain_as_json(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {
            "overrides/prod.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: prod}\n"
            "spec:\n  clusters: {clusterSelector: {matchLabels: {env: prod}}}\n"
            "  resources: [{kind: Deployment, name: web, namespace: shop}]\n"
            "  patch: [{op: replace, path: /spec/replicas, value: 3}]\n",
            "templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\n"
            "stringData: {password: hunter2}\n",
        },
    )
    result = invoke(
        "explain", "aws-east", "deployment/web", str(source), "--field", "/spec/replicas", "-o", "json"
    )
    assert result.exit_code == 0
    doc = _doc(result.stdout, "Explanation")
    assert doc["rendered"] is True and doc["cluster"] == "aws-east"
    assert doc["output"] == "aws-east/shop/deployment.apps_web.yaml"
    overrides = doc["overrides"]
    assert isinstance(overrides, list) and overrides[0]["label"] == "overrides/prod.yaml (prod)"
    field = doc["field"]
    assert isinstance(field, dict)
    assert [(s["source"], s["value"]) for s in field["history"]] == [
        ("template", 1),
        ("overrides/prod.yaml (prod)", 3),
    ]

    secret = invoke(
        "explain", "aws-east", "secret/s", str(source), "--field", "/stringData/password", "-o", "json"
    )
    assert "hunter2" not in secret.stdout
    assert json.loads(secret.stdout)["field"]["history"][0]["value"] != "hunter2"

    absent = invoke("explain", "gcp-dev", "configmap/none", str(source), "-o", "json")
    assert absent.exit_code == 1  # no such template: an input problem, reported as one


def test_explain_json_for_an_object_not_placed(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {
            "templates/only-prod.yaml": "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\n"
            "metadata: {name: p, namespace: shop}\nspec:\n  template: {data: {a: b}}\n"
            "  placement: {clusterSelector: {matchLabels: {env: prod}}}\n"
        },
    )
    result = invoke("explain", "gcp-dev", "configmap/p", str(source), "-o", "json")
    assert result.exit_code == 1
    doc = _doc(result.stdout, "Explanation")
    assert doc["rendered"] is False
    candidates = doc["candidates"]
    assert isinstance(candidates, list) and candidates[0]["placement"]["placed"] is False
    assert candidates[0]["template"]["path"] == "templates/only-prod.yaml"
