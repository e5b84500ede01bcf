"""fanout.report.kubereport: merging findings across clusters and the text, JSON and JUnit renderings."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from fanout.core.errors import Location
from fanout.report.kubereport import (
    FORMATTERS,
    ClusterFinding,
    Finding,
    ObjectRef,
    Report,
    Skipped,
    format_json,
    format_junit,
    format_text,
    group_findings,
    group_skipped,
)

DEPLOY = ObjectRef("apps/v1", "Deployment", "pacman", "pacman")
SERVICE = ObjectRef("v1", "Service", "pacman", "pacman")
NAMESPACE = ObjectRef("v1", "Namespace", "", "pacman")
WIDGET = ObjectRef("example.com/v1", "Widget", "pacman", "w")
OVERRIDE = Location("overrides/replicas.yaml", 9, 14)
TEMPLATE = Location("templates/pacman.yaml", 12, 5)
CLUSTERS = ("aws-us-east-1", "azure-westeurope", "gcp-us-central1")


def checked_everywhere(*objects: ObjectRef) -> dict[str, list[ObjectRef]]:
    return {cluster: list(objects) for cluster in CLUSTERS}


def sample_report() -> Report:
    findings = group_findings(
        [
            ClusterFinding(
                "gcp-us-central1", DEPLOY, "/spec/replicas", "'three' is not of type 'integer'", OVERRIDE
            ),
            ClusterFinding(
                "aws-us-east-1", DEPLOY, "/spec/replicas", "'three' is not of type 'integer'", OVERRIDE
            ),
            ClusterFinding("aws-us-east-1", DEPLOY, "/spec/replica", 'unknown field "replica"', TEMPLATE),
            ClusterFinding("azure-westeurope", DEPLOY, "/spec/replica", 'unknown field "replica"', TEMPLATE),
            ClusterFinding("gcp-us-central1", DEPLOY, "/spec/replica", 'unknown field "replica"', TEMPLATE),
            ClusterFinding("aws-us-east-1", SERVICE, "/spec/ports/0/port", "'80' is not of type 'integer'"),
        ]
    )
    skipped = group_skipped(
        [
            ("gcp-us-central1", WIDGET, "no schema for example.com/v1 Widget in Kubernetes 1.31"),
            ("aws-us-east-1", WIDGET, "no schema for example.com/v1 Widget in Kubernetes 1.31"),
        ]
    )
    checked = checked_everywhere(NAMESPACE, DEPLOY, SERVICE)
    checked["aws-us-east-1"].append(WIDGET)
    checked["gcp-us-central1"].append(WIDGET)
    return Report("1.31", True, checked, findings, skipped, distinct_objects=5)


def test_object_ref_reads_rendered_objects() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "pacman", "namespace": "pacman"},
    }
    assert ObjectRef.of(obj) == DEPLOY
    assert str(DEPLOY) == "Deployment pacman/pacman"
    assert (
        ObjectRef.of({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pacman"}}) == NAMESPACE
    )
    assert str(NAMESPACE) == "Namespace pacman"


def test_same_failure_in_many_clusters_is_one_finding_with_sorted_clusters() -> None:
    report = sample_report()
    assert report.findings == (
        Finding(
            ("aws-us-east-1", "gcp-us-central1"),
            DEPLOY,
            "/spec/replicas",
            "'three' is not of type 'integer'",
            OVERRIDE,
        ),
        Finding(CLUSTERS, DEPLOY, "/spec/replica", 'unknown field "replica"', TEMPLATE),
        Finding(("aws-us-east-1",), SERVICE, "/spec/ports/0/port", "'80' is not of type 'integer'"),
    )
    assert report.skipped == (
        Skipped(
            ("aws-us-east-1", "gcp-us-central1"),
            WIDGET,
            "no schema for example.com/v1 Widget in Kubernetes 1.31",
        ),
    )


def test_same_message_at_different_source_locations_stays_separate() -> None:
    other = Location("overrides/other.yaml", 3, 1)
    findings = group_findings(
        [
            ClusterFinding("a", DEPLOY, "/spec/replicas", "m", OVERRIDE),
            ClusterFinding("b", DEPLOY, "/spec/replicas", "m", other),
        ]
    )
    assert [(f.clusters, f.location) for f in findings] == [(("b",), other), (("a",), OVERRIDE)]


def test_finding_sorts_its_clusters() -> None:
    assert Finding(("b", "a", "b"), DEPLOY, "", "m").clusters == ("a", "b")


def test_text_format() -> None:
    assert format_text(sample_report()) == (
        "overrides/replicas.yaml:9:14: clusters aws-us-east-1,gcp-us-central1: "
        "Deployment pacman/pacman /spec/replicas: 'three' is not of type 'integer'\n"
        "templates/pacman.yaml:12:5: all 3 clusters: "
        'Deployment pacman/pacman /spec/replica: unknown field "replica"\n'
        "Service pacman/pacman /spec/ports/0/port: cluster aws-us-east-1: '80' is not of type 'integer'\n"
        "skipped: Widget pacman/w (example.com/v1): clusters aws-us-east-1,gcp-us-central1: "
        "no schema for example.com/v1 Widget in Kubernetes 1.31\n"
        "3 problems in 2 objects: checked 11 objects (5 distinct) on 3 clusters "
        "against Kubernetes 1.31 (strict), skipped 1\n"
    )


def test_text_format_when_everything_is_valid_and_not_strict() -> None:
    report = Report("1.30", False, {"only": [DEPLOY]}, distinct_objects=1)
    assert format_text(report) == (
        "no problems: checked 1 object (1 distinct) on 1 cluster against Kubernetes 1.30 "
        "(not strict: unknown fields are not checked, use --strict)\n"
    )


def test_text_format_shortens_long_cluster_lists() -> None:
    many = [f"c{i:02d}" for i in range(12)]
    finding = Finding(tuple(many[:8]), DEPLOY, "/spec", "m", None)
    report = Report("1.31", True, {c: [DEPLOY] for c in many}, [finding], distinct_objects=1)
    first_line = format_text(report).splitlines()[0]
    assert first_line == "Deployment pacman/pacman /spec: clusters c00,c01,c02,c03,c04 and 3 more: m"


def test_text_format_whole_object_finding_has_no_pointer() -> None:
    finding = Finding(("a",), WIDGET, "", "no schema for example.com/v1 Widget in Kubernetes 1.31", TEMPLATE)
    report = Report("1.31", True, {"a": [WIDGET], "b": []}, [finding], distinct_objects=1)
    assert format_text(report).splitlines()[0] == (
        "templates/pacman.yaml:12:5: cluster a: Widget pacman/w: "
        "no schema for example.com/v1 Widget in Kubernetes 1.31"
    )


def test_json_format_shape() -> None:
    document = json.loads(format_json(sample_report()))
    assert document["version"] == 1
    assert {k: document[k] for k in ("kubernetesVersion", "strict", "valid")} == {
        "kubernetesVersion": "1.31",
        "strict": True,
        "valid": False,
    }
    assert document["summary"] == {
        "clusters": 3,
        "objects": 11,
        "distinctObjects": 5,
        "findings": 3,
        "skipped": 1,
    }
    assert document["findings"][0] == {
        "clusters": ["aws-us-east-1", "gcp-us-central1"],
        "object": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "pacman", "name": "pacman"},
        "pointer": "/spec/replicas",
        "message": "'three' is not of type 'integer'",
        "location": {"path": "overrides/replicas.yaml", "line": 9, "column": 14},
    }
    assert document["findings"][2]["location"] is None
    assert document["skipped"] == [
        {
            "clusters": ["aws-us-east-1", "gcp-us-central1"],
            "object": {"apiVersion": "example.com/v1", "kind": "Widget", "namespace": "pacman", "name": "w"},
            "reason": "no schema for example.com/v1 Widget in Kubernetes 1.31",
        }
    ]


def test_json_cluster_scoped_namespace_is_null() -> None:
    finding = Finding(("a",), NAMESPACE, "/metadata/labels/x", "m")
    document = json.loads(format_json(Report("1.31", True, {"a": [NAMESPACE]}, [finding])))
    assert document["findings"][0]["object"]["namespace"] is None
    assert document["valid"] is False


def test_junit_format_has_a_case_per_cluster_and_object() -> None:
    root = ET.fromstring(format_junit(sample_report()))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "skipped", "errors")} == {
        "tests": "11",
        "failures": "4",  # failing test cases: the Deployment in all three clusters, one Service
        "skipped": "2",
        "errors": "0",
    }
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == list(CLUSTERS)
    aws = suites["aws-us-east-1"]
    assert {k: aws.get(k) for k in ("tests", "failures", "skipped")} == {
        "tests": "4",
        "failures": "2",
        "skipped": "1",
    }
    cases = {case.get("name"): case for case in aws.iter("testcase")}
    assert list(cases) == [
        "Deployment pacman/pacman (apps/v1)",
        "Namespace pacman (v1)",
        "Service pacman/pacman (v1)",
        "Widget pacman/w (example.com/v1)",
    ]
    assert all(case.get("classname") == "aws-us-east-1" for case in cases.values())
    failure = cases["Deployment pacman/pacman (apps/v1)"].find("failure")
    assert failure is not None
    assert failure.get("message") == "2 problems"
    assert failure.text == (
        "overrides/replicas.yaml:9:14: /spec/replicas: 'three' is not of type 'integer'\n"
        'templates/pacman.yaml:12:5: /spec/replica: unknown field "replica"\n'
    )
    service_failure = cases["Service pacman/pacman (v1)"].find("failure")
    assert service_failure is not None
    assert service_failure.get("message") == "/spec/ports/0/port: '80' is not of type 'integer'"
    assert (
        service_failure.text == "Service pacman/pacman: /spec/ports/0/port: '80' is not of type 'integer'\n"
    )
    assert cases["Namespace pacman (v1)"].find("failure") is None
    skipped = cases["Widget pacman/w (example.com/v1)"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "no schema for example.com/v1 Widget in Kubernetes 1.31"
    azure_cases = [case.get("name") for case in suites["azure-westeurope"].iter("testcase")]
    assert "Widget pacman/w (example.com/v1)" not in azure_cases


@pytest.mark.parametrize("name", sorted(FORMATTERS))
def test_every_format_is_deterministic_whatever_the_input_order(name: str) -> None:
    report = sample_report()
    shuffled = Report(
        report.kubernetes_version,
        report.strict,
        {cluster: list(reversed(objects)) for cluster, objects in reversed(list(report.checked.items()))},
        tuple(reversed(report.findings)),
        tuple(reversed(report.skipped)),
        report.distinct_objects,
    )
    assert FORMATTERS[name](shuffled) == FORMATTERS[name](report)
    assert FORMATTERS[name](report).endswith("\n")


def test_junit_is_valid_xml_with_declaration_and_escaping() -> None:
    finding = Finding(("a",), DEPLOY, "/metadata/annotations/x", "'<&>\"' is not of type 'integer'")
    text = format_junit(Report("1.31", True, {"a": [DEPLOY]}, [finding], distinct_objects=1))
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    failure = ET.fromstring(text).find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "/metadata/annotations/x: '<&>\"' is not of type 'integer'"
