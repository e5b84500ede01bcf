"""The no-op fast path (``fanout.output.snapshot``): taken only when nothing below the source root changed, and
never "up to date" for output that is not. Each test compares with a check that starts from an empty cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_cache
from conftest import Invoke, read_tree, write_tree
from test_cache import EDITS

from fanout.output import statindex, sync
from fanout.output.cache import RACY_NS, code_digest, load_state
from fanout.output.folder import MARKER

OUT = "rendered"
CHECK_IMPORTS = (
    "import sys\n"
    "from fanout.cli import main\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "print('IMPORTED', sorted(m for m in ('jsonschema', 'git', 'fanout.render.pipeline') if m in sys.modules))\n"
    "sys.exit(code)\n"
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(test_cache.shop_root(tmp_path / "src"), {"README.md": "# not an input\n"})


def _installed(root: Path, *args: str) -> tuple[int, str]:
    """The real entry point in a new process: its exit code, stdout, and which heavy modules it imported."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK_IMPORTS, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    return done.returncode, done.stdout


def _settled(invoke: Invoke, root: Path) -> None:
    """Render twice: the second run finds every file older than the state, so stat can vouch for it."""
    for _ in range(2):
        result = invoke("render", str(root))
        assert result.exit_code == 0, result.output


def _reference(
    invoke: Invoke, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """The same check with an empty cache: no snapshot, no state."""
    with monkeypatch.context() as patch:
        empty = tmp_path / "empty-cache"
        shutil.rmtree(empty, ignore_errors=True)
        patch.setenv("FANOUT_CACHE_DIR", str(empty))
        result = invoke("render", str(root), "--check")
    return result.exit_code, result.stdout


def test_an_unchanged_source_is_checked_without_reading_it(root: Path, invoke: Invoke) -> None:
    _settled(invoke, root)
    code, out = _installed(root, "render", str(root), "--check")
    assert code == 0, out
    assert "is up to date (3 clusters, 8 objects)" in out
    assert "IMPORTED []" in out  # neither jsonschema, GitPython nor the pipeline
    code, out = _installed(root, "render", str(root))
    assert code == 0 and "(3 clusters unchanged since the last render, not rendered again)" in out
    assert "IMPORTED []" in out


def test_touching_a_file_without_changing_it_keeps_the_fast_path(root: Path, invoke: Invoke) -> None:
    _settled(invoke, root)
    os.utime(root / "templates/web.yaml")
    assert "IMPORTED []" in _installed(root, "render", str(root), "--check")[1]


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_every_kind_of_input_edit_is_seen(
    kind: str, root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(invoke, root)
    if kind == "removed cluster":
        text = (root / "clusters/all.yaml").read_text(encoding="utf-8")
        (root / "clusters/all.yaml").write_text(text.strip().rsplit("---", 1)[0], encoding="utf-8")
    else:
        EDITS[kind](root)
    check = invoke("render", str(root), "--check")
    assert check.exit_code == 3, check.output  # every edit changes at least the marker's digests
    assert (check.exit_code, check.stdout) == _reference(invoke, root, tmp_path, monkeypatch)
    assert invoke("render", str(root)).exit_code == 0
    cold = tmp_path / "cold"
    assert invoke("render", str(root), "--output-dir", str(cold), "--no-cache").exit_code == 0
    assert read_tree(root / OUT) == read_tree(cold)
    assert invoke("render", str(root), "--check").exit_code == 0


def _restore_mtime(path: Path, change: bytes) -> None:
    before = path.stat()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - len(change)] + change)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _replace_keeping_stat(path: Path, old: str, new: str) -> None:
    """Replace ``old`` with ``new`` (same length) and put the mtime back: only the ctime tells."""
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


TAMPERING = {
    "an output file edited, same size and mtime": lambda out: _restore_mtime(
        out / "gcp-dev/shop/deployment.apps_web.yaml", b"X\n"
    ),
    "an output file deleted": lambda out: (out / "gcp-dev/shop/deployment.apps_web.yaml").unlink(),
    "the marker edited": lambda out: (out / MARKER).write_text(
        (out / MARKER).read_text(encoding="utf-8").replace('"fanout": "', '"fanout": "9'), encoding="utf-8"
    ),
    "the marker edited, same size and mtime": lambda out: _replace_keeping_stat(
        out / MARKER, "deletes only these", "deletes only THESE"
    ),
    "a cluster folder removed": lambda out: shutil.rmtree(out / "gcp-dev"),
    "a file the source root holds but fanout does not read": lambda out: (
        out.parent / "README.md"
    ).write_text("# edited\n", encoding="utf-8"),
    "the state file deleted": lambda out: shutil.rmtree(Path(os.environ["FANOUT_CACHE_DIR"]) / "render"),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_output_that_is_not_what_the_snapshot_saw_is_reported(
    how: str, root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(invoke, root)
    TAMPERING[how](root / OUT)
    check = invoke("render", str(root), "--check")
    assert (check.exit_code, check.stdout) == _reference(invoke, root, tmp_path, monkeypatch)
    stale = not how.startswith(("a file the source root", "the state file"))
    assert check.exit_code == (3 if stale else 0), check.output
    assert invoke("render", str(root)).exit_code == 0
    cold = tmp_path / "cold"
    assert invoke("render", str(root), "--output-dir", str(cold), "--no-cache").exit_code == 0
    assert read_tree(root / OUT) == read_tree(cold)


def test_a_check_that_finds_the_output_current_leaves_a_snapshot(root: Path, invoke: Invoke) -> None:
    """pre-commit's fanout-check hook never renders: its own checks must become fast too."""
    assert invoke("render", str(root), "--no-cache").exit_code == 0
    assert invoke("render", str(root), "--check").exit_code == 0
    code, out = _installed(root, "render", str(root), "--check")
    assert code == 0 and "IMPORTED []" in out


def test_warnings_are_printed_on_every_run(root: Path, invoke: Invoke) -> None:
    """A source with a warning is never skipped: the warning would go unsaid."""
    (root / "templates/federated.yaml").write_text(
        test_cache.FEDERATED.replace("clusterSelector: {}", "clusters: [{name: aws-east}]").replace(
            "clusterName: aws-east", "clusterName: gcp-dev"
        ),
        encoding="utf-8",
    )
    _settled(invoke, root)
    for _ in range(2):
        result = invoke("render", str(root), "--check")
        assert result.exit_code == 0
        assert "has no effect" in result.stderr


def test_a_moved_output_folder_is_followed(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    _settled(invoke, root)
    with (root / "fanout.yaml").open("a", encoding="utf-8") as handle:
        handle.write("output: deploy\n")
    for _ in range(3):
        assert invoke("render", str(root)).exit_code == 0
    assert invoke("render", str(root), "--check").exit_code == 0
    assert "IMPORTED []" in _installed(root, "render", str(root), "--check")[1]
    (root / "deploy/gcp-dev/shop/deployment.apps_web.yaml").unlink()
    assert invoke("render", str(root), "--check").exit_code == 3


def test_an_explicit_output_dir_has_its_own_snapshot(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    for _ in range(2):
        assert invoke("render", str(root), "--output-dir", str(elsewhere)).exit_code == 0
    code, out = _installed(root, "render", str(root), "--output-dir", str(elsewhere), "--check")
    assert code == 0 and "IMPORTED []" in out
    assert invoke("render", str(root), "--check").exit_code == 3  # rendered/ was never written


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_folder_link_in_the_root_only_turns_the_fast_path_off(root: Path, invoke: Invoke) -> None:
    _settled(invoke, root)
    os.mkfifo(root / "pipe")
    code, out = _installed(root, "render", str(root), "--check")
    assert code == 0 and "'fanout.render.pipeline'" in out  # read the slow way, and did not hang on the FIFO
    (root / "pipe").unlink()
    (root / "docs").mkdir()
    (root / "linked").symlink_to(root / "docs", target_is_directory=True)
    code, out = _installed(root, "render", str(root), "--check")
    assert code == 0 and "'fanout.render.pipeline'" in out


@pytest.mark.parametrize("check", [True, False], ids=["check", "render"])
def test_the_fast_path_prints_the_same_json(
    check: bool, root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(invoke, root)
    args = ["render", str(root), "-o", "json", *(["--check"] if check else [])]
    fast = invoke(*args)
    with monkeypatch.context() as patch:
        patch.setenv("FANOUT_CACHE_DIR", str(tmp_path / "empty-cache"))
        slow = invoke(*args)
    assert fast.exit_code == slow.exit_code == 0
    assert fast.stdout == slow.stdout


def test_another_fanout_never_uses_the_snapshot(
    root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new fanout release (or Python, or PyYAML) has another code digest: its snapshots are its own."""
    import fanout.commands.render as command
    from fanout.output import snapshot

    _settled(invoke, root)
    found: list[snapshot.Snapshot | None] = []
    original = snapshot.load

    def spy(key: str, folder: Path | None) -> snapshot.Snapshot | None:
        found.append(original(key, folder))
        return found[-1]

    monkeypatch.setattr(snapshot, "load", spy)
    assert invoke("render", str(root), "--check").exit_code == 0
    assert found and found[-1] is not None  # this fanout's own snapshot
    monkeypatch.setattr(command, "code_digest", lambda: b"another fanout")
    check = invoke("render", str(root), "--check")
    assert found[-1] is None
    assert (check.exit_code, check.stdout) == _reference(invoke, root, tmp_path, monkeypatch)


def test_the_state_of_a_whole_render_stands_in_for_its_marker(
    root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render of every cluster saves, with its state, the digest of the marker it wrote: the next no-op
    run proves the folder from the state's records and does not parse the marker. A render of some
    clusters saves no digest, and the next no-op run reads the marker again; both catch a hand edit."""
    out = root / OUT
    _settled(invoke, root)
    assert load_state(out, code_digest()).marker == hashlib.sha256((out / MARKER).read_bytes()).hexdigest()
    assert invoke("render", str(root), "--cluster", "gcp-dev").exit_code == 0
    assert load_state(out, code_digest()).marker == ""
    for round_ in ("marker parsed", "state alone"):
        assert invoke("render", str(root), "--check").exit_code == 0, round_
        TAMPERING["an output file edited, same size and mtime"](out)
        check = invoke("render", str(root), "--check")
        assert check.exit_code == 3, round_
        assert (check.exit_code, check.stdout) == _reference(invoke, root, tmp_path, monkeypatch)
        _settled(invoke, root)  # puts the file back; the state stands for the marker again
        assert load_state(out, code_digest()).marker != ""


def _indexed(invoke: Invoke, root: Path) -> None:
    """Render until a no-op run has left a stat index whose stats are old enough to prove anything."""
    _settled(invoke, root)
    time.sleep(2 * RACY_NS / 1e9)  # the files' ctimes fall well before the next index is written
    assert invoke("render", str(root)).exit_code == 0
    time.sleep(2 * RACY_NS / 1e9)
    index = statindex.load(root / OUT, code_digest())
    assert index is not None and statindex.intact(root / OUT, index)


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_the_stat_index_proves_nothing_that_is_not_so(
    how: str, root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A no-op run proves the folder from the stat index alone (no state, no marker read); every tampering
    is still seen, as by a check with an empty cache."""
    _indexed(invoke, root)
    code, out = _installed(root, "render", str(root), "--check")
    assert code == 0 and "is up to date (3 clusters, 8 objects)" in out and "IMPORTED []" in out
    TAMPERING[how](root / OUT)
    check = invoke("render", str(root), "--check")
    assert (check.exit_code, check.stdout) == _reference(invoke, root, tmp_path, monkeypatch)
    stale = not how.startswith(("a file the source root", "the state file"))
    assert check.exit_code == (3 if stale else 0), check.output


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"garbage"),
        lambda path: path.write_bytes((data := path.read_bytes())[:-5] + bytes([data[-5] ^ 1]) + data[-4:]),
        lambda path: path.unlink(),
    ],
    ids=["garbage", "one byte changed", "deleted"],
)
def test_a_damaged_stat_index_costs_speed_only(
    damage: Callable[[Path], None], root: Path, invoke: Invoke
) -> None:
    _indexed(invoke, root)
    path = statindex.index_path(root / OUT)
    damage(path)
    assert statindex.load(root / OUT, code_digest()) is None
    TAMPERING["an output file edited, same size and mtime"](root / OUT)
    assert invoke("render", str(root), "--check").exit_code == 3


def test_a_stat_index_is_only_for_its_own_folder_and_fanout(
    root: Path, invoke: Invoke, tmp_path: Path
) -> None:
    _indexed(invoke, root)
    out = root / OUT
    assert statindex.load(out, b"another fanout") is None
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shutil.copyfile(statindex.index_path(out), statindex.index_path(copy))
    assert statindex.load(copy, code_digest()) is None


def test_a_stat_index_written_as_its_files_were_is_not_trusted(root: Path, invoke: Invoke) -> None:
    """Stats taken within the same clock tick as a write prove nothing (git's "racy clean")."""
    _indexed(invoke, root)
    out = root / OUT
    index = statindex.load(out, code_digest())
    assert index is not None
    path = statindex.index_path(out)
    newest = max(max(array("q", numbers)[2::4]) for _, _, numbers in index.clusters)
    os.utime(path, ns=(newest, newest + RACY_NS - 1))
    assert statindex.load(out, code_digest()) is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the split forks")
@pytest.mark.parametrize("cluster", ["aws-east", "azure-west", "gcp-dev"])
def test_the_stat_index_split_across_a_child_sees_each_half(
    cluster: str, root: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the split forced on, a change in either half (the parent's clusters or the child's) is seen."""
    monkeypatch.setattr(statindex, "SPLIT_FROM", 0)
    monkeypatch.setattr(statindex, "default_jobs", lambda: 2)
    _indexed(invoke, root)
    out = root / OUT
    index = statindex.load(out, code_digest())
    assert index is not None and statindex.intact(out, index)
    victim = next(p for p in sorted((out / cluster).rglob("*.yaml")) if p.name != "kustomization.yaml")
    _replace_keeping_stat(victim, "kind:", "kind:")  # rewritten as it was: only the ctime tells
    assert not statindex.intact(out, index)


@pytest.mark.parametrize("how", ["an output file edited, same size and mtime", "an output file deleted"])
def test_the_early_stat_proof_sees_output_tampering(
    how: str, root: Path, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an input edit the folder's stat proof starts in a child before the inputs are read; a tampered
    output file is still written again, as by a render without the cache."""
    answers: list[object] = []

    class Counted(sync.EarlyProof):
        def answer(self) -> dict[str, Any] | None:
            found = super().answer()
            answers.append(found)
            return found

    monkeypatch.setattr(sync, "EarlyProof", Counted)
    monkeypatch.setattr(sync, "default_jobs", lambda: 2)  # as on the two-core machines CI runs on
    _settled(invoke, root)
    TAMPERING[how](root / OUT)
    EDITS["cluster value"](root)
    assert invoke("render", str(root)).exit_code == 0
    assert answers and answers[0] is not None  # the early proof was taken
    cold = tmp_path / "cold"
    assert invoke("render", str(root), "--output-dir", str(cold), "--no-cache").exit_code == 0
    assert read_tree(root / OUT) == read_tree(cold)


def test_the_early_stat_proof_is_dropped_when_the_folder_was_written_since(
    root: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the start of the proof and the folder's lock another fanout may write the folder: the state
    file it saves tells, and the proof is not used."""
    monkeypatch.setattr(sync, "default_jobs", lambda: 2)
    _settled(invoke, root)
    out = root / OUT
    early = sync.start_proof(out, code_digest(), None)
    assert early is not None
    assert early.state_if_unchanged(out, None) is early.state
    EDITS["cluster value"](root)
    assert invoke("render", str(root)).exit_code == 0  # the other fanout
    assert early.state_if_unchanged(out, None) is None
    assert early.proof.answer() is None  # stopped


def test_no_early_proof_without_a_state_that_names_the_marker_or_a_second_core(
    root: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = root / OUT
    monkeypatch.setattr(sync, "default_jobs", lambda: 2)
    assert sync.start_proof(out, code_digest(), None) is None  # nothing rendered yet
    _settled(invoke, root)
    monkeypatch.setattr(sync, "default_jobs", lambda: 1)
    assert sync.start_proof(out, code_digest(), None) is None  # one core: the proof would only compete
    monkeypatch.setattr(sync, "default_jobs", lambda: 2)
    early = sync.start_proof(out, code_digest(), None)
    assert early is not None
    early.proof.close()
    assert invoke("render", str(root), "--cluster", "gcp-dev").exit_code == 0  # a partial render
    assert sync.start_proof(out, code_digest(), None) is None


def test_a_root_too_big_to_snapshot_is_known_by_its_names(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caps are checked on the listing, before any file is read; a root within them keys the same."""
    from fanout.output import snapshot

    out = tmp_path / "elsewhere"
    key = snapshot.source_key(root, out, b"code", "")
    count = sum(1 for p in root.rglob("*") if p.is_file())
    monkeypatch.setattr(snapshot, "MAX_FILES", count)
    assert snapshot.source_key(root, out, b"code", "") == key
    old = write_tree(root / "old-output", {f"c/f{i}.yaml": "x: 1\n" for i in range(3)})
    assert snapshot.source_key(root, out, b"code", "") is None  # one more file than the cap allows
    assert snapshot.source_key(root, old, b"code", "") == key  # the output folder never counts
    monkeypatch.setattr(snapshot, "MAX_FILES", count + 3)
    monkeypatch.setattr(
        snapshot, "MAX_BYTES", sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) - 1
    )
    assert snapshot.source_key(root, out, b"code", "") is None
    os.mkfifo(old / "c" / "pipe.yaml")  # never read: it would block
    monkeypatch.setattr(snapshot, "MAX_BYTES", 1 << 30)
    monkeypatch.setattr(snapshot, "MAX_FILES", count + 4)
    assert snapshot.source_key(root, out, b"code", "") is None
