"""--jobs: worker processes render exactly what one process renders, and report errors the same way."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Invoke, app_of, read_tree, varied_source, write_tree
from test_benchmark_generate import make_root

from fanout.commands.common import open_source
from fanout.core.errors import FanoutError
from fanout.output import parallel
from fanout.output.cache import code_digest, load_state
from fanout.output.parallel import render_files
from fanout.render.place import plan


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    return make_root(tmp_path, clusters=30, templates=24, overrides=12)


def test_jobs_1_and_2_write_identical_trees(generated: Path, invoke: Invoke, tmp_path: Path) -> None:
    trees = []
    for jobs in ("1", "2", "3"):
        out = tmp_path / f"out-{jobs}"
        result = invoke("render", str(generated), "--output-dir", str(out), "--jobs", jobs, "--no-cache")
        assert result.exit_code == 0, result.output
        assert "30 clusters, 720 objects" in result.stdout
        trees.append(read_tree(out))
    assert trees[0] == trees[1] == trees[2]
    assert len(trees[0]) == 30 * 25 + 1  # objects, a kustomization per cluster, the marker


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_worker_processes_give_the_in_process_result(generated: Path, method: str) -> None:
    inputs = open_source(generated).inputs
    plans = plan(inputs)
    alone = render_files(inputs, plans, jobs=1)
    together = render_files(inputs, plans, jobs=2, method=method)
    assert together.clusters == alone.clusters  # the same paths and digests, in plan order
    assert together.contents == alone.contents
    assert [c.name for c in together.clusters] == sorted(c.name for c in inputs.clusters)


def test_shared_objects_are_sent_once(generated: Path) -> None:
    inputs = open_source(generated).inputs
    rendered = render_files(inputs, plan(inputs), jobs=1)
    files = sum(len(c.paths) for c in rendered.clusters)
    assert len(rendered.contents) < files * 0.7  # many objects are the same in many clusters


BROKEN = """
apiVersion: v1
kind: ConfigMap
metadata: {name: broken, namespace: shop}
data: {URL: "https://${cluster.values.missing}/"}
"""


def test_errors_are_the_same_with_any_number_of_jobs(generated: Path, invoke: Invoke, tmp_path: Path) -> None:
    write_tree(generated, {"templates/zz-broken.yaml": BROKEN})
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}"
        result = invoke("render", str(generated), "--output-dir", str(out), "--jobs", jobs)
        assert result.exit_code == 1
        assert not out.exists()  # nothing written
        outputs.append(result.stderr)
    assert outputs[0] == outputs[1]
    assert "templates/zz-broken.yaml:4:" in outputs[0]
    assert "undefined for clusters" in outputs[0] and "and 22 more" in outputs[0]


@pytest.mark.parametrize("jobs", [1, 2])
def test_rendering_in_batches_changes_no_byte(
    generated: Path, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = open_source(generated).inputs
    plans = plan(inputs)
    whole = render_files(inputs, plans, jobs=jobs)
    monkeypatch.setattr(parallel, "BATCH", 4)  # several batches per chunk (30 clusters)
    batched = render_files(inputs, plans, jobs=jobs)
    assert batched.clusters == whole.clusters
    assert dict(batched.contents.items()) == dict(whole.contents.items())


def test_a_problem_in_one_batch_still_reports_every_cluster(
    generated: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(generated, {"templates/zz-broken.yaml": BROKEN})
    monkeypatch.setattr(parallel, "BATCH", 4)
    result = invoke("render", str(generated), "--output-dir", str(tmp_path / "out"), "--jobs", "1")
    assert result.exit_code == 1
    assert "undefined for clusters" in result.stderr and "and 22 more" in result.stderr


# Every kind of problem a render reports per cluster: an undefined value, a patch that fails in some
# clusters only, substitution over the limit, two objects for one file.
PROBLEMS = {
    "templates/zz-broken.yaml": BROKEN,
    "templates/zz-twice.yaml": (
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: twice, namespace: shop}\n---\n"
        "apiVersion: example.com/v1\nkind: widget\nmetadata: {name: twice, namespace: shop}\n"
    ),
    "templates/zz-big.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: shop}\n"
        "data: {a: '${cluster.name}${cluster.name}${cluster.name}${cluster.name}'}\n"
    ),
    "templates/zz-patched.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: patched, namespace: shop}\n",
    "overrides/zz-fails.yaml": (
        "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: fails}\n"
        "spec:\n  clusters: {clusterSelector: {matchLabels: {env: dev}}}\n  resources: [{kind: ConfigMap, name: patched}]\n"
        "  patch: [{op: replace, path: /data/missing, value: '${cluster.name}'}]\n"
    ),
}


@pytest.mark.parametrize("memo", [1, 3, 20_000])
def test_checking_plans_reports_what_rendering_them_reports(
    generated: Path, memo: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check_plans`` (``validate``, and the report of a render that failed in workers) keeps nothing, and
    its lean renderer forgets objects: the problems must still be exactly the full rendering's."""
    from fanout.render import pipeline

    valid_inputs = open_source(generated).inputs
    count = len(pipeline.render_plans(valid_inputs, plan(valid_inputs)).files()) - 30  # but kustomizations
    monkeypatch.setattr(pipeline, "LEAN_MEMO", memo)
    assert pipeline.check_plans(valid_inputs, plan(valid_inputs)) == count
    config = (generated / "fanout.yaml").read_text(encoding="utf-8") + "limits: {maxSubstitutedBytes: 100}\n"
    write_tree(generated, {**PROBLEMS, "fanout.yaml": config})
    inputs = open_source(generated).inputs
    with pytest.raises(FanoutError) as kept:
        pipeline.render_plans(inputs, plan(inputs))
    with pytest.raises(FanoutError) as checked:
        pipeline.check_plans(inputs, plan(inputs))
    assert checked.value.problems == kept.value.problems
    messages = " ".join(p.message for p in kept.value.problems)
    for kind in ("is undefined for clusters", "patch failed", "over the limit", "would both be written"):
        assert kind in messages


def test_the_cache_records_what_the_workers_wrote(generated: Path, invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("render", str(generated), "--output-dir", str(out), "--jobs", "2").exit_code == 0
    state = load_state(out, code_digest())
    assert sorted(state.clusters) == sorted(p.name for p in out.iterdir() if p.is_dir())
    for name, record in state.clusters.items():
        for relative, file in record.files.items():
            data = (out / name / relative).read_bytes()
            assert file[0] == len(data) and file[4] == hashlib.sha256(data).hexdigest()
            # Stat taken by the worker right after its moves: still what the file's stat says.
            now = os.stat(out / name / relative)
            assert file[:4] == (now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_each_cluster_gets_its_own_kustomization(jobs: str, invoke: Invoke, tmp_path: Path) -> None:
    # Kustomizations are made afresh per cluster; the packer once looked their digests up by id(), so a
    # freed one's id reused by the next cluster's gave that cluster another's kustomization (a cluster
    # whose folder held configmap_bbb.yaml listed configmap_ccc.yaml), with exit 0. Found by a flaky
    # KubeFed cache test in CI; this input showed it in about half the clusters, every run.
    source = varied_source(tmp_path / "src")
    out = tmp_path / "out"
    result = invoke("render", str(source), "--output-dir", str(out), "--jobs", jobs, "--no-cache")
    assert result.exit_code == 0, result.output
    tree = read_tree(out)
    for i in range(60):
        app = app_of(i)
        assert sorted(p for p in tree if p.startswith(f"c{i:02d}/")) == [
            f"c{i:02d}/kustomization.yaml",
            f"c{i:02d}/shop/configmap_{app}.yaml",
        ]
        assert tree[f"c{i:02d}/kustomization.yaml"].endswith(
            f"resources:\n- shop/configmap_{app}.yaml\n".encode()
        )


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's"
)
def test_a_worker_ends_with_its_parent_even_a_killed_one(tmp_path: Path) -> None:
    # A worker of a killed render that went on staging files would leave them after the next render
    # cleared the killed one's (seen in CI as stray .fanout-*.tmp files). The worker here would sleep ten
    # minutes; it must end as soon as its parent is SIGKILLed.
    pid_file = tmp_path / "worker.pid"
    script = f"""
import multiprocessing, os, signal, time
from pathlib import Path
from fanout.output.parallel import _die_with

def work(parent):
    _die_with(parent)
    Path({str(pid_file)!r} + ".tmp").write_text(str(os.getpid()))
    os.rename({str(pid_file)!r} + ".tmp", {str(pid_file)!r})  # whole, or not there yet
    time.sleep(600)

child = multiprocessing.get_context("fork").Process(target=work, args=(os.getpid(),))
child.start()
while not Path({str(pid_file)!r}).exists():
    time.sleep(0.01)
os.kill(os.getpid(), signal.SIGKILL)
"""
    process = subprocess.run([sys.executable, "-c", script], timeout=120, check=False)
    assert process.returncode == -signal.SIGKILL
    pid = pid_file.read_text()
    assert pid.isdigit()
    worker = Path("/proc") / pid
    deadline = time.monotonic() + 60  # a liveness bound, far below the worker's ten minutes
    while worker.exists() and "zombie" not in _state(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not worker.exists() or "zombie" in _state(worker)


def _state(proc: Path) -> str:
    try:
        return next(line for line in (proc / "status").read_text().splitlines() if line.startswith("State:"))
    except (OSError, StopIteration):
        return "zombie"  # gone while reading


def test_a_file_time_before_1970_is_recorded_by_the_writing_process(tmp_path: Path) -> None:
    """Workers send stat data as unsigned machine integers; a cluster where one does not fit is left to
    the writing process to stat (it records what the file's stat says either way)."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.yaml").write_text("x: 1\n")
    os.utime(tmp_path / "b" / "f.yaml", ns=(-(10**9), -(10**9)))
    placed = parallel._placed(str(tmp_path), {"a": [("f.yaml", "-", True)], "b": [("f.yaml", "-", True)]})
    now = os.stat(tmp_path / "a" / "f.yaml")
    assert list(placed) == ["a"]
    assert list(placed["a"]) == [now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino]
