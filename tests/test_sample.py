"""The bundled sample repository: valid, deterministic, and its committed output is current."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT, Invoke, read_tree

SAMPLE = ROOT / "sample-repo"


def test_committed_output_is_current(invoke: Invoke) -> None:
    result = invoke("render", str(SAMPLE), "--check")
    assert result.exit_code == 0, (
        f"sample-repo/rendered is stale; run `fanout render sample-repo`\n{result.output}"
    )


def test_rendering_twice_gives_identical_trees(invoke: Invoke, tmp_path: Path) -> None:
    for name in ("one", "two"):
        assert invoke("render", str(SAMPLE), "--output-dir", str(tmp_path / name)).exit_code == 0
    assert read_tree(tmp_path / "one") == read_tree(tmp_path / "two")
    assert read_tree(tmp_path / "one") == read_tree(SAMPLE / "rendered")


def test_sample_validates(invoke: Invoke) -> None:
    result = invoke("validate", str(SAMPLE))
    assert result.exit_code == 0, result.output
    assert "10 clusters" in result.stdout
