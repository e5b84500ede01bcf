"""API versions Kubernetes no longer serves are rendered as written, with a located warning.

Material from the federation years is full of them (the 2017 Pac-Man's extensions/v1beta1 Deployments,
KubeFed 0.1's extensions/v1beta1 Ingress type config): the render is faithful, and the warning says
that a sync agent's apply will fail on every cluster of today, and what to write instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CLUSTERS, ROOT, Invoke, write_tree

from fanout.kube.kinds import REMOVED_APIS

WARNING = re.compile(r"^(?P<where>[^:]+:\d+:\d+): warning: (?P<message>.+)$")


def _warnings(stderr: str) -> list[tuple[str, str]]:
    return [(m["where"], m["message"]) for m in map(WARNING.match, stderr.splitlines()) if m]


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        (
            "extensions/v1beta1",
            "Deployment",
            "since 1.16, so clusters of today refuse it; render it as apps/v1",
        ),
        ("batch/v1beta1", "CronJob", "since 1.25, so clusters of today refuse it; render it as batch/v1"),
        ("apps/v1", "Deployment", None),
        ("batch/v1", "CronJob", None),
    ],
)
def test_a_removed_version_warns_at_its_apiversion(
    api_version: str, kind: str, expected: str | None, tmp_path: Path, invoke: Invoke
) -> None:
    manifest = f"# an old manifest\napiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: web, namespace: shop}}\n"
    root = write_tree(tmp_path / "src", {"clusters/all.yaml": CLUSTERS, "templates/web.yaml": manifest})
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    warnings = _warnings(result.stderr)
    if expected is None:
        assert warnings == []
    else:
        assert warnings == [
            (
                "templates/web.yaml:2:1",
                f"{kind}.{api_version.split('/')[0]} shop/web: Kubernetes"
                f" has not served {api_version} {expected}"
                " (`fanout validate --kubernetes` lists what else that version needs)",
            )
        ]
        assert (root / "rendered" / "aws-east" / "shop").is_dir()  # rendered as written all the same


def test_the_2017_pacman_is_told_its_deployments_are_gone(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("validate", str(ROOT / "examples" / "pacman-2017-federation-v1"))
    assert result.exit_code == 0, result.output
    found = _warnings(result.stderr)
    assert [where.split(":")[0] for where, _ in found] == [
        "templates/deployments/mongo-deployment-rs.yaml",
        "templates/deployments/pacman-deployment-rs.yaml",
    ]
    assert all("not served extensions/v1beta1 since 1.16" in message for _, message in found)


def test_every_entry_names_a_served_replacement() -> None:
    for (old, kind), removal in REMOVED_APIS.items():
        assert old != removal.use and (removal.use, kind) not in REMOVED_APIS, (old, kind)
        assert re.fullmatch(r"1\.\d\d", removal.release)
