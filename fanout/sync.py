"""Bringing the output folder in line with a render, quickly, with the help of the render cache.

The rules are ``fanout.output``'s: a marker lists the files fanout wrote; fanout refuses a non-empty
folder without one, never overwrites or deletes a file it does not list, and works out every change
before it touches the disk. What is added here is speed at 100,000 files:

- files are compared through their recorded size/mtime/inode and content hash where the cache can
  vouch for them, and by reading their bytes otherwise;
- clusters the cache can reuse (see ``fanout.cache``) are not rendered at all;
- new files are written in place (no rename: no one has seen an older version), changed files through
  a temporary file and a rename (readers see the old or the new file, never half of one), both from a
  few threads; a provisional marker listing the new files is written first, so that an interrupted
  render leaves nothing behind that the next render would refuse to touch.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

from fanout.cache import ClusterRecord, FileRecord, State, content_digest, file_record
from fanout.errors import FanoutError, Problem
from fanout.output import MARKER, Changes, _Folder, _read_marker, marker_content


@dataclass(frozen=True)
class ClusterFiles:
    """One cluster's files: paths relative to its folder (apply order, kustomization last) and digests."""

    name: str
    paths: tuple[str, ...]
    digests: tuple[str, ...]  # SHA-256 of each file's content, hex

    @property
    def objects(self) -> int:
        return len(self.paths) - 1


@dataclass(frozen=True)
class Folder:
    """The output folder as it is before a render: what fanout owns there, by its marker."""

    path: Path
    owned: frozenset[str]
    marker: bytes | None


def open_folder(out: Path) -> Folder:
    """Read the marker; refuse a file, or a non-empty folder fanout did not create."""
    if out.exists() and not out.is_dir():
        raise FanoutError.at(f"output {out} exists and is not a folder")
    previous = _read_marker(out) if out.is_dir() else None
    if previous is None and out.is_dir() and any(out.iterdir()):
        raise FanoutError.at(
            f"refusing to write into {out}: it is not empty and fanout did not create it (no {MARKER});"
            " choose another --out or empty the folder"
        )
    marker = out / MARKER
    return Folder(out, frozenset(previous or ()), marker.read_bytes() if previous is not None else None)


def _digest_of(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def reusable(folder: Folder, state: State, digests: Mapping[str, str]) -> dict[str, ClusterRecord]:
    """The clusters whose inputs are unchanged and whose files are still exactly what fanout wrote.

    Records of files that had to be read to be verified come back with their new stat.
    """
    reused: dict[str, ClusterRecord] = {}
    root = str(folder.path)
    owned = folder.owned
    for name, digest in digests.items():
        record = state.clusters.get(name)
        if record is not None and record.inputs == digest:
            files = _verified(f"{root}/{name}/", f"{name}/", record.files, owned, state)
            if files is not None:
                reused[name] = ClusterRecord(digest, files)
    return reused


def _verified(
    folder: str, prefix: str, files: Mapping[str, FileRecord], owned: frozenset[str], state: State
) -> Mapping[str, FileRecord] | None:
    """``files`` (with fresh records where stat could not vouch) if every one is intact, else None.

    This runs for every file of every unchanged cluster, so it is written for speed.
    """
    stat = os.stat
    trusted = state.trusted
    refreshed: dict[str, FileRecord] = {}
    try:
        for relative, file in files.items():
            if prefix + relative not in owned:
                return None
            current = stat(folder + relative)
            if not trusted(file, current):
                digest = content_digest(file)
                if not S_ISREG(current.st_mode) or _digest_of(folder + relative) != digest:
                    return None
                refreshed[relative] = file_record(current, digest)
    except OSError:
        return None
    return {**files, **refreshed} if refreshed else files


@dataclass(frozen=True)
class Plan:
    """Every change a render makes, worked out before anything is written."""

    changes: Changes
    writes: dict[str, str]  # added or changed path -> content digest
    records: dict[str, ClusterRecord]  # the cache's new state for the clusters in scope
    objects: int
    listed: frozenset[str]  # the files the new marker lists


def plan(
    folder: Folder,
    scope: Collection[str] | None,
    rendered: Iterable[ClusterFiles],
    reused: Mapping[str, ClusterRecord],
    state: State,
    digests: Mapping[str, str],
) -> Plan:
    """What writing the rendered and reused clusters into the folder changes (``scope``: None = all)."""
    guard = _Folder(folder.path)
    added: list[str] = []
    changed: list[str] = []
    foreign: list[Problem] = []
    writes: dict[str, str] = {}
    unchanged = 0
    objects = 0
    new_files: set[str] = set()
    records: dict[str, ClusterRecord] = {}

    for name, record in reused.items():
        new_files.update(f"{name}/{relative}" for relative in record.files)
        unchanged += len(record.files)
        objects += record.objects
        records[name] = record

    root = str(guard.root)
    checked: set[str] = set()
    for cluster in rendered:
        old = state.clusters.get(cluster.name)
        files: dict[str, FileRecord] = {}
        objects += cluster.objects
        # A cluster folder that does not exist holds nothing to compare with (the common first render),
        # and no symlink that could lead out of the output folder.
        missing = not os.path.isdir(f"{root}/{cluster.name}")
        for relative, digest in zip(cluster.paths, cluster.digests, strict=True):
            full = f"{cluster.name}/{relative}"
            new_files.add(full)
            parent, _, base = full.rpartition("/")
            if parent not in checked or base in ("", ".", ".."):
                if missing and ".." not in full.split("/") and not full.startswith("/"):
                    guard.path(f"{cluster.name}/_")
                else:
                    guard.path(full)  # refuses anything that would leave the output folder
                checked.add(parent)
            target = f"{root}/{full}"
            stat = None if missing else _stat(target)
            if stat is None:
                added.append(full)
                writes[full] = digest
                continue
            if not S_ISREG(stat.st_mode):
                foreign.append(Problem(f"refusing to replace {target}: it is not a file"))
                continue
            known = old.files.get(relative) if old is not None else None
            if known is not None and full in folder.owned and state.trusted(known, stat):
                current: str | None = content_digest(known)
            else:
                current = _digest_of(target)
            if current == digest:
                unchanged += 1
                files[relative] = file_record(stat, digest)
            elif full in folder.owned:
                changed.append(full)
                writes[full] = digest
            else:
                foreign.append(Problem(f"refusing to overwrite {target}: fanout did not write it"))
        records[cluster.name] = ClusterRecord(digests[cluster.name], files)  # written files join later
    if foreign:
        raise FanoutError(foreign)

    def in_scope(path: str) -> bool:
        return scope is None or path.split("/", 1)[0] in scope

    removed = sorted(
        p for p in folder.owned if p not in new_files and in_scope(p) and (folder.path / p).is_file()
    )
    listed = frozenset(p for p in folder.owned if not in_scope(p)).union(new_files)
    marker = marker_content(listed)
    changes = Changes(
        tuple(sorted(added)),
        tuple(sorted(changed)),
        tuple(removed),
        unchanged,
        marker,
        marker != folder.marker,
    )
    return Plan(changes, writes, records, objects, listed)


def _write_new(target: str, data: bytes, mode: int) -> os.stat_result:
    """A file that did not exist: written in place (no reader has an older version to keep seeing)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(target, flags, mode)
    except FileNotFoundError:  # the first file of a new folder (``plan`` checked where it leads)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd = os.open(target, flags, mode)
    except FileExistsError:  # appeared since the plan: replace it as a changed file
        return _replace(target, data, mode)
    try:
        _write_all(fd, data)
        return os.fstat(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _replace(target: str | Path, data: bytes, mode: int) -> os.stat_result:
    """Write beside the target and rename, so that a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".fanout-", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)  # mkstemp makes the file private; output files are ordinary files
        _write_all(fd, data)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
        return os.stat(target)  # after the rename, which changes the ctime
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode() -> int:
    """0o666 less the umask, as open() would give; os.umask can only be read by setting it."""
    current = os.umask(0o022)
    os.umask(current)
    return 0o666 & ~current


# A file to write: (path in its cluster's folder, content digest, whether it is new).
Write = tuple[str, str, bool]
# What to write, by cluster; and what was written, as a FileRecord per Write, in the same order.
Requests = Mapping[str, Sequence[Write]]
Written = dict[str, list[FileRecord]]
Writer = Callable[[str, int, Requests], Written]


def write_files(root: str, mode: int, requests: Requests, contents: Mapping[str, bytes]) -> Written:
    """Write each file under ``root``; returns each file's record for the cache."""
    written: Written = {}
    for cluster, items in requests.items():
        records = written[cluster] = []
        for relative, digest, new in items:
            target = f"{root}/{cluster}/{relative}"
            data = contents[digest]
            stat = _write_new(target, data, mode) if new else _replace(target, data, mode)
            records.append(file_record(stat, digest))
    return written


def apply(folder: Folder, result: Plan, writer: Writer) -> dict[str, ClusterRecord]:
    """Make the changes; returns the cache records of the clusters in scope, with every file written.

    ``writer`` writes the files (``write_files`` or worker processes that hold the bytes).
    """
    out = folder.path
    changes = result.changes
    out.mkdir(parents=True, exist_ok=True)
    guard = _Folder(out)
    mode = _file_mode()
    new = folder.owned.union(changes.added)
    final_written = False
    if len(new) > len(folder.owned):
        # Own the new files before writing them: an interrupted render must not leave files behind
        # that the next render refuses to overwrite or remove. (Often this is already the final list.)
        final_written = new == result.listed
        _replace(out / MARKER, changes.marker if final_written else marker_content(new), mode)
    root = str(guard.root)
    added = set(changes.added)
    requests: dict[str, list[Write]] = {}
    for path in (*changes.added, *changes.changed):
        cluster, _, relative = path.partition("/")
        requests.setdefault(cluster, []).append((relative, result.writes[path], path in added))
    written = writer(root, mode, requests) if requests else {}
    for path in changes.removed:
        target = guard.path(path)
        target.unlink()
        # Remove folders the removal emptied, up to (not including) the output folder.
        parent = target.parent
        while parent != guard.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    if (changes.marker_changed or len(new) > len(folder.owned)) and not final_written:
        _replace(out / MARKER, changes.marker, mode)

    records = dict(result.records)
    for cluster, items in requests.items():
        record = records[cluster]
        files = dict(record.files)
        files.update(zip((item[0] for item in items), written[cluster], strict=True))
        records[cluster] = ClusterRecord(record.inputs, files)
    return records
