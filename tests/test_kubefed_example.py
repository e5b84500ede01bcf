"""examples/kubefed renders as KubeFed would have propagated it: checked object by object."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, Invoke, read_tree
from kubefed_helpers import objects, warnings

EXAMPLE = ROOT / "examples" / "kubefed"

PROD = ("aws-eu-west-1", "aws-us-east-1", "azure-eastus", "azure-westeurope", "gcp-us-central1")
STAGING = "gcp-europe-west1"
EVERYWHERE = (
    "_cluster/clusterrole.rbac.authorization.k8s.io_pacman-reader.yaml",
    "_cluster/customresourcedefinition.apiextensions.k8s.io_leaderboards.games.example.com.yaml",
)
IN_NAMESPACE = (  # wherever the pacman FederatedNamespace goes: the production clusters
    "_cluster/namespace_pacman.yaml",
    "pacman/configmap_pacman-config.yaml",
    "pacman/deployment.apps_pacman.yaml",
    "pacman/service_pacman.yaml",
)
LEADERBOARD = "pacman/leaderboard.games.example.com_global.yaml"
MONGO = (
    "pacman/deployment.apps_mongo.yaml",
    "pacman/persistentvolumeclaim_mongo-data.yaml",
    "pacman/service_mongo.yaml",
)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from typer.testing import CliRunner

    from fanout.cli import app

    target = tmp_path_factory.mktemp("kubefed") / "rendered"
    result = CliRunner().invoke(
        app, ["render", str(EXAMPLE), "--output-dir", str(target)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return target


def test_every_cluster_gets_exactly_its_objects(out: Path) -> None:
    expected = {cluster: set(EVERYWHERE) | set(IN_NAMESPACE) for cluster in PROD}
    expected[STAGING] = set(EVERYWHERE)  # env=staging: outside the namespace's placement
    for aws in ("aws-eu-west-1", "aws-us-east-1"):
        expected[aws].add(LEADERBOARD)  # the custom resource's placement: cloud=aws
    expected["aws-us-east-1"].update(MONGO)  # placed by name
    assert {c.name: set(objects(out, c.name)) for c in out.iterdir() if c.is_dir()} == expected


def test_apply_order_puts_crd_and_namespace_first(out: Path) -> None:
    text = (out / "aws-us-east-1" / "kustomization.yaml").read_text()
    resources = [line[2:] for line in text.splitlines() if line.startswith("- ")]
    assert resources[:2] == [EVERYWHERE[1], "_cluster/namespace_pacman.yaml"]
    assert len(resources) == 10


def test_namespace(out: Path) -> None:
    for cluster in PROD:
        assert objects(out, cluster)["_cluster/namespace_pacman.yaml"] == {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "pacman", "labels": {"app.kubernetes.io/part-of": "pacman"}},
        }


def test_frontend_replicas_follow_the_replica_scheduling_preference(out: Path) -> None:
    replicas = {c: objects(out, c)["pacman/deployment.apps_pacman.yaml"]["spec"]["replicas"] for c in PROD}
    # The numbers the comment in templates/replica-scheduling.yaml promises.
    assert replicas == {
        "aws-us-east-1": 6,
        "aws-eu-west-1": 6,
        "azure-eastus": 4,
        "azure-westeurope": 3,
        "gcp-us-central1": 1,
    }
    comment = (EXAMPLE / "templates" / "replica-scheduling.yaml").read_text()
    assert "aws-us-east-1 6, aws-eu-west-1 6,\n# azure-eastus 4, azure-westeurope 3" in comment


def test_frontend_image_override_in_europe(out: Path) -> None:
    for cluster in PROD:
        deployment = objects(out, cluster)["pacman/deployment.apps_pacman.yaml"]
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        europe = cluster in ("aws-eu-west-1", "azure-westeurope")
        assert image.startswith("eu.gcr.io/") == europe, cluster
        assert deployment["metadata"] == {
            "name": "pacman",
            "namespace": "pacman",
            "labels": {"app": "pacman"},
        }


def test_service_keeps_annotations_and_adds_nlb_on_aws(out: Path) -> None:
    for cluster in PROD:
        annotations = objects(out, cluster)["pacman/service_pacman.yaml"]["metadata"]["annotations"]
        expected = {"external-dns.alpha.kubernetes.io/hostname": "pacman.example.com"}
        if cluster.startswith("aws-"):
            expected["service.beta.kubernetes.io/aws-load-balancer-type"] = "nlb"
        assert annotations == expected


def test_config_map(out: Path) -> None:
    for cluster in PROD:
        data = objects(out, cluster)["pacman/configmap_pacman-config.yaml"]["data"]
        assert data["HIGHSCORE_LIMIT"] == ("5" if cluster == "gcp-us-central1" else "10")
        assert 'wget -q -O /dev/null "http://localhost:${PORT:-8080}/health"' in data["healthcheck.sh"]


def test_custom_resource_from_the_type_config(out: Path) -> None:
    regions = {c: objects(out, c)[LEADERBOARD] for c in ("aws-eu-west-1", "aws-us-east-1")}
    assert regions["aws-us-east-1"] == {
        "apiVersion": "games.example.com/v1",
        "kind": "Leaderboard",
        "metadata": {"name": "global", "namespace": "pacman"},
        "spec": {"size": 10, "region": "global"},
    }
    assert regions["aws-eu-west-1"]["spec"] == {"size": 10, "region": "eu"}


def test_mongo_is_headless_and_single(out: Path) -> None:
    mongo = objects(out, "aws-us-east-1")
    assert mongo["pacman/service_mongo.yaml"]["spec"]["clusterIP"] == "None"
    assert mongo["pacman/deployment.apps_mongo.yaml"]["spec"]["replicas"] == 1
    assert mongo["pacman/persistentvolumeclaim_mongo-data.yaml"]["spec"]["resources"] == {
        "requests": {"storage": "8Gi"}
    }


def test_validate_is_clean(invoke: Invoke) -> None:
    assert warnings(invoke, EXAMPLE) == []


def test_rendering_twice_is_byte_identical(out: Path, tmp_path: Path, invoke: Invoke) -> None:
    again = tmp_path / "again"
    assert invoke("render", str(EXAMPLE), "--output-dir", str(again)).exit_code == 0
    assert read_tree(again) == read_tree(out)
