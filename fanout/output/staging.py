"""Writing files under temporary names, durably: the first half of every write into the output folder.

``fanout.output.sync`` decides what to write and renames the staged files into place; this module only
writes bytes (staged files, the marker), creates folders and flushes. The worker processes stage the
files whose bytes they hold with ``stage``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fanout.output.folder import MARKER_STAGING, TEMP_PREFIX


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_marker(target: str, data: bytes | Sequence[bytes | memoryview], mode: int) -> os.stat_result:
    """Write the marker beside itself and rename, so that a reader never sees half a marker.

    The staging name is fixed (``MARKER_STAGING``) and opened without O_EXCL: what a killed run left
    there is fanout's own and is overwritten, then renamed away. O_NOFOLLOW: a link planted under that
    name makes the write fail instead of truncating whatever the link points at.
    """
    tmp = f"{os.path.dirname(target)}/{MARKER_STAGING}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, mode)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)  # a leftover keeps its old mode otherwise
        for part in [data] if isinstance(data, bytes) else data:
            write_all(fd, part)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
        return os.stat(target)  # after the rename, which changes the ctime
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)  # the file opened above, so fanout's
        raise


def file_mode() -> int:
    """0o666 less the umask, as open() would give; os.umask can only be read by setting it."""
    current = os.umask(0o022)
    os.umask(current)
    return 0o666 & ~current


# How a file is written: over a changed file (CHANGED, falsy), as a new file beside others (NEW), or as a
# new file of a cluster whose folder does not exist yet (FRESH): staged in a staging folder of its own that
# is renamed into place whole, one rename for the cluster instead of a link and an unlink per file.
CHANGED, NEW, FRESH = 0, 1, 2
# A file to write: (path in its cluster's folder, content digest, how: CHANGED, NEW or FRESH). Every file
# of a FRESH cluster is FRESH.
Write = tuple[str, str, int]
# What to write, by cluster; and the folders a writer created for it, parents first.
Requests = Mapping[str, Sequence[Write]]
Written = list[str]
Writer = Callable[[str, int, Requests, str], Written]
# What the stat of a cluster's files says once they are in place: (size, mtime_ns, ctime_ns, inode) of
# each in turn, flat (an array of machine integers: at 1,000,000 files, tuples of int objects cost 200 MB).
Placed = Sequence[int]
# Moves the staged files into place (``fanout.output.moves``), in other processes; returns each cluster's
# Placed, in request order (taken right after its moves, which are the last to change the files).
Mover = Callable[[str, Requests, str], Mapping[str, Placed]]


class StageFailure(Exception):
    """Staging a file failed (disk full, permissions); the stager removed its own temporary files, not
    the folders it had created (``created``, parents first)."""

    def __init__(self, reason: str, created: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.created = list(created)


def whole(items: Sequence[Write]) -> bool:
    """Whether a cluster's writes are FRESH: its folder is staged whole (all of them are, or none)."""
    return bool(items) and items[0][2] == FRESH


def staging_folder(cluster: str, token: str) -> str:
    """Where the folder of a FRESH cluster is staged (relative to the output folder), to be renamed into
    place; a name fanout's marker can list before it exists, as a staged file's."""
    return f"{TEMP_PREFIX}{token}-{cluster}.tmp"


# The length of a token (``secrets.token_hex(6)``) and the longest file name most file systems take.
TOKEN_LENGTH = 12
NAME_MAX = 255


def stages_whole(cluster: str) -> bool:
    """Whether a new cluster's folder can be staged whole: its staging folder's name, 25 bytes longer
    than the cluster's, must be a name the file system takes (a cluster name may have 253 characters)."""
    return len(staging_folder(cluster, "0" * TOKEN_LENGTH).encode("utf-8", "surrogateescape")) <= NAME_MAX


def staged_path(root: str, cluster: str, relative: str, token: str, how: int = NEW) -> str:
    """Where a file is staged: beside it, under a name fanout's marker can list before it exists; a FRESH
    cluster's file under its own name in the cluster's staging folder."""
    if how == FRESH:
        return f"{root}/{staging_folder(cluster, token)}/{relative}"
    folder, _, name = f"{cluster}/{relative}".rpartition("/")
    return f"{root}/{folder}/{TEMP_PREFIX}{token}-{name}.tmp"


def _staged_folders(requests: Requests, token: str) -> Iterable[str]:
    """Each staged file's path relative to the output folder, for the folders it needs."""
    for cluster, items in requests.items():
        for relative, _, how in items:
            yield f"{staging_folder(cluster, token)}/{relative}" if how == FRESH else f"{cluster}/{relative}"


def stage(root: str, mode: int, requests: Requests, contents: Mapping[str, bytes], token: str) -> Written:
    """Create the folders the files need, then stage them (``write_files``); the folders created."""
    created: list[str] = []
    try:
        make_parents(root, _staged_folders(requests, token), created)
        write_files(root, mode, requests, contents, token)
    except OSError as exc:
        raise StageFailure(f"{exc.strerror or exc} ({exc.filename})", created) from None
    except StageFailure as failure:
        raise StageFailure(failure.reason, created) from None
    return created


def write_files(root: str, mode: int, requests: Requests, contents: Mapping[str, bytes], token: str) -> int:
    """Stage each file: its full content in a new temporary file beside it. Nothing is renamed here.
    Returns how many files were staged."""
    made = 0  # counted, not listed: the names are made again to remove them (100,000 of them)
    target = root
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        for cluster, items in requests.items():
            for relative, digest, how in items:
                target = staged_path(root, cluster, relative, token, how)
                fd = os.open(target, flags, mode)
                made += 1
                try:
                    write_all(fd, contents[digest])
                finally:
                    os.close(fd)
    except OSError as exc:
        names = (
            staged_path(root, c, relative, token, how)
            for c, items in requests.items()
            for relative, _, how in items
        )
        for path in itertools.islice(names, made):
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise StageFailure(f"{exc.strerror or exc} ({exc.filename or target})") from None
    return made


def flush(root: str) -> None:
    """Make what was written so far durable: one ``syncfs`` of the folder's file system, not a fsync
    per file (a hundred thousand of those cost more than the render)."""
    syncfs = getattr(libc(), "syncfs", None) if sys.platform.startswith("linux") else None
    if syncfs is not None:
        fd = os.open(root, os.O_RDONLY)
        try:
            syncfs(fd)
        finally:
            os.close(fd)
    elif hasattr(os, "sync"):  # pragma: no cover - other systems
        os.sync()


@functools.cache  # one handle per process (a folder move asks once per new cluster)
def libc() -> Any:
    """The C library, for the Linux calls Python does not wrap (syncfs, prctl, renameat2)."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def make_parents(root: str, paths: Iterable[str], created: list[str]) -> None:
    """Create the folders ``paths`` need; adds those created to ``created``, parents first (even when a
    later one fails)."""
    for folder in sorted({os.path.dirname(f"{root}/{p}") for p in paths}):
        missing: list[str] = []
        current = folder
        while not os.path.isdir(current):
            missing.append(current)
            current = os.path.dirname(current)
        for path in reversed(missing):
            if not os.path.isdir(path):
                os.mkdir(path)
                created.append(path)
