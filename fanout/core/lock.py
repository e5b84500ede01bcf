"""One writer at a time: an exclusive lock per output folder (and per cached clone), held for a whole run.

Two renders into one folder at once would each write a marker listing only their own files, after
which fanout treats the other's files as foreign. The lock is a POSIX record lock (``lockf``) on a file in
fanout's cache folder named by the folder's resolved path (nothing is added to the output folder itself);
unlike ``flock`` it is not inherited by worker processes, so it ends with the process that took it, even
when that process is killed; a second run
waits, saying so, or with ``--no-wait`` fails at once. Where locks cannot be taken (no ``fcntl``, a
cache folder that cannot be written) fanout carries on unlocked and says so.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fanout.core.errors import FanoutError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def lock_file(cache: Path, kind: str, key: str) -> Path:
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache / "locks" / f"{kind}-{digest}.lock"


@contextmanager
def exclusive(path: Path, what: str, wait: bool, notify: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock at ``path`` (``what`` names the locked thing for people) for the ``with`` block."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        notify(
            f"fanout: warning: cannot lock {what} ({exc.strerror or exc}); another fanout could write at once"
        )
        yield
        return
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # EAGAIN or EACCES: held by another process
            if not wait:
                raise FanoutError.at(
                    f"another fanout is writing {what}; try again later, or leave out --no-wait to wait"
                ) from None
            notify(f"fanout: waiting for another fanout that is writing {what}")
            fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
