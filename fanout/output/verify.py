"""Proving output files still exactly what fanout wrote: by stat where the cache vouches, else by content.

A run that reuses clusters (or changes nothing at all) spends most of its time here: one ``stat`` per file,
100,000 of them in a large fleet. The kernel's share of a ``stat`` is most of its cost, so on a machine
with more than one core the clusters are split with one forked child, which stats its half and sends back
only what is not plain "as recorded". A child that fails in any way costs speed, never correctness: its
half is then checked here.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from collections.abc import Mapping
from stat import S_ISREG

from fanout.output.cache import RACY_NS, FileRecord, State, content_digest, file_record
from fanout.output.cores import default_jobs, start_method

# Below this many files, forking costs more than it saves.
SPLIT_FROM = 20_000

Files = Mapping[str, FileRecord]


def digest_of(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def verified(
    folder: str, prefix: str, files: Files, owned: frozenset[str] | None, state: State
) -> Files | None:
    """``files`` (with fresh records where stat could not vouch) if every one is intact, else None.
    ``owned``: the paths the marker lists, each ``prefix + relative`` must be one of them (None: known to be).

    This runs for every file of every unchanged cluster, so it is written for speed: ``State.trusted``
    inlined, the ctime (which every write changes) compared first.
    """
    stat = os.stat
    racy = state.saved_ns - RACY_NS
    refreshed: dict[str, FileRecord] = {}
    try:
        # Paths relative to the cluster's folder: the kernel walks the output folder's path once.
        where = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for relative, file in files.items():
            if owned is not None and prefix + relative not in owned:
                return None
            current = stat(relative, dir_fd=where)
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
    finally:
        os.close(where)
    return {**files, **refreshed} if refreshed else files


def _verify(
    root: str, clusters: Mapping[str, Files], names: list[str], owned: frozenset[str] | None, state: State
) -> dict[str, Files | None]:
    return {name: verified(f"{root}/{name}/", f"{name}/", clusters[name], owned, state) for name in names}


def verify_clusters(
    root: str,
    clusters: Mapping[str, Files],
    owned: frozenset[str] | None,
    state: State,
    split_from: int = SPLIT_FROM,
) -> dict[str, Files | None]:
    """For each cluster, ``verified`` of its files in ``root/<cluster>/``: its records, or None."""
    names = list(clusters)
    small = sum(map(len, clusters.values())) < split_from or len(names) < 2
    if small or default_jobs() < 2 or start_method() != "fork":  # fork: safe (and cheap) only there
        return _verify(root, clusters, names, owned, state)
    theirs = names[1::2]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's lines run in another process (its result is tested)
        try:
            os.close(read_end)
            found = _verify(root, clusters, theirs, owned, state)
            # Only what differs from "as recorded": usually nothing at all.
            news = {n: None if f is None else dict(f) for n, f in found.items() if f is not clusters[n]}
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(marshal.dumps(news))
        finally:
            os._exit(0)
    os.close(write_end)
    result = _verify(root, clusters, names[0::2], owned, state)
    with os.fdopen(read_end, "rb") as pipe:
        raw = pipe.read()
    _, status = os.waitpid(pid, 0)
    sent: object = None
    with contextlib.suppress(ValueError, EOFError, TypeError):
        sent = marshal.loads(raw) if status == 0 else None
    if not isinstance(sent, dict):
        result.update(_verify(root, clusters, theirs, owned, state))  # the child failed: check here
    else:
        result.update((name, sent[name] if name in sent else clusters[name]) for name in theirs)
    return {name: result[name] for name in names}
