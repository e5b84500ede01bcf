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
