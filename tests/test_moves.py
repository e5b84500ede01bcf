"""Moves made by worker processes (``fanout.output.moves``): the writing process undoes them by what is on
disk, since their counters stay in the workers. Real folders, real worker processes."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Invoke, read_tree, varied_source
from test_sync import NAMES, _source, _temporaries, _write

from fanout.core.errors import FanoutError
from fanout.output import staging, sync
from fanout.output.cache import EMPTY, input_digests
from fanout.output.folder import MARKER, marker_content, parse_marker
from fanout.output.moves import Transaction, moves, rename_new
from fanout.output.parallel import Workers
from fanout.render.pipeline import load_inputs
from fanout.render.place import plan
from fanout.source.tree import DirectorySource


def _write_with_workers(
    source: Path, out: Path, plant: bool, hook: Callable[[str, staging.Requests, str], None] | None = None
) -> None:
    """A render through two worker processes that also move the files; ``plant`` puts someone else's
    file where the last cluster's new ConfigMap goes, once the files are staged (``hook`` runs then too)."""
    inputs = load_inputs(DirectorySource(source))
    plans = plan(inputs)
    folder = sync.open_folder(out)
    workers = Workers(inputs, plans, 2, "fork")
    try:
        result = sync.plan(folder, None, workers.render(), {}, EMPTY, input_digests(inputs, plans))

        def writer(root: str, mode: int, requests: staging.Requests, token: str) -> staging.Written:
            staged = workers.write(root, mode, requests, token)
            if hook is not None:
                hook(root, requests, token)
            if plant:
                cluster, items = list(requests.items())[-1]
                relative = next(r for r, _, new in items if new)
                Path(root, cluster, relative).write_text("someone else's\n")
            return staged

        sync.apply(folder, result, writer, workers.mover())
        assert workers.closed  # stopped once the files were moved, before the records are made
    finally:
        workers.close()


def test_workers_move_files_as_the_writing_process_does(tmp_path: Path) -> None:
    alone, together = tmp_path / "alone", tmp_path / "together"
    for version, image, extra in (("v1", "web:1", False), ("v2", "web:2", True)):
        source = _source(tmp_path / version, image, extra)
        _write(source, alone)
        _write_with_workers(source, together, plant=False)
        assert read_tree(together) == read_tree(alone)
    assert not _temporaries(together)


def test_a_failure_while_workers_move_files_puts_every_file_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(_source(tmp_path / "v1", "web:1", extra=False), out)
    before = read_tree(out)
    with pytest.raises(FanoutError, match=r"nothing in it was changed.*File exists"):
        _write_with_workers(_source(tmp_path / "v2", "web:2", extra=True), out, plant=True)
    after = read_tree(out)
    (planted,) = [path for path, data in after.items() if data == b"someone else's\n"]
    assert planted.startswith(f"{NAMES[-1]}/") and "configmap" in planted
    del after[planted]
    assert after == before
    assert not _temporaries(out)


def test_moves_are_undone_by_the_state_they_left(tmp_path: Path) -> None:
    """Each state a move can stop in, new files (n*) and changed ones (c*), undone from the disk alone."""
    root = str(tmp_path)
    os.mkdir(f"{root}/k")
    names = ["n-linked", "n-done", "n-waiting", "n-someone", "c-backed-up", "c-done", "c-waiting"]
    requests: staging.Requests = {"k": [(name, "-", name.startswith("n")) for name in names]}
    made = {
        target.rsplit("/", 1)[1]: (staged, target, backup)
        for staged, target, backup in moves(root, requests, "t")
    }
    for name, (staged, target, _) in made.items():
        Path(staged).write_text(f"new {name}\n")
        if name.startswith("c"):
            Path(target).write_text(f"old {name}\n")
    # Where each move stopped.
    os.link(made["n-linked"][0], made["n-linked"][1])
    os.link(made["n-done"][0], made["n-done"][1])
    os.unlink(made["n-done"][0])
    Path(made["n-someone"][1]).write_text("someone else's\n")  # the link failed: it was there
    for name in ("c-backed-up", "c-done"):
        staged, target, backup = made[name]
        assert backup is not None
        os.link(target, backup)
    os.replace(made["c-done"][0], made["c-done"][1])

    txn = Transaction(lambda: moves(root, requests, "t"))
    txn.handed_off = True
    txn.rollback()
    for staged, _, _ in moves(root, requests, "t"):  # as sync.apply does after a rollback
        Path(staged).unlink(missing_ok=True)
    assert read_tree(tmp_path) == {
        "k/n-someone": b"someone else's\n",
        "k/c-backed-up": b"old c-backed-up\n",
        "k/c-done": b"old c-done\n",
        "k/c-waiting": b"old c-waiting\n",
    }


# --- A new cluster's folder, staged whole and moved in with one rename (staging.FRESH) ---------------


def _journal_of_first_render(tmp_path: Path) -> tuple[bytes, Path]:
    out = tmp_path / "out"
    journals: list[bytes] = []

    def read_journal(root: str, requests: staging.Requests, token: str) -> None:
        journals.append((Path(root) / MARKER).read_bytes())
        for cluster, items in requests.items():  # staged whole, nothing yet where the cluster goes
            assert all(how == staging.FRESH for _, _, how in items)
            assert Path(root, staging.staging_folder(cluster, token)).is_dir()
            assert not Path(root, cluster).exists()

    _write(_source(tmp_path / "v1", "web:1", extra=False), out, read_journal)
    (journal,) = journals
    return journal, out


def test_a_first_render_stages_each_cluster_folder_whole_and_lists_every_file_in_the_journal(
    tmp_path: Path,
) -> None:
    journal, out = _journal_of_first_render(tmp_path)
    listed = parse_marker(journal, "journal")
    # Every file, under its cluster's staging folder, in the order of the whole names (the journal is
    # written folder by folder).
    assert len(listed.pending) == len(listed.files) == 4 * len(NAMES)
    assert list(listed.pending) == sorted(listed.pending)
    token = listed.pending[0].split("-")[1]
    assert {p.split("/", 1)[0] for p in listed.pending} == {staging.staging_folder(n, token) for n in NAMES}
    assert journal == marker_content(dict(listed.files), listed.pending, listed.clusters)
    assert not _temporaries(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, *NAMES])


def test_a_killed_first_renders_staging_folders_are_cleared_by_the_next(tmp_path: Path) -> None:
    """A kill after the journal, with one cluster folder moved in, others staged and one half staged: the
    next render removes the staging folders (every file listed, then the emptied folders), writes the rest."""
    journal, out = _journal_of_first_render(tmp_path)
    expected = read_tree(out)
    listed = parse_marker(journal, "journal")
    token = listed.pending[0].split("-")[1]
    for name in NAMES[1:]:  # the first cluster was moved in; the others were not
        os.rename(out / name, out / staging.staging_folder(name, token))
    # The last one was still being staged: some of its files were not written yet.
    last = out / staging.staging_folder(NAMES[-1], token)
    for path in sorted(p for p in last.rglob("*") if p.is_file())[::2]:
        path.unlink()
    # And one cluster's staging folder was made, but not yet the folders inside it.
    for path in sorted(last.parent.glob(staging.staging_folder(NAMES[-2], token) + "/*"), reverse=True):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    (out / MARKER).write_bytes(journal)
    _write(_source(tmp_path / "v1", "web:1", extra=False), out)
    assert read_tree(out) == expected
    assert not _temporaries(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, *NAMES])


def test_a_link_planted_as_a_staging_folder_is_not_followed(tmp_path: Path) -> None:
    """A marker may list files in a staging folder (their names are the objects'); a link in that folder's
    place must not lead the clearing to the files of the folder it points at."""
    out = tmp_path / "out"
    _write(_source(tmp_path / "v1", "web:1", extra=False), out)
    before = read_tree(out)
    staged = ".fanout-0a1b2c3d4e5f-b.tmp"
    (out / staged).symlink_to(out / NAMES[0], target_is_directory=True)
    marker = json.loads((out / MARKER).read_bytes())
    marker["pending"] = [f"{staged}/kustomization.yaml"]
    (out / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
    _write(_source(tmp_path / "v1", "web:1", extra=False), out)
    assert (out / NAMES[0] / "kustomization.yaml").is_file()
    del before[MARKER]
    after = read_tree(out)
    del after[MARKER]
    assert {p: d for p, d in after.items() if not p.startswith(staged)} == before


@pytest.mark.parametrize("workers", [False, True], ids=["in-process", "workers"])
def test_a_folder_that_appears_where_a_new_cluster_goes_fails_the_write_and_stays(
    tmp_path: Path, workers: bool
) -> None:
    """Someone makes the last cluster's folder once the files are staged: its rename fails (it never
    replaces, as a new file's link never does), the clusters moved in before go back, and nothing of
    fanout's is left."""
    out = tmp_path / "out"
    source = _source(tmp_path / "v1", "web:1", extra=False)
    theirs = out / NAMES[-1]

    def plant(root: str, requests: staging.Requests, token: str) -> None:
        theirs.mkdir()
        (theirs / "notes.txt").write_text("someone else's\n")

    with pytest.raises(FanoutError, match=r"nothing in it was changed.*(File exists|not empty)"):
        if workers:
            _write_with_workers(source, out, plant=False, hook=plant)
        else:
            _write(source, out, plant)
    assert read_tree(out) == {f"{NAMES[-1]}/notes.txt": b"someone else's\n"}
    assert sorted(p.name for p in out.iterdir()) == [NAMES[-1]]


def test_an_empty_folder_that_appears_is_not_replaced(tmp_path: Path) -> None:
    """A plain rename would replace an empty folder; renameat2's RENAME_NOREPLACE (or the check where the
    system lacks it) does not."""
    source, target = tmp_path / "staged", tmp_path / "target"
    source.mkdir()
    (source / "a.yaml").write_text("a\n")
    target.mkdir()
    for platform in (sys.platform, "elsewhere"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "platform", platform)
            with pytest.raises(FileExistsError):
                rename_new(str(source), str(target))
    assert (source / "a.yaml").is_file() and not any(target.iterdir())
    target.rmdir()
    rename_new(str(source), str(target))
    assert (target / "a.yaml").read_text() == "a\n" and not source.exists()


def test_a_cluster_name_too_long_for_a_staging_folder_is_written_file_by_file() -> None:
    # The staging folder's name is the cluster's plus 25 bytes; a file system takes 255.
    assert staging.stages_whole("c" * 230)
    assert not staging.stages_whole("c" * 231)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_new_and_existing_cluster_folders_in_one_render_give_the_whole_renders_files(
    invoke: Invoke, tmp_path: Path, jobs: str
) -> None:
    """A render where half the clusters' folders exist (written file by file) and half are new (moved in
    whole) writes what one render into an empty folder writes, byte for byte."""
    source = varied_source(tmp_path / "src", clusters=24)
    whole, mixed = tmp_path / "whole", tmp_path / "mixed"
    assert invoke("render", str(source), "--output-dir", str(whole), "--jobs", jobs).exit_code == 0
    first = invoke("render", str(source), "--output-dir", str(mixed), "--shard", "1/2", "--jobs", jobs)
    assert first.exit_code == 0, first.output
    rest = invoke("render", str(source), "--output-dir", str(mixed), "--jobs", jobs, "--no-cache")
    assert rest.exit_code == 0, rest.output
    assert read_tree(mixed) == read_tree(whole)
    assert not _temporaries(mixed)
