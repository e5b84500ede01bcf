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


# The sample's documented prod/dev pair (clusters/gcp.yaml): same cloud and region, same labels but env.
PROD, DEV = "gcp-us-central1", "gcp-us-central1-dev"


def values() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((SAMPLE / "clusters").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[doc["metadata"]["name"]] = doc["spec"]["values"]
    return found


def test_the_pair_is_a_prod_and_a_dev_cluster_of_one_cloud_and_region() -> None:
    prod, dev = labels()[PROD], labels()[DEV]
    assert (prod["env"], dev["env"]) == ("prod", "dev")
    assert {k: v for k, v in prod.items() if k != "env"} == {k: v for k, v in dev.items() if k != "env"}
    assert prod["cloud"] == dev["cloud"] == "gcp" and prod["region"] == dev["region"] == "us-central1"
    assert values()[PROD]["replicas"] != values()[DEV]["replicas"]
    assert values()[PROD]["domain"] != values()[DEV]["domain"]


def is_replicas_or_domain(path: str, before: Any, after: Any) -> bool:
    """True when a changed field is the replica count or a value built from the cluster's domain."""
    prod, dev = values()[PROD], values()[DEV]
    if path == "/spec/replicas":
        return (before, after) == (prod["replicas"], dev["replicas"])
    return (
        isinstance(before, str)
        and prod["domain"] in before
        and before.replace(prod["domain"], dev["domain"]) == after
    )


def test_prod_against_dev_shows_the_replica_and_domain_differences_and_nothing_else(sample: Path) -> None:
    """Issue 4's check, literally: ``fanout diff --clusters <prod> <dev> sample-repo``."""
    code, out, _ = fanout("diff", "--clusters", PROD, DEV, str(sample), "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["summary"] == {
        "clustersCompared": 1,
        "clustersChanged": 1,
        "added": 0,
        "removed": 0,
        "changed": 3,
    }
    (group,) = document["groups"]
    assert {o["status"] for o in group["objects"]} == {"changed"}
    fields = [
        (o["kind"], f["path"], f["op"], f["before"], f["after"])
        for o in group["objects"]
        for f in o["fields"]
    ]
    assert all(op == "changed" for _, _, op, _, _ in fields)
    assert [
        (kind, path)
        for kind, path, _, before, after in fields
        if not is_replicas_or_domain(path, before, after)
    ] == []
    assert [(kind, path) for kind, path, *_ in fields] == [
        ("ConfigMap", "/data/backup.sh"),  # the backup archive is named after the domain
        ("Deployment", "/spec/replicas"),
        ("Deployment", "/spec/template/spec/containers/0/env/2/value"),  # PUBLIC_URL
        ("Service", "/metadata/annotations/external-dns.alpha.kubernetes.io~1hostname"),
    ]

    code, text, _ = fanout("diff", "--clusters", PROD, DEV, str(sample), "--format", "text")
    assert code == 0
    lines = text.splitlines()
    removed = [line[1:] for line in lines if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    assert lines[0] == f"fanout diff: cluster {PROD} → cluster {DEV}: objects: 0 added, 0 removed, 3 changed"
    assert not any(line.startswith(("+ added", "- removed")) for line in lines)
    prod, dev = values()[PROD], values()[DEV]
    expected = [
        line.replace(prod["domain"], dev["domain"]).replace(
            f"replicas: {prod['replicas']}", f"replicas: {dev['replicas']}"
        )
        for line in removed
    ]
    assert added == expected and len(added) == 4
    assert f"-  replicas: {prod['replicas']}" in lines and f"+  replicas: {dev['replicas']}" in lines
    hostname = "    external-dns.alpha.kubernetes.io/hostname: pacman."
    assert f"-{hostname}{prod['domain']}" in lines and f"+{hostname}{dev['domain']}" in lines


def test_the_pair_renders_alike_once_replicas_and_domain_are_set_aside(tmp_path: Path) -> None:
    """The same property, checked without ``diff``: the two rendered folders, file by file."""
    code, _, _ = fanout(
        "render", str(SAMPLE), "--output-dir", str(tmp_path / "out"), "--cluster", PROD, "--cluster", DEV
    )
    assert code == 0
    prod, dev = values()[PROD], values()[DEV]

    def tree(name: str) -> dict[str, str]:
        root = tmp_path / "out" / name
        return {
            str(path.relative_to(root)): path.read_text(encoding="utf-8")
            for path in sorted(root.rglob("*.yaml"))
        }

    prod_tree, dev_tree = tree(PROD), tree(DEV)
    assert sorted(prod_tree) == sorted(dev_tree)
    assert len(prod_tree) > 5
    for name, text in prod_tree.items():
        normalised = text.replace(prod["domain"], dev["domain"]).replace(
            f"replicas: {prod['replicas']}\n", f"replicas: {dev['replicas']}\n"
        )
        assert normalised == dev_tree[name], name


def test_a_dev_cluster_outside_the_pair_also_differs_in_the_env_specific_sources(sample: Path) -> None:
    """Against the other dev cluster (another region, no "ha" label, its own inline override), the
    sample's env-specific sources show: high-availability sizing and objects, storage, the DEBUG variable."""
    code, out, _ = fanout("diff", "--clusters", "gcp-asia-northeast1", PROD, str(sample), "-f", "json")
    assert code == 0
    found = fields_by_object(json.loads(out))
    resources = [
        f"/spec/template/spec/containers/0/resources/{r}"
        for r in ("requests/cpu", "requests/memory", "limits/memory")
    ]
    profile = "/metadata/labels/pacman.example.com~1profile"
    assert found == {
        "added ConfigMap/mongo-backup-script": [],
        "added CronJob/mongo-backup": [],
        "changed Deployment/mongo": [profile, *resources],
        "changed Deployment/pacman": [
            profile,
            "/spec/replicas",
            "/spec/template/spec/containers/0/env/2/value",  # PUBLIC_URL, from the domain
            "/spec/template/spec/containers/0/env/3/value",  # CLUSTER_LOCATION, from the region
            "/spec/template/spec/containers/0/env/4",  # the Tokyo dev cluster's inline DEBUG override
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
    prod = clusters_where(lambda have: have.get("ha") == "true")
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
    assert code == 3
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
    assert "inline override for cluster gcp-asia-northeast1 (spec.overrides)" in out
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
    prod = clusters_where(lambda have: have.get("ha") == "true")
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
