from __future__ import annotations

from typing import Any

import pytest

from fanout.core.substitute import Scan, Unresolved, resolve, substitute

LABELS = {"cloud": "aws", "topology.kubernetes.io/region": "us-east-1"}
VALUES: dict[str, Any] = {"replicas": 4, "flag": True, "db": {"size": "10Gi", "hosts": ["a", "b"]}}


def values(ref: str) -> Any:
    return resolve(ref, "east", LABELS, VALUES)


def test_resolve() -> None:
    assert values("cluster.name") == "east"
    assert values("cluster.labels.topology.kubernetes.io/region") == "us-east-1"
    assert values("cluster.values.db.size") == "10Gi"
    assert values("cluster.values.db.hosts.1") == "b"
    assert values("cluster.values.db") == {"size": "10Gi", "hosts": ["a", "b"]}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("cluster.labels.env", "label 'env' is not set (labels: cloud, topology.kubernetes.io/region)"),
        ("cluster.values.db.port", "values.db has no 'port' (it has: hosts, size)"),
        ("cluster.values.db.hosts.5", "values.db.hosts has no '5' (it has: list)"),
        (
            "cluster.region",
            "unknown reference: use cluster.name, cluster.labels.<key> or cluster.values.<path>",
        ),
        ("cluster", "unknown reference: use cluster.name, cluster.labels.<key> or cluster.values.<path>"),
    ],
)
def test_unresolved(ref: str, message: str) -> None:
    with pytest.raises(Unresolved, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        values(ref)


def test_scan_finds_references_and_escapes() -> None:
    scan = Scan().walk(
        {"a": ["${cluster.name}", "x ${cluster.values.replicas}"], "b": "$${keep} ${HOME}"}, ""
    )
    assert scan.refs == {"cluster.name": "/a/0", "cluster.values.replicas": "/a/1"}
    assert scan.escapes
    assert not Scan().walk({"a": "${HOME} ${clusterx}"}, "").escapes


def test_substitute_keeps_types_and_inserts_text() -> None:
    resolved = {"cluster.values.replicas": 4, "cluster.values.flag": True, "cluster.values.db": VALUES["db"]}
    value = {
        "n": "${cluster.values.replicas}",
        "s": "x${cluster.values.replicas}y",
        "b": "on=${cluster.values.flag}",
        "o": "${cluster.values.db}",
        "j": "db=${cluster.values.db}",
        "shell": "${HOME} $${cluster.values.replicas} ${cluster",
        "other": [1, None, 2.5],
    }
    assert substitute(value, resolved) == {
        "n": 4,
        "s": "x4y",
        "b": "on=true",
        "o": {"size": "10Gi", "hosts": ["a", "b"]},
        "j": 'db={"size":"10Gi","hosts":["a","b"]}',
        "shell": "${HOME} ${cluster.values.replicas} ${cluster",
        "other": [1, None, 2.5],
    }


def test_substituted_structures_are_copies() -> None:
    resolved = {"cluster.values.db": VALUES["db"]}
    result = substitute("${cluster.values.db}", resolved)
    result["size"] = "changed"
    assert VALUES["db"]["size"] == "10Gi"
