"""Moves made by worker processes (``fanout.output.moves``): the writing process undoes them by what is on
disk, since their counters stay in the workers. Real folders, real worker processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import read_tree
from test_sync import NAMES, _source, _temporaries, _write

from fanout.core.errors import FanoutError
from fanout.output import staging, sync
from fanout.output.cache import EMPTY, input_digests
from fanout.output.moves import Transaction, moves
from fanout.output.parallel import Workers
from fanout.render.pipeline import load_inputs
from fanout.render.place import plan
from fanout.source.tree import DirectorySource


def _write_with_workers(source: Path, out: Path, plant: bool) -> None:
    """A render through two worker processes that also move the files; ``plant`` puts someone else's
    file where the last cluster's new ConfigMap goes, once the files are staged."""
    inputs = load_inputs(DirectorySource(source))
    plans = plan(inputs)
    folder = sync.open_folder(out)
    workers = Workers(inputs, plans, 2, "fork")
    try:
        result = sync.plan(folder, None, workers.render(), {}, EMPTY, input_digests(inputs, plans))

        def writer(root: str, mode: int, requests: staging.Requests, token: str) -> staging.Written:
            staged = workers.write(root, mode, requests, token)
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
