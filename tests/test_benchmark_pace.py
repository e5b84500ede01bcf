"""The benchmark says when its machine's disk changed pace during a run, instead of printing verdicts that
divide a slow moment by a fast one (benchmarks/bench.py, figure 0)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from test_benchmark_generate import load_script

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(SCRIPT, "benchmark_bench")


def test_a_probe_writes_its_files_into_a_folder_of_its_own(bench: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    seconds = bench.disk_probe(tmp_path, folders=3, files=4)
    assert seconds > 0
    probes = [p for p in tmp_path.iterdir() if p.name.startswith("disk-probe")]
    assert len(probes) == 1 and (tmp_path / "out").is_dir()
    files = [p for p in probes[0].rglob("*") if p.is_file()]
    assert len(files) == 3 * 4
    assert {p.stat().st_size for p in files} == {900}
    bench.disk_probe(tmp_path, folders=1, files=1)  # a second probe never writes into the first one's folder
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("disk-probe")]) == 2


def test_a_steady_disk_is_called_quiet_and_prints_no_warning(bench: ModuleType) -> None:
    row, warning = bench.pace_rows([0.20, 0.25, 0.29, 0.22])
    assert warning is None
    assert row[1] == "0.20 s to 0.29 s (1.4x spread)"
    assert row[3] == "quiet"
    assert "4 times" in row[0]


def test_a_disk_that_changed_pace_makes_the_verdicts_no_evidence(bench: ModuleType) -> None:
    row, warning = bench.pace_rows([0.2, 0.6, 0.25])
    assert row[3] == "**noisy**"
    assert row[1] == "0.20 s to 0.60 s (3.0x spread)"
    assert warning is not None and "3.0x" in warning and "not evidence" in warning


def _small_root(bench: ModuleType, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    src = tmp_path / "src"
    bench.generate(src, clusters=4, templates=6, overrides=3, seed=0)
    env = {**bench.os.environ, "FANOUT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    return src, env


def test_a_cold_render_times_runs_that_do_not_sample_and_measures_memory_once_more(
    bench: ModuleType, tmp_path: Path
) -> None:
    src, env = _small_root(bench, tmp_path)
    out = tmp_path / "out"
    run = bench.cold_render(src, out, tmp_path / "cache", env, 2)
    # Two timed renders and the one that samples, each into a folder that never existed: the last one's
    # output stays at OUT, the two before it were moved aside.
    assert len(list(tmp_path.glob("out-*"))) == 2
    assert len(list(out.glob("*/kustomization.yaml"))) == 4
    assert run.max_rss_mb > 0
    if Path("/proc/self/smaps_rollup").exists():
        assert run.tree_mb is not None and run.tree_mb > 0


def test_the_no_op_floor_stats_every_output_file(bench: ModuleType, tmp_path: Path) -> None:
    src, env = _small_root(bench, tmp_path)
    out = tmp_path / "out"
    bench.run_fanout(["render", str(src), "--output-dir", str(out)], env)
    start, proof, inputs, files = bench.fast_path_floors(src, out, env, 1)
    assert files == len([p for p in out.rglob("*") if p.is_file()])
    assert files == 4 * 6 + 4 + 1  # the objects, a kustomization per cluster, the marker
    assert min(start, proof, inputs) > 0
