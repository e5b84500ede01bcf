"""``render --check --trusted-base REF`` in a fresh clone: never "up to date" for stale output.

Each test commits a source root and its rendered output on ``main`` (the trusted base), clones it as a CI
job would (no render cache), makes a change on a branch, and compares the fast check with a full
``--check`` and with a cold render: same verdict, same list of files, and "up to date" only when the
committed output is byte for byte what a cold render writes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_cache
from conftest import ROOT, Invoke, read_tree
from gitutil import clone, commit_all, git, init_repo
from test_cache import EDITS, KUBEFED_EDITS

from fanout import __version__
from fanout.output.folder import MARKER

OUT = "rendered"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return test_cache.shop_root(tmp_path / "src")


def _repo(invoke: Invoke, source: Path, tmp_path: Path) -> Path:
    """A repository on main holding ``source`` and its output, and a fresh clone of it on a branch."""
    origin = tmp_path / "origin"
    shutil.copytree(source, origin, ignore=shutil.ignore_patterns(OUT))
    init_repo(origin)
    rendered = invoke("render", str(origin), "--output-dir", str(origin / OUT), "--no-cache")
    assert rendered.exit_code == 0, rendered.output
    commit_all(origin, "source and output")
    work = clone(str(origin), tmp_path / "ci")
    git(work, "checkout", "--quiet", "-b", "change")
    return work


def _check(invoke: Invoke, work: Path, *extra: str) -> tuple[int, list[str]]:
    """Exit code and the lines that name files (the summary line differs between the two paths)."""
    result = invoke("render", str(work), "--output-dir", str(work / OUT), "--check", "--no-cache", *extra)
    assert result.exit_code in (0, 3), result.output
    return result.exit_code, [line for line in result.stdout.splitlines() if line.startswith("  ")]


def _cold(invoke: Invoke, work: Path, tmp_path: Path) -> dict[str, bytes]:
    out = tmp_path / "cold"
    shutil.rmtree(out, ignore_errors=True)
    result = invoke("render", str(work), "--output-dir", str(out), "--no-cache", "--jobs", "1")
    assert result.exit_code == 0, result.output
    return read_tree(out)


def _both_agree(invoke: Invoke, work: Path, tmp_path: Path, foreign: str = "") -> tuple[int, str]:
    """Run both checks, assert they agree with each other and with a cold render; the fast one's text.

    ``foreign``: a file someone else put in the output folder, which fanout leaves alone.
    """
    full = _check(invoke, work)
    fast_result = invoke(
        "render",
        str(work),
        "--output-dir",
        str(work / OUT),
        "--check",
        "--no-cache",
        "--trusted-base",
        "main",
    )
    fast = (
        fast_result.exit_code,
        [line for line in fast_result.stdout.splitlines() if line.startswith("  ")],
    )
    assert fast == full, fast_result.output
    committed = {path: data for path, data in read_tree(work / OUT).items() if path != foreign}
    up_to_date = committed == _cold(invoke, work, tmp_path)
    assert (full[0] == 0) == up_to_date
    return fast[0], fast_result.output


def _vouched(text: str) -> int:
    """How many clusters the fast check took from the base instead of rendering them."""
    marker = " unchanged since main, not rendered"
    for line in text.splitlines():
        if marker in line:
            return int(line.split(marker)[0].rsplit("; ", 1)[1].split()[0])
    return 0


@pytest.mark.parametrize(
    "rerender", [False, True], ids=["output not rendered again", "output rendered again"]
)
@pytest.mark.parametrize("kind", sorted(EDITS))
def test_each_kind_of_input_edit(
    kind: str,
    rerender: bool,
    root: Path,
    invoke: Invoke,
    tmp_path: Path,
) -> None:
    work = _repo(invoke, root, tmp_path)
    if kind == "removed cluster":  # as in test_cache: write the two clusters that stay
        text = (work / "clusters/all.yaml").read_text(encoding="utf-8")
        (work / "clusters/all.yaml").write_text(text.strip().rsplit("---", 1)[0], encoding="utf-8")
    else:
        EDITS[kind](work)
    if rerender:
        assert invoke("render", str(work), "--output-dir", str(work / OUT)).exit_code == 0
    commit_all(work, kind)
    code, text = _both_agree(invoke, work, tmp_path)
    assert code == (0 if rerender else 3)  # every edit changes at least one cluster's inputs' digest
    if rerender and kind in ("cluster label", "cluster value", "new override file"):
        assert 0 < _vouched(text) < 3  # some clusters were not rendered at all


@pytest.mark.parametrize(
    "rerender", [False, True], ids=["output not rendered again", "output rendered again"]
)
@pytest.mark.parametrize("kind", sorted(KUBEFED_EDITS))
def test_inputs_that_reach_across_clusters(kind: str, rerender: bool, invoke: Invoke, tmp_path: Path) -> None:
    """Replica scheduling: one cluster joining changes the others' files, so their digests change too."""
    work = _repo(invoke, ROOT / "examples" / "kubefed", tmp_path)
    KUBEFED_EDITS[kind](work)
    if rerender:
        assert invoke("render", str(work), "--output-dir", str(work / OUT)).exit_code == 0
    commit_all(work, kind)
    assert _both_agree(invoke, work, tmp_path)[0] == (0 if rerender else 3)


def test_nothing_changed_renders_nothing(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    work = _repo(invoke, root, tmp_path)
    code, text = _both_agree(invoke, work, tmp_path)
    assert code == 0 and _vouched(text) == 3


def test_a_base_marker_that_is_the_working_trees_is_parsed_once(
    root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the pull request changed no output, REF's marker is the working tree's, byte for byte: its
    parse is taken from the working tree's (100,000 entries are not parsed twice); otherwise it is parsed."""
    from fanout.output import trustedbase

    parsed: list[str] = []

    def counted(raw: bytes, where: str) -> object:
        parsed.append(where)
        return real(raw, where)

    real = trustedbase.parse_marker
    monkeypatch.setattr(trustedbase, "parse_marker", counted)
    work = _repo(invoke, root, tmp_path)
    assert _check(invoke, work, "--trusted-base", "main") == (0, [])
    assert parsed == []
    EDITS["template"](work)
    assert invoke("render", str(work), "--output-dir", str(work / OUT), "--no-cache").exit_code == 0
    commit_all(work, "template edited, output rendered")
    assert _check(invoke, work, "--trusted-base", "main") == (0, [])
    assert len(parsed) == 1 and parsed[0].startswith("main:")


FOREIGN = "gcp-dev/shop/extra.yaml"
TAMPERING: dict[str, Callable[[Path], None]] = {
    "an output file edited": lambda w: _append(w / OUT / "gcp-dev/shop/deployment.apps_web.yaml", "# hi\n"),
    "an output file deleted": lambda w: (w / OUT / "gcp-dev/shop/deployment.apps_web.yaml").unlink(),
    "an output file edited with the marker's digest to match": lambda w: _forge_file(w),
    "a foreign file added in a cluster folder": lambda w: _append(w / OUT / FOREIGN, "a: 1\n"),
}


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _forge_file(work: Path) -> None:
    import hashlib

    path = work / OUT / "gcp-dev/shop/deployment.apps_web.yaml"
    _append(path, "# forged\n")
    marker = json.loads((work / OUT / MARKER).read_text(encoding="utf-8"))
    marker["files"]["gcp-dev/shop/deployment.apps_web.yaml"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (work / OUT / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")


@pytest.mark.parametrize("commit", [True, False], ids=["committed", "in the working tree"])
@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_tampered_output_is_never_vouched_for(
    how: str,
    commit: bool,
    root: Path,
    invoke: Invoke,
    tmp_path: Path,
) -> None:
    work = _repo(invoke, root, tmp_path)
    TAMPERING[how](work)
    if commit:
        commit_all(work, how)
    code, text = _both_agree(invoke, work, tmp_path, FOREIGN)
    assert _vouched(text) == 2  # gcp-dev was rendered and compared
    if how != "a foreign file added in a cluster folder":  # fanout leaves files it did not write alone
        assert code == 3


def test_a_forged_marker_does_not_make_stale_output_pass(
    root: Path,
    invoke: Invoke,
    tmp_path: Path,
) -> None:
    """A pull request edits a template and commits the marker a real render would write, but not the files."""
    work = _repo(invoke, root, tmp_path)
    EDITS["template"](work)
    elsewhere = tmp_path / "elsewhere"
    assert invoke("render", str(work), "--output-dir", str(elsewhere), "--no-cache").exit_code == 0
    shutil.copyfile(elsewhere / MARKER, work / OUT / MARKER)
    commit_all(work, "template edited, output not")
    code, text = _both_agree(invoke, work, tmp_path)
    assert code == 3
    assert "deployment.apps_web.yaml" in text


def _new_base(work: Path, edit: Callable[[dict[str, Any]], object], message: str) -> None:
    """Commit the output with its marker edited, and make that commit the trusted base (main)."""
    marker = json.loads((work / OUT / MARKER).read_text(encoding="utf-8"))
    edit(marker)
    (work / OUT / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    commit_all(work, message)
    git(work, "branch", "--force", "main")


def test_output_of_another_fanout_release_is_checked_in_full(
    root: Path,
    invoke: Invoke,
    tmp_path: Path,
) -> None:
    """The base's output was written by another release (here: its marker says so): trust none of it."""
    work = _repo(invoke, root, tmp_path)
    _new_base(work, lambda marker: marker.update(fanout="0.0.9"), "as fanout 0.0.9 wrote it")
    code, text = _both_agree(invoke, work, tmp_path)
    assert code == 3  # the marker names another release: a render by this one rewrites it
    assert f"written by fanout 0.0.9, and this is fanout {__version__}" in text
    assert _vouched(text) == 0


def test_a_base_without_output_or_digests_is_checked_in_full(
    root: Path,
    invoke: Invoke,
    tmp_path: Path,
) -> None:
    work = _repo(invoke, root, tmp_path)
    _new_base(work, lambda marker: marker.pop("clusters"), "a marker without digests")
    code, text = _both_agree(invoke, work, tmp_path)
    assert code == 3 and "records no input digests" in text

    git(work, "rm", "-r", "--quiet", OUT)
    commit_all(work, "no output at all")
    git(work, "branch", "--force", "main")
    assert invoke("render", str(work), "--output-dir", str(work / OUT), "--no-cache").exit_code == 0
    code, text = _both_agree(invoke, work, tmp_path)
    assert code == 0 and "main has no fanout output there" in text


def test_mistakes_are_reported(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    work = _repo(invoke, root, tmp_path)
    unknown = invoke("render", str(work), "--check", "--trusted-base", "no-such-branch")
    assert unknown.exit_code == 1
    assert "--trusted-base no-such-branch: not a commit of" in unknown.stderr
    assert "Traceback" not in unknown.output
    alone = invoke("render", str(work), "--trusted-base", "main")
    assert alone.exit_code == 2 and "only works with --check" in alone.stderr
    outside = invoke(
        "render", str(work), "--check", "--trusted-base", "main", "--output-dir", str(tmp_path / "elsewhere")
    )
    assert outside.exit_code == 1 and "elsewhere is not in a git repository" in outside.stderr
    plain = tmp_path / "plain"
    shutil.copytree(root, plain)
    assert invoke("render", str(plain)).exit_code == 0
    nogit = invoke("render", str(plain), "--check", "--trusted-base", "main")
    assert nogit.exit_code == 1 and "is not in a git repository" in nogit.stderr


def test_the_installed_command_checks_a_fresh_clone(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    """The way CI runs it: the real entry point, in a clone, against origin/main."""
    import subprocess

    work = _repo(invoke, root, tmp_path)
    EDITS["cluster value"](work)
    assert invoke("render", str(work)).exit_code == 0
    commit_all(work, "one cluster's value")
    fanout = Path(sys.executable).with_name("fanout")
    done = subprocess.run(
        [str(fanout), "render", "--check", "--trusted-base", "origin/main"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 clusters unchanged since origin/main, not rendered" in done.stdout


def _workflow_steps() -> dict[str, str]:
    """The shell of the example workflow: the action's steps for pull requests, the main job's own."""
    import yaml

    workflow = yaml.safe_load((ROOT / ".github/workflows/check-rendered.yml").read_text(encoding="utf-8"))
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    steps = [*action["runs"]["steps"], *workflow["jobs"]["main"]["steps"]]
    return {step["name"]: step["run"] for step in steps if "run" in step}


@pytest.mark.parametrize("stale", [False, True], ids=["fresh output", "stale output"])
def test_the_example_workflow_runs_as_written(
    stale: bool, root: Path, invoke: Invoke, tmp_path: Path
) -> None:
    """check-rendered.yml's commands, run with bash in a clone of a repository whose main is the base."""
    import subprocess

    work = _repo(invoke, root, tmp_path)
    EDITS["cluster value"](work)
    if not stale:
        assert invoke("render", str(work)).exit_code == 0
    commit_all(work, "a pull request")
    git(work, "update-ref", "-d", "refs/remotes/origin/main")  # as in a shallow clone of the pull request
    steps = _workflow_steps()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SOURCE": ".",
        "BASE": "main",
        "COMMENT": "false",
        "FAIL_ON_STALE": "true",
        "RUNNER_TEMP": str(tmp_path / "runner"),
    }

    def step(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-e", "-c", steps[name]], cwd=work, env=env, capture_output=True, text=True, check=False
        )

    assert step("Fetch the target branch").returncode == 0
    checked = step("Check and report")  # the action's step: fanout pr-report
    assert checked.returncode == (3 if stale else 0), checked.stdout + checked.stderr
    assert "2 clusters unchanged since origin/main, not rendered" in checked.stdout
    full = step("Check the output in full (main, which pull requests then trust)")
    assert full.returncode == checked.returncode


def test_the_output_folder_fanout_yaml_names_is_read_by_git_early(
    root: Path, invoke: Invoke, tmp_path: Path
) -> None:
    """Without --output-dir, git starts on the folder fanout.yaml names, before the inputs are read; a
    pull request that moves the output elsewhere is checked against the folder this run really checks."""
    config = root / "fanout.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "output: deploy/out\n", encoding="utf-8")
    origin = tmp_path / "origin"
    shutil.copytree(root, origin)
    init_repo(origin)
    assert invoke("render", str(origin), "--no-cache").exit_code == 0
    commit_all(origin, "source and output")
    work = clone(str(origin), tmp_path / "ci")
    EDITS["cluster value"](work)
    assert invoke("render", str(work), "--no-cache").exit_code == 0
    commit_all(work, "one cluster's value")
    fast = invoke("render", str(work), "--check", "--no-cache", "--trusted-base", "origin/main")
    assert fast.exit_code == 0, fast.output
    assert _vouched(fast.output.replace("origin/main", "main")) == 2

    # A config too large to read ahead: git starts late, on the folder the inputs name.
    config = work / "fanout.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "#" * (1 << 20) + "\n", encoding="utf-8")
    late = invoke("render", str(work), "--check", "--no-cache", "--trusted-base", "origin/main")
    assert late.exit_code == 0, late.output
    assert _vouched(late.output.replace("origin/main", "main")) == 2


def test_the_inputs_problems_come_before_the_bases(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    """git is asked about REF before the inputs are read; its answer (here: no such commit) waits until
    they are known to be fine, as when it was asked after them."""
    work = _repo(invoke, root, tmp_path)
    (work / "templates/broken.yaml").write_text("kind: [\n", encoding="utf-8")
    result = invoke("render", str(work), "--check", "--no-cache", "--trusted-base", "no-such-branch")
    assert result.exit_code == 1
    assert "templates/broken.yaml:" in result.stderr
    assert "no-such-branch" not in result.stderr


def test_a_machine_without_git_is_told(
    root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = _repo(invoke, root, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-folder"))
    result = invoke("render", str(work), "--check", "--no-cache", "--trusted-base", "main")
    assert result.exit_code == 1
    assert "--trusted-base: cannot run git:" in result.stderr
    assert "Traceback" not in result.output


def test_an_input_problem_stops_git_too(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    """git was started for a real REF; the run ends on the input's problem, and git's processes with it."""
    import subprocess

    def gits() -> set[str]:  # this process's git children, by pid
        mine = subprocess.run(
            ["ps", "-o", "pid=,args=", "--ppid", str(os.getpid())],
            capture_output=True,
            text=True,
            check=False,
        )
        return {line.split()[0] for line in mine.stdout.splitlines() if "git" in line}

    work = _repo(invoke, root, tmp_path)
    (work / "templates/broken.yaml").write_text("kind: [\n", encoding="utf-8")
    # Another test's git (a GitPython repository not yet collected) is not this run's.
    looks = shutil.which("ps") is not None and sys.platform.startswith("linux")
    earlier = gits() if looks else set()
    result = invoke("render", str(work), "--check", "--no-cache", "--trusted-base", "main")
    assert result.exit_code == 1 and "templates/broken.yaml:" in result.stderr
    if not looks:
        return  # the verdict above is what counts; the processes are looked for where ps can list children
    assert not gits() - earlier


def test_a_git_that_takes_too_long_is_said(
    root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = _repo(invoke, root, tmp_path)
    monkeypatch.setenv("FANOUT_GIT_TIMEOUT", "0.000001")
    result = invoke("render", str(work), "--check", "--no-cache", "--trusted-base", "main")
    assert result.exit_code == 1
    assert "--trusted-base: git rev-parse timed out after 1e-06 s (FANOUT_GIT_TIMEOUT)" in result.stderr
    assert "Traceback" not in result.output


def test_a_marker_with_the_same_entries_in_other_bytes_is_stale(
    root: Path, invoke: Invoke, tmp_path: Path
) -> None:
    """The new marker copies the vouched clusters' entries from REF's marker as bytes; it is still compared
    byte for byte with the working tree's, so a pull request that only re-lays out the marker is stale."""
    work = _repo(invoke, root, tmp_path)
    path = work / OUT / MARKER
    path.write_text(
        json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=2) + "\n", encoding="utf-8"
    )
    commit_all(work, "the marker laid out again")
    code, text = _both_agree(invoke, work, tmp_path)
    assert code == 3 and _vouched(text) == 3
