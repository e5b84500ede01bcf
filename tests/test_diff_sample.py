"""``fanout diff`` and ``fanout explain`` on the bundled sample repository, copied into a git repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fanout.cli import app
from tests.gitutil import commit_all, init_repo

SAMPLE = Path(__file__).resolve().parent.parent / "sample-repo"
runner = CliRunner()


def fanout(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """The sample source root as ``sample-repo/`` of a fresh repository, committed."""
    repo = init_repo(tmp_path / "repo")
    shutil.copytree(SAMPLE, repo / "sample-repo")
    commit_all(repo, "sample")
    return repo / "sample-repo"


def labels() -> dict[str, dict[str, str]]:
    found = {}
    for path in sorted((SAMPLE / "clusters").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[doc["metadata"]["name"]] = doc["metadata"].get("labels") or {}
    return found


def clusters_where(test: Any) -> list[str]:
    return sorted(name for name, have in labels().items() if test(have))


def fields_by_object(document: dict[str, Any]) -> dict[str, list[str]]:
    (group,) = document["groups"]
    return {
        f"{o['status']} {o['kind']}/{o['name']}": [f["path"] for f in o.get("fields", [])]
        for o in group["objects"]
    }


def test_prod_against_dev_shows_what_the_sources_make_different(sample: Path) -> None:
    """Between a dev and a prod cluster of one cloud: replicas and domain, plus exactly what the sample's
    env-specific sources add (prod resources and tier label, prod-only objects, storage, the dev DEBUG
    variable), and nothing that the sources do not make different."""
    code, out, _ = fanout(
        "diff", "--clusters", "gcp-asia-northeast1", "gcp-us-central1", str(sample), "-f", "json"
    )
    assert code == 0
    found = fields_by_object(json.loads(out))
    resources = [
        f"/spec/template/spec/containers/0/resources/{r}"
        for r in ("requests/cpu", "requests/memory", "limits/memory")
    ]
    tier = "/metadata/labels/pacman.example.com~1tier"
    assert found == {
        "added ConfigMap/mongo-backup-script": [],
        "added CronJob/mongo-backup": [],
        "changed Deployment/mongo": [tier, *resources],
        "changed Deployment/pacman": [
            tier,
            "/spec/replicas",
            "/spec/template/spec/containers/0/env/2/value",  # PUBLIC_URL, from the domain
            "/spec/template/spec/containers/0/env/3/value",  # CLUSTER_LOCATION, from the region
            "/spec/template/spec/containers/0/env/4",  # the dev cluster's inline DEBUG override
            *resources,
        ],
        "added PersistentVolumeClaim/mongo-backups": [],
        "changed PersistentVolumeClaim/mongo-storage": [
            "/spec/storageClassName",
            "/spec/resources/requests/storage",
        ],
        "added PodDisruptionBudget/pacman": [],
        "changed Service/pacman": ["/metadata/annotations/external-dns.alpha.kubernetes.io~1hostname"],
    }
    _, text, _ = fanout("diff", "--clusters", "gcp-asia-northeast1", "gcp-us-central1", str(sample))
    lines = text.splitlines()
    assert "-  replicas: 1" in lines and "+  replicas: 4" in lines
    assert (
        "-    external-dns.alpha.kubernetes.io/hostname: pacman.asia-northeast1.gcp.dev.pacman.example.com"
        in lines
    )
    assert (
        "+    external-dns.alpha.kubernetes.io/hostname: pacman.us-central1.gcp.pacman.example.com" in lines
    )


def test_two_prod_clusters_differ_in_replicas_domain_and_the_backup(sample: Path) -> None:
    code, out, _ = fanout("diff", "--clusters", "aws-eu-west-1", "aws-us-east-1", str(sample), "-f", "json")
    assert code == 0
    changed = {k: v for k, v in fields_by_object(json.loads(out)).items() if k.startswith("changed")}
    assert changed == {
        "changed Deployment/pacman": [
            "/spec/replicas",
            "/spec/template/spec/containers/0/env/2/value",
            "/spec/template/spec/containers/0/env/3/value",
        ],
        "changed Service/pacman": ["/metadata/annotations/external-dns.alpha.kubernetes.io~1hostname"],
    }


def test_an_edited_override_shows_exactly_the_clusters_it_reaches_grouped(sample: Path) -> None:
    path = sample / "overrides/env/resources.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("value: 500m", "value: 750m"), encoding="utf-8")
    code, out, _ = fanout("diff", "--base", "HEAD", str(sample), "-f", "json")
    assert code == 0
    document = json.loads(out)
    prod = clusters_where(lambda have: have.get("env") == "prod")
    assert [c["name"] for c in document["clusters"] if c["status"] != "unchanged"] == prod
    # The same change everywhere, although each cluster's diff has its own context lines: one group.
    (group,) = document["groups"]
    assert group["clusters"] == prod
    assert [(o["kind"], o["name"]) for o in group["objects"]] == [
        ("Deployment", "mongo"),
        ("Deployment", "pacman"),
    ]
    for change in group["objects"]:
        assert change["fields"] == [
            {
                "path": "/spec/template/spec/containers/0/resources/requests/cpu",
                "op": "changed",
                "before": "500m",
                "after": "750m",
            }
        ]
    _, text, _ = fanout("diff", "--base", "HEAD", str(sample))
    assert f"== the same change in {len(prod)} clusters: {', '.join(prod)}" in text.splitlines()


def test_an_edited_cloud_override_reaches_only_that_clouds_placed_clusters(sample: Path) -> None:
    path = sample / "overrides/cloud/load-balancers.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("aws-load-balancer-scheme: internet-facing", "aws-load-balancer-scheme: internal")
    )
    code, out, _ = fanout("diff", "--base", "HEAD", str(sample), "--exit-code", "-f", "markdown")
    assert code == 1
    # The Service is placed with "!quarantine": the quarantined AWS cluster has none to change.
    reached = clusters_where(lambda have: have.get("cloud") == "aws" and "quarantine" not in have)
    assert len(reached) == 3
    summaries = [line for line in out.splitlines() if line.startswith("<summary>")]
    names = ", ".join(f"<code>{n}</code>" for n in reached)
    assert summaries == [f"<summary>the same change in 3 clusters: {names} (1 changed)</summary>"]
    assert "-    service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing" in out.splitlines()
    assert "+    service.beta.kubernetes.io/aws-load-balancer-scheme: internal" in out.splitlines()


def test_explain_on_the_sample(sample: Path) -> None:
    code, out, _ = fanout(
        "explain",
        "gcp-asia-northeast1",
        "deployment/pacman",
        str(sample),
        "--field",
        "/spec/template/spec/containers/0/env",
    )
    assert code == 0
    assert "templates/frontend/deployment.yaml" in out
    assert "inline KubeFed override for cluster gcp-asia-northeast1 (spec.overrides)" in out
    code, out, _ = fanout("explain", "aws-ap-southeast-1", "deployment/pacman", str(sample))
    assert code == 1
    assert "  - !quarantine fails (the cluster has quarantine=true)" in out.splitlines()


def test_two_edits_give_one_section_each_whatever_clusters_they_share(sample: Path) -> None:
    resources = sample / "overrides/env/resources.yaml"
    resources.write_text(resources.read_text(encoding="utf-8").replace("value: 500m", "value: 750m"))
    balancers = sample / "overrides/cloud/load-balancers.yaml"
    text = balancers.read_text(encoding="utf-8")
    balancers.write_text(text.replace("scheme: internet-facing", "scheme: internal"))
    code, out, _ = fanout("diff", "--base", "HEAD", str(sample), "-f", "json")
    assert code == 0
    document = json.loads(out)
    prod = clusters_where(lambda have: have.get("env") == "prod")
    aws = clusters_where(lambda have: have.get("cloud") == "aws" and "quarantine" not in have)
    sections = [
        (g["clusters"], [o["kind"] + "/" + o["name"] for o in g["objects"]]) for g in document["groups"]
    ]
    assert sections == [
        (prod, ["Deployment/mongo", "Deployment/pacman"]),
        (aws, ["Service/pacman"]),
    ]
    both = sorted(set(prod) & set(aws))
    assert both and all(c["groups"] == [0, 1] for c in document["clusters"] if c["name"] in both)
