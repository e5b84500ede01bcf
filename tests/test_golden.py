"""Golden-file tests, as black does them: each folder under tests/golden holds a source root
(``source/``) and the output fanout must render from it (``expected/``).

Set FANOUT_UPDATE_GOLDEN=1 to rewrite the expected folders after a deliberate change, then
review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import Invoke, read_tree

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "source").is_dir())


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, tmp_path: Path, invoke: Invoke) -> None:
    out = tmp_path / "out"
    result = invoke("render", str(GOLDEN / case / "source"), "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    expected = GOLDEN / case / "expected"
    if os.environ.get("FANOUT_UPDATE_GOLDEN"):
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(out, expected)
    assert read_tree(out) == read_tree(expected)


def test_every_case_has_expected_output() -> None:
    assert CASES, "no golden cases found"
    for case in CASES:
        assert (GOLDEN / case / "expected").is_dir(), f"{case} has no expected/ folder"


def test_every_committed_kustomization_lists_exactly_its_folder() -> None:
    # Expected outputs were written by fanout itself, so check them against something fanout did not
    # compute: the files actually in each cluster's folder (a kustomization once listed another
    # cluster's objects; see test_parallel.test_each_cluster_gets_its_own_kustomization).
    import yaml

    root = GOLDEN.parent.parent
    folders = [GOLDEN / case / "expected" for case in CASES]
    folders += [p.parent for p in root.glob("examples/*/*/.fanout-output.json")]
    folders += [p.parent for p in root.glob("sample-repo/*/.fanout-output.json")]
    checked = 0
    for folder in folders:
        for kustomization in folder.glob("*/kustomization.yaml"):
            cluster = kustomization.parent
            listed = yaml.safe_load(kustomization.read_text(encoding="utf-8"))["resources"]
            present = {p.relative_to(cluster).as_posix() for p in cluster.rglob("*.yaml")}
            assert sorted(listed) == sorted(present - {"kustomization.yaml"}), kustomization
            checked += 1
    assert checked >= 40
