"""Karmada's own unit-test vectors (tests/upstream/karmada-f8fdd02/vectors.yaml), run against fanout's copy of
each algorithm; the claim vectors run through a real render, one member cluster per competing policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, Invoke, write_tree

from fanout.formats.karmada_override import apply_overriders
from fanout.formats.karmada_rules import (
    ClusterFacts,
    cluster_matches,
    divide,
    override_image,
    parse_image,
    static_weights,
    webster,
)

VECTORS: dict[str, Any] = yaml.safe_load(
    (ROOT / "tests" / "upstream" / "karmada-f8fdd02" / "vectors.yaml").read_text(encoding="utf-8")
)


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["test"] for case in cases]


@pytest.mark.parametrize("case", VECTORS["webster"], ids=_ids(VECTORS["webster"]))
def test_webster_seats_as_karmada(case: dict[str, Any]) -> None:
    assert webster(case["seats"], case["votes"], bool(case.get("descending"))) == case["want"]


def _member(name: str, labels: dict[str, str] | None = None, **facts: Any) -> ClusterFacts:
    return ClusterFacts(
        name,
        labels or {},
        facts.get("provider", ""),
        facts.get("region", ""),
        tuple(facts.get("zones", ())),
        (),
        None,
    )


@pytest.mark.parametrize("case", VECTORS["static_weight"], ids=_ids(VECTORS["static_weight"]))
def test_static_weight_division_as_karmada(case: dict[str, Any]) -> None:
    members = [_member(name) for name in case["clusters"]]
    rules = (
        [{"targetCluster": {"clusterNames": w["names"]}, "weight": w["weight"]} for w in case["weights"]]
        if "weights" in case
        else None
    )
    seats, _tie = divide(case["replicas"], static_weights(members, rules))
    assert seats == case["want"]


@pytest.mark.parametrize("case", VECTORS["image_parse"], ids=_ids(VECTORS["image_parse"]))
def test_image_parse_as_karmada(case: dict[str, Any]) -> None:
    image = parse_image(case["image"])
    assert str(image) == case["image"]
    assert (image.hostname, image.repository, image.tag, image.digest) == (
        case["hostname"],
        case["repository"],
        case["tag"],
        case["digest"],
    )


@pytest.mark.parametrize("case", VECTORS["image_override"], ids=_ids(VECTORS["image_override"]))
def test_image_override_as_karmada(case: dict[str, Any]) -> None:
    assert override_image(case["image"], case["component"], case["operator"], case["value"]) == case["want"]


MATCHES = VECTORS["cluster_matches"]


@pytest.mark.parametrize("case", MATCHES["cases"], ids=_ids(MATCHES["cases"]))
def test_cluster_matches_as_karmada(case: dict[str, Any]) -> None:
    written = MATCHES["cluster"]
    member = _member(
        written["name"],
        written["labels"],
        provider=written["provider"],
        region=written["region"],
        zones=written["zones"],
    )
    assert cluster_matches(member, case["affinity"]) is case["want"]


def _claim_source(root: Path, policies: list[dict[str, Any]]) -> Path:
    clusters = "".join(
        f"---\napiVersion: cluster.karmada.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: {p['name']}\n"
        for p in policies
    )
    documents = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "nginx", "namespace": "test", "labels": {"app": "nginx"}},
            "spec": {
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
                },
            },
        }
    ]
    for policy in policies:
        spec: dict[str, Any] = {
            "resourceSelectors": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "test", **policy["selector"]}
            ],
            "placement": {"clusterAffinity": {"clusterNames": [policy["name"]]}},
        }
        if "priority" in policy:
            spec["priority"] = policy["priority"]
        documents.append(
            {
                "apiVersion": "policy.karmada.io/v1alpha1",
                "kind": "PropagationPolicy",
                "metadata": {"name": policy["name"], "namespace": "test"},
                "spec": spec,
            }
        )
    return write_tree(
        root,
        {
            "clusters/members.yaml": clusters,
            "templates/all.yaml": yaml.safe_dump_all(documents, sort_keys=False),
        },
    )


@pytest.mark.parametrize("case", VECTORS["claim"], ids=_ids(VECTORS["claim"]))
def test_the_claiming_policy_is_karmadas(case: dict[str, Any], tmp_path: Path, invoke: Invoke) -> None:
    root = _claim_source(tmp_path / "src", case["policies"])
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    placed = sorted(
        p.parent.parent.name for p in (root / "rendered").glob("*/test/deployment.apps_nginx.yaml")
    )
    assert placed == [case["want"]]


@pytest.mark.parametrize("case", VECTORS["field_overrider"], ids=_ids(VECTORS["field_overrider"]))
def test_field_overrider_writes_back_as_karmada(case: dict[str, Any]) -> None:
    which = "yaml" if "yaml" in case else "json"
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "test1"},
        "data": {"f": case["field"]},
    }
    result, ops = apply_overriders(
        obj, "ConfigMap", {"fieldOverrider": [{"fieldPath": "/data/f", which: case[which]}]}, ""
    )
    assert result["data"]["f"] == case["want"]
    assert [(op.op, op.path) for op in ops] == [("replace", "/data/f")]


def _workload(kind: str) -> dict[str, Any]:
    container = {"image": "nginx", "name": "nginx", "command": ["nginx", "-v", "-t"]}
    if kind == "Pod":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": "nginx"},
            "spec": {"containers": [container]},
        }
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "nginx"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


@pytest.mark.parametrize("case", VECTORS["image_predicate"], ids=_ids(VECTORS["image_predicate"]))
def test_image_overrider_with_a_predicate_as_karmada(case: dict[str, Any]) -> None:
    obj = _workload(case["kind"])
    obj["spec"]["template"]["spec"]["containers"] = [
        {"name": "c", "image": image} for image in case["images"]
    ]
    overrider = {
        "predicate": {"path": case["path"]},
        "component": case["component"],
        "operator": case["operator"],
        "value": case["value"],
    }
    result, ops = apply_overriders(obj, case["kind"], {"imageOverrider": [overrider]}, "")
    assert [(op.op, op.path, op.value) for op in ops] == [("replace", case["path"], case["want"])]
    images = [c["image"] for c in result["spec"]["template"]["spec"]["containers"]]
    index = int(case["path"].split("/")[-2])
    assert images == [case["want"] if i == index else image for i, image in enumerate(case["images"])]


@pytest.mark.parametrize("case", VECTORS["command_args"], ids=_ids(VECTORS["command_args"]))
def test_command_overrider_as_karmada(case: dict[str, Any]) -> None:
    overrider = {"containerName": "nginx", "operator": case["operator"], "value": case["value"]}
    result, ops = apply_overriders(
        _workload(case["kind"]), case["kind"], {"commandOverrider": [overrider]}, ""
    )
    assert [(op.op, op.path, op.value) for op in ops] == [("replace", case["path"], case["want"])]
    containers = (
        result["spec"]["containers"]
        if case["kind"] == "Pod"
        else result["spec"]["template"]["spec"]["containers"]
    )
    assert containers[0]["command"] == case["want"]


@pytest.mark.parametrize("case", VECTORS["labels"], ids=_ids(VECTORS["labels"]))
def test_labels_overrider_as_karmada(case: dict[str, Any]) -> None:
    obj = _workload("Deployment")
    if case["labels"] is not None:
        obj["metadata"]["labels"] = dict(case["labels"])
    overrider = {"operator": case["operator"], "value": case["value"]}
    result, _ops = apply_overriders(obj, "Deployment", {"labelsOverrider": [overrider]}, "")
    assert result["metadata"]["labels"] == case["want"]
