"""Proving output files still exactly what fanout wrote: by stat where the cache vouches, else by content.

A run that reuses clusters (or changes nothing at all) spends most of its time here: one ``stat`` per file,
100,000 of them in a large fleet. The kernel's share of a ``stat`` is most of its cost, so on a machine
with more than one core the clusters are split with one forked child, which stats its half and sends back
only what is not plain "as recorded". A child that fails in any way costs speed, never correctness: its
half is then checked here. After an edit, the whole proof starts in a child before the inputs are read
(``EarlyProof``), and the render takes its answer only if the folder is still the one it looked at.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from stat import S_ISREG

from fanout.output.cache import RACY_NS, FileRecord, State, content_digest, file_record
from fanout.output.cores import default_jobs, start_method

# Below this many files, forking costs more than it saves.
SPLIT_FROM = 20_000

Files = Mapping[str, FileRecord]


# Where the system can stat a path relative to an open folder (Linux, macOS), the kernel walks the output
# folder's path once per cluster rather than once per file; elsewhere, full paths.
_RELATIVE = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


@contextmanager
def stat_in(folder: str) -> Iterator[Callable[[str], os.stat_result]]:
    """``os.stat`` of paths relative to ``folder`` (OSError if it cannot be opened)."""
    if not _RELATIVE:
        prefix = folder.rstrip("/") + "/"
        yield lambda relative: os.stat(prefix + relative)
        return
    where = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield functools.partial(os.stat, dir_fd=where)
    finally:
        os.close(where)


def digest_of(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def verified(
    folder: str, prefix: str, files: Files, owned: AbstractSet[str] | None, state: State
) -> Files | None:
    """``files`` (with fresh records where stat could not vouch) if every one is intact, else None.
    ``owned``: the paths the marker lists, each ``prefix + relative`` must be one of them (None: known to be).

    This runs for every file of every unchanged cluster, so it is written for speed: ``State.trusted``
    inlined, the ctime (which every write changes) compared first.
    """
    racy = state.saved_ns - RACY_NS
    refreshed: dict[str, FileRecord] = {}
    try:
        with stat_in(folder) as stat:
            for relative, file in files.items():
                if owned is not None and prefix + relative not in owned:
                    return None
                current = stat(relative)
                if (
                    current.st_ctime_ns != file[2]
                    or file[2] >= racy
                    or current.st_mtime_ns != file[1]
                    or current.st_size != file[0]
                    or current.st_ino != file[3]
                ):
                    digest = content_digest(file)
                    if not S_ISREG(current.st_mode) or digest_of(folder + relative) != digest:
                        return None
                    refreshed[relative] = file_record(current, digest)
    except OSError:
        return None
    if not refreshed:
        return files
    merged = dict(files.items())
    merged.update(refreshed)
    return merged


def _verify(
    root: str, clusters: Mapping[str, Files], names: list[str], owned: AbstractSet[str] | None, state: State
) -> dict[str, Files | None]:
    return {name: verified(f"{root}/{name}/", f"{name}/", clusters[name], owned, state) for name in names}


def verify_clusters(
    root: str,
    clusters: Mapping[str, Files],
    owned: AbstractSet[str] | None,
    state: State,
    split_from: int = SPLIT_FROM,
) -> dict[str, Files | None]:
    """For each cluster, ``verified`` of its files in ``root/<cluster>/``: its records, or None."""
    names = list(clusters)
    small = sum(map(len, clusters.values())) < split_from or len(names) < 2
    if small or default_jobs() < 2 or start_method() != "fork":  # fork: safe (and cheap) only there
        return _verify(root, clusters, names, owned, state)
    theirs = names[1::2]
    child = _Child(lambda: _verify(root, clusters, theirs, owned, state), clusters)
    result = _verify(root, clusters, names[0::2], owned, state)
    sent = child.answer()
    if sent is None:
        result.update(_verify(root, clusters, theirs, owned, state))  # the child failed: check here
    else:
        result.update((name, sent.get(name, clusters[name])) for name in theirs)
    return {name: result[name] for name in names}


class _Child:
    """``work`` (proving some clusters' files) in a forked child, which sends back only what differs from
    "as recorded" (usually nothing at all)."""

    def __init__(self, work: Callable[[], Mapping[str, Files | None]], clusters: Mapping[str, Files]) -> None:
        read_end, write_end = os.pipe()
        self._pid: int | None = os.fork()
        if self._pid == 0:  # pragma: no cover - runs in the child (its answer is tested)
            try:
                os.close(read_end)
                found = work()
                news = {
                    n: None if f is None else dict(f.items())
                    for n, f in found.items()
                    if f is not clusters[n]
                }
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(marshal.dumps(news))
            finally:
                os._exit(0)
        os.close(write_end)
        self._pipe = os.fdopen(read_end, "rb")

    def answer(self) -> dict[str, Files | None] | None:
        """The clusters whose answer is not "as recorded"; None when the child failed in any way."""
        assert self._pid is not None
        raw = self._pipe.read()
        self._pipe.close()
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        sent: object = None
        with contextlib.suppress(ValueError, EOFError, TypeError):
            sent = marshal.loads(raw) if status == 0 else None
        return sent if isinstance(sent, dict) else None

    def stop(self) -> None:
        """Stop a child whose answer will not be asked for."""
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self._pid, 0)
            self._pid = None
            self._pipe.close()


class EarlyProof:
    """``verify_clusters`` of every cluster of a render state, in a forked child that starts before the inputs
    are read: the stat proof (0.15 s at 100,000 files) then runs on the other core while this process reads
    and plans. Not split further: this process is busy meanwhile, and there may be only two cores.

    The answer is about the folder as it was when the child looked, before this run took the output folder's
    lock; the caller must take it only when, under the lock, the state file and the marker are still the ones
    it was started from (any fanout that wrote the folder since changed both).
    """

    def __init__(self, root: str, clusters: Mapping[str, Files], state: State) -> None:
        self.clusters = clusters
        names = list(clusters)
        self._child: _Child | None = _Child(lambda: _verify(root, clusters, names, None, state), clusters)
        self._answer: dict[str, Files | None] | None = None

    def answer(self) -> dict[str, Files | None] | None:
        """Each cluster's files, refreshed where stat could not vouch, or None where one is not intact; None
        as a whole when the child failed (the caller then proves the folder itself)."""
        if self._child is not None:
            sent = self._child.answer()
            self._child = None
            if sent is not None:
                self._answer = {name: sent.get(name, files) for name, files in self.clusters.items()}
        return self._answer

    def close(self) -> None:
        """Stop the child if its answer was never asked for (the run ended early)."""
        if self._child is not None:
            self._child.stop()
            self._child = None
