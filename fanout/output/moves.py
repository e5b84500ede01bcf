"""Moving staged files into place, all or none: the second half of every write into the output folder.

A new file is hard-linked to its name, never renamed over it: a file that appeared there since the plan
is not fanout's, and the link fails instead of replacing it. A changed file first gets a hard-linked
backup. ``Transaction`` can put everything back; it keeps counters, not an undo step per file (there
are 100,000 of them): undoing walks the same moves again.

Worker processes may make the moves of the clusters they rendered (``share_moves``). Their counters
stay in their process, so the writing process undoes their moves by what is on disk instead
(``Transaction.handed_off``): every move leaves its files in a state that says how far it got.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator, Mapping

from fanout.output.folder import TEMP_PREFIX
from fanout.output.staging import Requests, staged_path

# A file to move into place: its staged file, its target, the target's backup (None: a new file).
Move = tuple[str, str, str | None]


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
        for relative, _, new in items:
            target = f"{root}/{cluster}/{relative}"
            backup = None if new else txn_backup(target, token, index)
            yield staged_path(root, cluster, relative, token), target, backup
            index += 1


def share_moves(root: str, share: Requests, token: str, first: Mapping[str, int]) -> Iterator[Move]:
    """The moves of some clusters of a larger request, each numbered as in the whole (``first``)."""
    for cluster, items in share.items():
        yield from moves(root, {cluster: items}, token, first[cluster])


class Transaction:
    """Renames staged files into place and can put everything back."""

    def __init__(self, moves: Callable[[], Iterator[Move]]) -> None:
        self.moves = moves
        self.started = 0  # moves begun: a changed file may have its backup from here on
        self.done = 0  # moves complete
        self.handed_off = False  # the moves are being made by other processes: undone by the disk's state
        self.removed: list[tuple[str, str]] = []  # (target, backup)
        self.undo_marker: Callable[[], None] | None = None

    def put_all(self) -> None:
        link, unlink, replace = os.link, os.unlink, os.replace
        for staged, target, backup in self.moves():
            self.started += 1
            if backup is None:
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
