"""The stat index: the no-op fast path's compact copy of what the render state says about every output file.

A no-op run (``fanout.output.snapshot``) must still prove that the output folder holds exactly what its
marker lists. The render state can prove it by stat, but loading it means loading every file's digest too
(100,000 records: 0.07 s), and the marker must be read and hashed (14 MB: 0.02 s). This index holds, for the
folder as a no-op run last proved it, only each file's (size, mtime, ctime, inode) as packed integers, the
marker's own stat and the SHA-256 the marker had then. A run whose snapshot names that marker, and which
finds every file, the marker included, with exactly those stats, has proved what the state would have
proved: a file fanout or anyone else wrote since changes its ctime (which cannot be set back), and a file
whose ctime was too close to the moment the index was written counts as unproved (git's "racy clean").

Any doubt sends the run down the state's path, which checks by content where stat cannot vouch and then
writes a fresh index. The index is a cache: a missing, damaged or foreign one only costs speed.
"""

from __future__ import annotations

import marshal
import os
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fanout.core.cachefile import read_sealed, write_sealed
from fanout.output.cache import RACY_NS, ClusterRecord, PackedFiles, StatFields, stat_fields, state_path
from fanout.output.cores import default_jobs, start_method
from fanout.output.folder import MARKER
from fanout.output.verify import SPLIT_FROM, stat_in

# The index file's kind (``core.cachefile``): the format and Python's marshal version.
_MAGIC = f"fanout-stat-index 1 {sys.version_info[0]}.{sys.version_info[1]} {marshal.version}\n".encode()
# One cluster: its name, its files' paths (relative to its folder) joined by NUL, and their stats packed
# as signed 64-bit integers, four per file.
_Cluster = tuple[str, str, bytes]


@dataclass(frozen=True)
class Index:
    marker: str  # SHA-256 (hex) of the marker the folder held
    marker_stat: StatFields
    clusters: tuple[_Cluster, ...]
    files: int  # how many files the clusters hold (kustomizations included)


def index_path(out: Path, folder: Path | None = None) -> Path:
    return state_path(out, folder).with_suffix(".stats")


def save(
    out: Path,
    code: bytes,
    marker: str,
    marker_stat: StatFields,
    clusters: Mapping[str, ClusterRecord],
    folder: Path | None = None,
) -> None:
    """Write the index of ``out``, whose marker (SHA-256 ``marker``, statted as ``marker_stat`` before it was
    read) lists exactly ``clusters``' files, each just proved to be as its record says. Quiet: an index that
    cannot be written only costs speed."""
    packed: list[_Cluster] = []
    for name, record in sorted(clusters.items()):
        files = record.files
        if isinstance(files, PackedFiles):
            numbers = files.stats
        else:
            numbers = array("q")
            try:
                for file in files.values():
                    numbers.extend(file[:4])
            except OverflowError:  # a stat field beyond 64 bits: no index, the state's path proves the folder
                return
        packed.append((name, "\0".join(files), numbers.tobytes()))
    payload = marshal.dumps((code, str(out.resolve()), marker, marker_stat, packed))
    write_sealed(index_path(out, folder), _MAGIC, payload)


def load(out: Path, code: bytes, folder: Path | None = None) -> Index | None:
    """The index this fanout (``code``) wrote for ``out``, if every stat in it is old enough to prove
    anything (see the module's docstring); else None."""
    sealed = read_sealed(index_path(out, folder), _MAGIC)
    if sealed is None:
        return None
    payload, saved_ns = sealed
    try:
        stored_code, where, marker, marker_stat, packed = marshal.loads(payload)
        if stored_code != code or where != str(out.resolve()):
            return None
        files = 0
        newest = marker_stat[2]
        for _, paths, numbers in packed:
            stats = array("q")
            stats.frombytes(numbers)
            count = paths.count("\0") + 1 if paths else 0
            if len(stats) != 4 * count:
                return None
            files += count
            if count:
                newest = max(newest, max(stats[2::4]))
        if newest >= saved_ns - RACY_NS:
            return None
        return Index(str(marker), tuple(marker_stat), tuple(packed), files)
    except (OSError, ValueError, EOFError, TypeError, IndexError):
        return None


def _intact(root: str, clusters: tuple[_Cluster, ...]) -> bool:
    for name, paths, numbers in clusters:
        stats = array("q")
        stats.frombytes(numbers)
        found = array("q")
        add = found.extend
        try:
            with stat_in(f"{root}/{name}") as stat:
                for relative in paths.split("\0") if paths else ():
                    current = stat(relative)
                    add((current.st_size, current.st_mtime_ns, current.st_ctime_ns, current.st_ino))
        except OSError:
            return False
        if found != stats:
            return False
    return True


def intact(out: Path, index: Index) -> bool:
    """True when the marker and every file the index lists still have exactly the stats it recorded."""
    try:
        if stat_fields(os.stat(out / MARKER)) != index.marker_stat:
            return False
    except OSError:
        return False
    root = str(out)
    clusters = index.clusters
    if index.files < SPLIT_FROM or len(clusters) < 2 or default_jobs() < 2 or start_method() != "fork":
        return _intact(root, clusters)
    # Most of a stat's cost is the kernel's: one forked child stats every other cluster; it answers by
    # its exit status, and a child that fails in any way only means "not proved".
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's lines run in another process (its result is tested)
        ok = False
        try:
            ok = _intact(root, clusters[1::2])
        finally:
            os._exit(0 if ok else 1)
    mine = _intact(root, clusters[0::2])
    _, status = os.waitpid(pid, 0)
    return mine and status == 0
