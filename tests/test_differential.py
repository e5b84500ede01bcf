"""Each cluster's folder is the same whether it is rendered alone or among all the others.

Rendering many clusters at once shares work between them (one job per distinct template and patches,
one content per distinct file, worker processes); rendering one cluster shares nothing. A difference
is a bug in the sharing: it once gave a cluster another cluster's kustomization. The sources are the
bundled examples, whose clusters differ in what they get, and the golden cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Invoke, read_tree, varied_source
from test_benchmark_generate import make_root

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    *sorted(p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("examples/*/fanout.yaml")),
    "sample-repo",
    *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("tests/golden/*/source")),
    "varied",  # conftest.varied_source
    "generated",  # benchmarks/generate.py: overrides by selector, name and priority, substitution
]


@pytest.mark.parametrize("name", SOURCES)
def test_a_cluster_rendered_alone_matches_the_full_render(name: str, invoke: Invoke, tmp_path: Path) -> None:
    if name == "varied":
        source = varied_source(tmp_path / "src", clusters=24)
    elif name == "generated":
        source = make_root(tmp_path, clusters=16, templates=12, overrides=10, seed=3)
    else:
        source = ROOT / name
    full = tmp_path / "full"
    result = invoke("render", str(source), "--output-dir", str(full), "--no-cache", "--jobs", "2")
    assert result.exit_code == 0, result.output
    everything = read_tree(full)
    clusters = sorted({path.split("/", 1)[0] for path in everything if "/" in path})
    assert len(clusters) > 1
    for cluster in clusters:
        alone = tmp_path / f"alone-{cluster}"
        result = invoke("render", str(source), "--output-dir", str(alone), "--no-cache", "--cluster", cluster)
        assert result.exit_code == 0, result.output
        mine = {path: data for path, data in everything.items() if path.startswith(f"{cluster}/")}
        theirs = {path: data for path, data in read_tree(alone).items() if path != ".fanout-output.json"}
        assert mine == theirs, cluster


def test_the_output_does_not_depend_on_pythons_hash_seed(tmp_path: Path) -> None:
    """Sets and dicts keyed by strings iterate in an order that PYTHONHASHSEED picks per process (and per
    machine, where it is random): two runs of the real command line with different seeds, one of them with
    worker processes, write byte-identical folders."""
    import os
    import subprocess
    import sys

    source = varied_source(tmp_path / "src", clusters=24)
    trees = []
    for seed, jobs in (("1", "1"), ("2", "2")):
        out = tmp_path / f"out-{seed}"
        done = subprocess.run(
            [sys.executable, "-m", "fanout", "render", str(source), "--output-dir", str(out), "--jobs", jobs],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "FANOUT_CACHE_DIR": str(tmp_path / f"cache-{seed}")},
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        trees.append(read_tree(out))
    assert trees[0] == trees[1]
