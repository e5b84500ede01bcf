"""``fanout clusters``: the inventory table and the placement matrix, in-process."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, Invoke


def test_table_counts_objects_placed(invoke: Invoke) -> None:
    result = invoke("clusters", str(ROOT / "sample-repo"))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "LABELS", "OBJECTS"]
    rows = {line.split()[0]: line.split()[-1] for line in lines[1:]}
    assert len(rows) == 10
    # the quarantined cluster gets only what is placed on every cluster or by name
    assert rows["aws-ap-southeast-1"] == "4"
    assert rows["aws-us-east-1"] == "10"
    # the sample's prod/dev pair gets the same objects
    assert rows["gcp-us-central1-dev"] == rows["gcp-us-central1"] == "10"


def test_matrix_marks_where_each_template_lands(invoke: Invoke, source: Path) -> None:
    (source / "templates/cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: shop\n"
        "  annotations: {fanout.dev/placement: env=prod}\n"
    )
    result = invoke("clusters", "--matrix", str(source))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1].endswith("x  x  .")  # ConfigMap shop/x: prod clusters only
    assert lines[2].endswith("x  x  x")
    assert lines[-3:] == ["  1  aws-east", "  2  azure-west", "  3  gcp-dev"]


def test_errors_are_reported_like_everywhere_else(invoke: Invoke, source: Path) -> None:
    (source / "templates/bad.yaml").write_text("a: [\n")
    result = invoke("clusters", str(source))
    assert result.exit_code == 1
    assert result.stderr.startswith("templates/bad.yaml:2:1: invalid YAML")


def test_karmada_members_show_what_karmada_places_by(invoke: Invoke) -> None:
    """Provider, region, zones, taints and served APIs: what a Karmada policy's affinity, tolerations and
    API checks read, beside the labels (examples/karmada/shop; staging lists its APIs in its status)."""
    result = invoke("clusters", str(ROOT / "examples/karmada/shop"))
    assert result.exit_code == 0, result.output
    assert [line.split() for line in result.stdout.splitlines()] == [
        ["NAME", "LABELS", "OBJECTS", "PROVIDER", "REGION", "ZONES", "TAINTS", "APIS"],
        ["edge-1", "env=prod", "5", "onprem", "-", "-", "edge=true:NoSchedule", "all"],
        ["eu-west-1", "env=prod,tier=gold", "12", "aws", "eu-west", "eu-west-1a,eu-west-1b", "-", "all"],
        ["eu-west-2", "env=prod", "10", "aws", "eu-west", "eu-west-2a", "-", "all"],
        ["staging", "env=staging", "1", "aws", "eu-west", "-", "-", "9", "kinds"],
        ["us-east-1", "env=prod,tier=gold", "10", "gcp", "us-east", "us-east1-b", "-", "all"],
    ]
    listed = json.loads(invoke("clusters", str(ROOT / "examples/karmada/shop"), "-o", "json").stdout)
    members = {c["name"]: c for c in listed["clusters"]}
    assert members["edge-1"]["karmada"] == {
        "provider": "onprem",
        "region": "",
        "zones": [],
        "taints": [{"key": "edge", "value": "true", "effect": "NoSchedule"}],
    }
    assert len(members["staging"]["karmada"]["apiEnablements"]) == 9
    assert {"groupVersion": "apps/v1", "kind": "Deployment"} in members["staging"]["karmada"][
        "apiEnablements"
    ]
    # Clusters of other formats have no such facts: neither the columns nor the key.
    plain = invoke("clusters", str(ROOT / "sample-repo"), "-o", "json")
    assert all("karmada" not in c for c in json.loads(plain.stdout)["clusters"])
