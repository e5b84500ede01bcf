"""Writing a render into the folder (``fanout.output.sync.apply``): the journal written first, and the
moves that are undone on failure. The transaction keeps no per-file undo step (a counter and the same
moves made again), and writes the journal cluster by cluster: these tests hold both to the old,
listed behaviour on a real folder."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import read_tree, write_tree

from fanout.core.errors import FanoutError
from fanout.output import staging, sync
from fanout.output.cache import EMPTY, input_digests
from fanout.output.folder import MARKER, TEMP_PREFIX, marker_content, parse_marker
from fanout.output.parallel import InProcess
from fanout.render.pipeline import load_inputs
from fanout.render.place import plan
from fanout.source.tree import DirectorySource

# Cluster names that sort differently alone and as path prefixes ("a-b" < "a/" < "a0"): the journal
# lists names cluster by cluster and must still list them in the order of the whole names.
NAMES = ("a", "a-b", "a0", "b")


def _source(root: Path, image: str, extra: bool) -> Path:
    clusters = "".join(
        f"---\napiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: {name}}}\n" for name in NAMES
    )
    templates = {
        "templates/web.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
            f"spec: {{template: {{spec: {{containers: [{{name: web, image: '{image}'}}]}}}}}}\n"
        ),
        "templates/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    }
    if extra:
        templates["templates/cm.yaml"] = (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n"
        )
    else:
        templates["templates/cm.yaml"] = (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, namespace: 'y'}\n"
        )
    return write_tree(
        root,
        {
            "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\n",
            "clusters/all.yaml": clusters,
            **templates,
        },
    )


Hook = Callable[[str, staging.Requests, str], None]


def _write(source: Path, out: Path, hook: Hook | None = None) -> None:
    """A render of ``source`` into ``out`` through ``sync.plan`` and ``sync.apply``; ``hook`` runs once the
    files are staged, before they are moved into place."""
    inputs = load_inputs(DirectorySource(source))
    plans = plan(inputs)
    digests = input_digests(inputs, plans)
    folder = sync.open_folder(out)
    active = InProcess(inputs, plans)
    result = sync.plan(folder, None, active.render(), {}, EMPTY, digests)

    def writer(root: str, mode: int, requests: staging.Requests, token: str) -> staging.Written:
        written = active.write(root, mode, requests, token)
        if hook is not None:
            hook(root, requests, token)
        return written

    sync.apply(folder, result, writer)


def _temporaries(out: Path) -> list[str]:
    return sorted(
        path.relative_to(out).as_posix() for path in out.rglob(f"{TEMP_PREFIX}*") if path.name != MARKER
    )


def test_the_journal_lists_every_temporary_name_in_the_markers_order(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(_source(tmp_path / "v1", "web:1", extra=False), out)
    journals: list[bytes] = []

    def read_journal(root: str, requests: staging.Requests, token: str) -> None:
        journals.append((Path(root) / MARKER).read_bytes())

    # Changed (the Deployment), added (ConfigMap c) and removed (ConfigMap d) files in every cluster.
    _write(_source(tmp_path / "v2", "web:2", extra=True), out, read_journal)
    (journal,) = journals
    listed = parse_marker(journal, "journal")
    staged = [p for p in listed.pending if p.endswith(".tmp")]
    backups = [p for p in listed.pending if p.endswith(".bak")]
    # One staged file per added or changed file (the Deployment, ConfigMap c, the kustomization), one
    # backup per changed or removed file (the Deployment, the kustomization, ConfigMap d).
    assert len(staged) == len(backups) == 3 * len(NAMES)
    assert {p.split("/", 1)[0] for p in listed.pending} == set(NAMES)
    assert list(listed.pending) == sorted(listed.pending)
    # The same bytes as the marker written in one piece with the whole list.
    old_and_new = dict(listed.files)
    assert journal == marker_content(old_and_new, listed.pending, listed.clusters)
    final = json.loads((out / MARKER).read_bytes())
    assert "pending" not in final
    assert not _temporaries(out)


def test_a_failure_while_moving_files_into_place_puts_every_file_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(_source(tmp_path / "v1", "web:1", extra=False), out)
    before = read_tree(out)
    planted: list[Path] = []

    def plant(root: str, requests: staging.Requests, token: str) -> None:
        # A file appears where the last cluster's new ConfigMap goes: its move fails after the earlier
        # clusters' files were moved (changed ones over their backups, new ones linked).
        cluster, items = list(requests.items())[-1]
        relative = next(r for r, _, new in items if new)
        target = Path(root) / cluster / relative
        target.write_text("someone else's\n")
        planted.append(target)

    with pytest.raises(FanoutError, match="nothing in it was changed"):
        _write(_source(tmp_path / "v2", "web:2", extra=True), out, plant)
    (target,) = planted
    after = read_tree(out)
    assert after.pop(target.relative_to(out).as_posix()) == b"someone else's\n"
    assert after == before
    assert not _temporaries(out)


def test_a_failure_while_staging_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(_source(tmp_path / "v1", "web:1", extra=False), out)
    before = read_tree(out)

    def full(root: str, requests: staging.Requests, token: str) -> None:
        raise staging.StageFailure(os.strerror(errno.ENOSPC))

    with pytest.raises(FanoutError, match="No space left on device"):
        _write(_source(tmp_path / "v2", "web:2", extra=True), out, full)
    assert read_tree(out) == before
    assert not _temporaries(out)


def test_a_listing_read_from_the_state_is_the_map_it_stands_for() -> None:
    """``open_folder`` hands out the state's records as a view (``sync._Listing``): every question a render
    asks of the map of paths and digests gets the answer the copied map gave."""
    from fanout.output.cache import ClusterRecord
    from fanout.output.sync import _Listing

    records = {
        "a": ClusterRecord("i", {"kustomization.yaml": (1, 2, 3, 4, "d1"), "ns/x.yaml": (1, 2, 3, 5, "d2")}),
        "a-b": ClusterRecord("j", {"kustomization.yaml": (1, 2, 3, 6, "d3")}),
    }
    copied = {f"{n}/{r}": f[4] for n, record in records.items() for r, f in record.files.items()}
    view = _Listing(records)
    assert view == copied and dict(view) == copied and len(view) == 3
    assert view.keys() <= copied.keys() and copied.keys() <= view.keys()
    for path in ("a/ns/x.yaml", "a/", "a", "b/kustomization.yaml", "a-b/kustomization.yaml", "", "a/ns"):
        assert (path in view) == (path in copied) and view.get(path) == copied.get(path), path
    assert 3 not in view
    assert {**view, "c/k": "d9"} == {**copied, "c/k": "d9"}


def test_a_killed_runs_temporary_files_go_with_the_folders_made_for_them(tmp_path: Path) -> None:
    """A run killed while staging a new cluster leaves its temporary files (listed in the marker) in folders
    it made; the next render removes both, and keeps any folder that holds something else."""
    out = tmp_path / "out"
    _write(_source(tmp_path / "v1", "web:1", extra=False), out)
    before = read_tree(out)
    marker = json.loads((out / MARKER).read_bytes())
    first = NAMES[0]
    pending = ["gone/shop/.fanout-0a1b2c3d4e5f-0.tmp", f"{first}/new/.fanout-0a1b2c3d4e5f-1.tmp"]
    for path in pending:
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text("half", encoding="utf-8")
    (out / "gone/keep.txt").write_text("someone's", encoding="utf-8")
    marker["pending"] = pending
    (out / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
    _write(_source(tmp_path / "v1", "web:1", extra=False), out)
    assert not (out / first / "new").exists() and (out / first).is_dir()
    assert (
        not (out / "gone/shop").exists()
        and (out / "gone/keep.txt").read_text(encoding="utf-8") == "someone's"
    )
    assert {p: d for p, d in read_tree(out).items() if p != "gone/keep.txt"} == before
