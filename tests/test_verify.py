"""``fanout.output.verify``: the stat proof of unchanged output files, in one process or split with a forked
child (``split_from=0`` forces the split on these small folders; the split is what large fleets take)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from fanout.output.cache import RACY_NS, FileRecord, State, file_record
from fanout.output.verify import EarlyProof, digest_of, verified, verify_clusters

NAMES = [f"c{i}" for i in range(6)]


def _folder(tmp_path: Path) -> tuple[str, dict[str, dict[str, FileRecord]], State]:
    """Six cluster folders of two files each, and a state saved well after they were written."""
    clusters: dict[str, dict[str, FileRecord]] = {}
    for name in NAMES:
        files: dict[str, FileRecord] = {}
        for relative in ("ns/a.yaml", "kustomization.yaml"):
            path = tmp_path / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{name} {relative}\n", encoding="utf-8")
            files[relative] = file_record(path.stat(), digest_of(str(path)) or "")
        clusters[name] = files
    return str(tmp_path), clusters, State({}, time.time_ns() + 10 * RACY_NS)


def _same_size_edit(path: Path) -> None:
    """Another content of the same size (the stat fields then differ only in ctime, maybe mtime)."""
    data = path.read_bytes()
    path.write_bytes(data[:-2] + b"X\n")


@pytest.mark.parametrize("split_from", [0, 10**9], ids=["split", "one process"])
def test_untouched_files_come_back_as_the_same_records(tmp_path: Path, split_from: int) -> None:
    root, clusters, state = _folder(tmp_path)
    found = verify_clusters(root, clusters, None, state, split_from)
    assert list(found) == NAMES
    assert all(found[name] is clusters[name] or found[name] == clusters[name] for name in NAMES)


@pytest.mark.parametrize("split_from", [0, 10**9], ids=["split", "one process"])
def test_an_edited_or_missing_file_fails_its_cluster_only(tmp_path: Path, split_from: int) -> None:
    root, clusters, state = _folder(tmp_path)
    _same_size_edit(tmp_path / "c1/ns/a.yaml")  # c1, c4: the child's half when split; c0, c2: the parent's
    (tmp_path / "c2/kustomization.yaml").unlink()
    (tmp_path / "c4/ns/a.yaml").unlink()
    (tmp_path / "c4/ns/a.yaml").mkdir()
    found = verify_clusters(root, clusters, None, state, split_from)
    assert [name for name in NAMES if found[name] is None] == ["c1", "c2", "c4"]
    assert found["c0"] == clusters["c0"]


@pytest.mark.parametrize("split_from", [0, 10**9], ids=["split", "one process"])
def test_a_file_stat_cannot_vouch_for_is_read_and_its_record_refreshed(
    tmp_path: Path, split_from: int
) -> None:
    """Rewritten with the same bytes: the stat changed, the content did not, so the cluster stays and its
    record carries the new stat (which the caller saves)."""
    root, clusters, _ = _folder(tmp_path)
    time.sleep(0.01)
    for name in ("c0", "c3"):
        path = tmp_path / name / "ns/a.yaml"
        path.write_bytes(path.read_bytes())
    later = State({}, time.time_ns() + 10 * RACY_NS)
    found = verify_clusters(root, clusters, None, later, split_from)
    for name in ("c0", "c3"):
        record = found[name]
        assert record is not None
        assert record["ns/a.yaml"] == file_record(
            (tmp_path / name / "ns/a.yaml").stat(), clusters[name]["ns/a.yaml"][4]
        )
        assert record["ns/a.yaml"] != clusters[name]["ns/a.yaml"]
        assert record["kustomization.yaml"] == clusters[name]["kustomization.yaml"]
    assert found["c1"] is clusters["c1"]


def test_a_file_written_just_before_the_state_was_saved_is_read(tmp_path: Path) -> None:
    """git's "racy clean": a file changed within the same timestamp tick as the save would look unchanged
    by stat, so it is proved by content; a same-size edit with its mtime put back is then caught."""
    root, clusters, _ = _folder(tmp_path)
    path = tmp_path / "c0/ns/a.yaml"
    before = path.stat()
    racy = State({}, before.st_ctime_ns + RACY_NS // 2)
    _same_size_edit(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert verified(f"{root}/c0/", "c0/", clusters["c0"], None, racy) is None


def test_a_file_the_marker_does_not_list_fails_its_cluster(tmp_path: Path) -> None:
    root, clusters, state = _folder(tmp_path)
    owned = frozenset(f"{n}/{r}" for n in NAMES for r in clusters[n] if (n, r) != ("c5", "ns/a.yaml"))
    found = verify_clusters(root, clusters, owned, state, 0)
    assert [name for name in NAMES if found[name] is None] == ["c5"]


def test_an_early_proof_answers_what_verify_clusters_answers(tmp_path: Path) -> None:
    """The proof a forked child makes while the inputs are read: the same answer, refreshed records
    included, as proving the folder in this process."""
    root, clusters, state = _folder(tmp_path)
    _same_size_edit(tmp_path / "c1/ns/a.yaml")
    (tmp_path / "c3/kustomization.yaml").unlink()
    racy = State({}, time.time_ns())  # every stat too recent to vouch: each file read, its record refreshed
    for current in (state, racy):
        early = EarlyProof(root, clusters, current)
        assert early.answer() == verify_clusters(root, clusters, None, current)
        assert early.answer() == verify_clusters(root, clusters, None, current)  # asked twice: the same
        early.close()


def test_an_early_proof_stopped_unasked_answers_nothing(tmp_path: Path) -> None:
    """A run that ends before it asks (an input error) stops the child; nothing is taken from it after."""
    root, clusters, state = _folder(tmp_path)
    early = EarlyProof(root, clusters, state)
    early.close()
    early.close()
    assert early.answer() is None


def test_where_paths_cannot_be_statted_relative_to_a_folder_full_paths_give_the_same_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has neither ``O_DIRECTORY`` nor ``stat(dir_fd=...)``: the proof falls back to full paths."""
    from fanout.output import verify

    root, clusters, state = _folder(tmp_path)
    _same_size_edit(tmp_path / "c1/ns/a.yaml")
    relative = verify_clusters(root, clusters, None, state)
    monkeypatch.setattr(verify, "_RELATIVE", False)
    assert verify_clusters(root, clusters, None, state) == relative
    assert relative["c1"] is None and relative["c0"] == clusters["c0"]
