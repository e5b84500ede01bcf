"""Moving staged files into place, all or none: the second half of every write into the output folder.

A new file is hard-linked to its name, never renamed over it: a file that appeared there since the plan
is not fanout's, and the link fails instead of replacing it. A changed file first gets a hard-linked
backup. A new cluster's files are staged in a folder of their own and moved in with one rename of that
folder (``FolderMove``), which never replaces a folder that appeared since the plan. ``Transaction`` can
put everything back; it keeps counters, not an undo step per file (there
are 100,000 of them): undoing walks the same moves again.

Worker processes may make the moves of the clusters they rendered (``share_moves``). Their counters
stay in their process, so the writing process undoes their moves by what is on disk instead
(``Transaction.handed_off``): every move leaves its files in a state that says how far it got.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import itertools
import os
import sys
from collections.abc import Callable, Iterator, Mapping

from fanout.output.folder import TEMP_PREFIX
from fanout.output.staging import Requests, libc, staged_path, staging_folder, whole

# A file to move into place: its staged file, its target, the target's backup (None: a new file).
Move = tuple[str, str, str | None]
# A FRESH cluster's folder to move into place: its staging folder, its folder, and which of the moves its
# files are (the first's position, how many): the rename makes all of them at once.
FolderMove = tuple[str, str, int, int]


def txn_backup(target: str, token: str, index: int) -> str:
    """The name a changed or removed file keeps until the write is complete."""
    return f"{os.path.dirname(target)}/{TEMP_PREFIX}{token}-{index}.bak"


def first_indexes(requests: Requests) -> dict[str, int]:
    """Each cluster's first index in the moves' order (backups are numbered in that order)."""
    first: dict[str, int] = {}
    count = 0
    for cluster, items in requests.items():
        first[cluster] = count
        count += len(items)
    return first


def moves(root: str, requests: Requests, token: str, index: int = 0) -> Iterator[Move]:
    """Every requested file's move, in request order; made on demand rather than listed (100,000 of them).

    ``index`` numbers the first backup (of ``requests`` taken out of a larger request).
    """
    for cluster, items in requests.items():
        for relative, _, how in items:
            target = f"{root}/{cluster}/{relative}"
            backup = None if how else txn_backup(target, token, index)
            yield staged_path(root, cluster, relative, token, how), target, backup
            index += 1


def folder_moves(root: str, requests: Requests, token: str) -> Iterator[FolderMove]:
    """The folder moves of the FRESH clusters of ``requests``, positioned in ``moves``' order."""
    first = 0
    for cluster, items in requests.items():
        if whole(items):
            yield f"{root}/{staging_folder(cluster, token)}", f"{root}/{cluster}", first, len(items)
        first += len(items)


def rename_new(source: str, target: str) -> None:
    """Rename the folder ``source`` to ``target``, which must not exist: a folder that appeared there since
    the plan is not fanout's, and the rename fails (FileExistsError) instead of replacing it, as the link of
    a new file does. Linux: renameat2's RENAME_NOREPLACE, atomic; elsewhere, or where the file system does
    not take the flag, a check just before a plain rename (which would replace an empty folder)."""
    if sys.platform.startswith("linux"):
        try:
            renameat2 = libc().renameat2
        except AttributeError:  # pragma: no cover - a C library before glibc 2.28
            renameat2 = None
        if renameat2 is not None:
            at_fdcwd, rename_noreplace = -100, 1
            if renameat2(at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target), rename_noreplace) == 0:
                return
            code = ctypes.get_errno()
            if code not in (errno.EINVAL, errno.ENOSYS):  # else: the file system does not take the flag
                raise OSError(code, os.strerror(code), target)
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)
    os.rename(source, target)


def share_moves(root: str, share: Requests, token: str, first: Mapping[str, int]) -> Iterator[Move]:
    """The moves of some clusters of a larger request, each numbered as in the whole (``first``)."""
    for cluster, items in share.items():
        yield from moves(root, {cluster: items}, token, first[cluster])


class Transaction:
    """Renames staged files into place and can put everything back."""

    def __init__(
        self, moves: Callable[[], Iterator[Move]], folders: Callable[[], Iterator[FolderMove]] | None = None
    ) -> None:
        self.moves = moves
        self.folders = folders or (lambda: iter(()))
        self.started = 0  # moves begun: a changed file may have its backup from here on
        self.done = 0  # moves complete
        self.handed_off = False  # the moves are being made by other processes: undone by the disk's state
        self.removed: list[tuple[str, str]] = []  # (target, backup)
        self.undo_marker: Callable[[], None] | None = None

    def put_all(self) -> None:
        link, unlink, replace = os.link, os.unlink, os.replace
        whole = {first: (staging, folder, count) for staging, folder, first, count in self.folders()}
        skip = 0
        for position, (staged, target, backup) in enumerate(self.moves()):
            if skip:  # moved in with its cluster's folder
                skip -= 1
                continue
            self.started += 1
            if position in whole:
                staging, folder, count = whole[position]
                rename_new(staging, folder)  # every file of the cluster at once
                self.started += count - 1
                self.done += count
                skip = count - 1
            elif backup is None:
                link(staged, target)  # fails if a file appeared there since the plan: it is not ours
                self.done += 1
                unlink(staged)
            else:
                link(target, backup)
                replace(staged, target)
                self.done += 1

    def remove(self, target: str, backup: str) -> None:
        os.replace(target, backup)
        self.removed.append((target, backup))

    def backups(self) -> Iterator[str]:
        begun = self.moves() if self.handed_off else itertools.islice(self.moves(), self.started)
        for _, _, backup in begun:
            if backup is not None:
                yield backup
        for _, backup in self.removed:
            yield backup

    def rollback(self) -> None:
        for target, backup in reversed(self.removed):
            with contextlib.suppress(OSError):
                os.replace(backup, target)
        # A cluster folder moved in goes back to its staging folder whole (its files' moves below then
        # find nothing to undo; the caller removes the staged files by name, then the folders it made).
        for staging, folder, first, _ in self.folders():
            if self.handed_off or first < self.done:
                _folder_back(staging, folder)
        if self.handed_off:
            _undo_by_state(self.moves())
        for _, target, backup_of in reversed(list(itertools.islice(self.moves(), self.done))):
            with contextlib.suppress(OSError):
                if backup_of is None:
                    os.unlink(target)
                else:
                    os.replace(backup_of, target)
        if self.undo_marker is not None:
            with contextlib.suppress(OSError):
                self.undo_marker()
        for backup in self.backups():
            with contextlib.suppress(OSError):
                os.unlink(backup)


def _folder_back(staging: str, folder: str) -> None:
    """Undo a folder move: only one that was made (its staging folder is gone), and since the rename never
    replaces, the folder there is the one fanout staged."""
    with contextlib.suppress(OSError):
        if not os.path.lexists(staging) and os.path.isdir(folder) and not os.path.islink(folder):
            os.rename(folder, staging)


def _undo_by_state(made: Iterator[Move]) -> None:
    """Undo moves that other processes made, whose counters are not known here.

    A move's staged file exists until the move is complete (a new file: linked, then its staged name
    unlinked; a changed one: backed up, then replaced), and its backup only once it began; a new file's
    target that exists under another inode than its staged file is someone else's (the link failed).
    """
    for staged, target, backup in made:
        with contextlib.suppress(OSError):
            if backup is None:
                placed = os.lstat(target)
                try:
                    left = os.lstat(staged)
                except FileNotFoundError:
                    os.unlink(target)  # complete: the staged name went only after the link
                    continue
                if (left.st_ino, left.st_dev) == (placed.st_ino, placed.st_dev):
                    os.unlink(target)  # linked, and stopped before the staged name went
            elif os.path.lexists(backup) and not os.path.lexists(staged):
                os.replace(backup, target)  # complete: put the backup back
