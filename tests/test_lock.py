"""One writer per output folder: two real processes racing one folder both end right (issue 12)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import DEPLOYMENT, read_tree, write_tree

from fanout.core.lock import lock_file
from fanout.output.cache import cache_dir

CLUSTERS = "".join(
    f"---\napiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: c{i:03d}, labels: {{half: {'ab'[i % 2]}}}}}\n"
    for i in range(200)
)
TEMPLATES = "".join(DEPLOYMENT.replace("name: web", f"name: web{i}") + "\n---\n" for i in range(10))


def _source(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src", {"clusters/all.yaml": CLUSTERS, "templates/web.yaml": TEMPLATES})


def test_two_renders_into_one_folder_both_end_right(tmp_path: Path) -> None:
    source = _source(tmp_path)
    out = tmp_path / "out"
    reference = tmp_path / "reference"
    command = [sys.executable, "-m", "fanout", "render", str(source)]
    assert (
        subprocess.run(
            [*command, "--output-dir", str(reference)], capture_output=True, check=False
        ).returncode
        == 0
    )
    racers = [
        subprocess.Popen(
            [*command, "--output-dir", str(out), "-l", f"half={half}", "--no-cache"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for half in "ab"
    ]
    results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in racers]
    assert [code for code, _ in results] == [0, 0], results
    assert read_tree(out) == read_tree(reference)  # every file, and a marker that lists every file
    listed = json.loads((out / ".fanout-output.json").read_text())["files"]
    assert len(listed) == 200 * 11


def test_no_wait_fails_at_once_while_another_fanout_writes(tmp_path: Path) -> None:
    source = _source(tmp_path)
    out = tmp_path / "out"
    path = lock_file(cache_dir(None), "output", str(out.resolve()))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        result = subprocess.run(
            [sys.executable, "-m", "fanout", "render", str(source), "--output-dir", str(out), "--no-wait"],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.close(fd)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"another fanout is writing {out}; try again later, or leave out --no-wait to wait"
    )
    assert not out.exists()


def test_a_cached_clone_is_fetched_by_one_fanout_at_a_time(tmp_path: Path) -> None:
    # While one fanout holds the clone's lock (as during a fetch), another waits, says so, then reads it.
    from gitutil import commit_all, file_url, init_repo

    from fanout.source.git import cache_path

    repo = init_repo(
        tmp_path / "platform", {"src/clusters/all.yaml": CLUSTERS, "src/templates/web.yaml": TEMPLATES}
    )
    commit_all(repo, "source")
    url = file_url(repo) + "#src"
    cache = tmp_path / "cache"
    path = lock_file(cache, "clone", file_url(repo))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    waiting = subprocess.Popen(
        [sys.executable, "-m", "fanout", "clusters", url, "--cache-dir", str(cache)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert waiting.stderr is not None
    line = waiting.stderr.readline()
    assert line.startswith("fanout: waiting for another fanout that is writing the cached clone of file://")
    assert not cache_path(cache, file_url(repo)).exists()  # it has not started fetching
    os.close(fd)
    out, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0
    assert out.splitlines()[1].startswith("c000")
