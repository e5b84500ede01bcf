"""Rendering clusters on every core: worker processes render chunks of clusters, the parent collects bytes.

Each cluster's files depend only on its own plan, so splitting the clusters among processes cannot
change a single byte; the parent puts the clusters back in plan order. Workers send back compact
results: each distinct file content once per chunk, with its SHA-256, and per cluster only paths and
digests. Clusters with the same labels are put in the same chunk, because they share the most objects
and each process renders an object once for all the clusters of a chunk.

On any render error, the parent renders everything again in-process so that the error report is
exactly the sequential one (every problem, each listing all the clusters it occurs in).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from fanout.errors import FanoutError
from fanout.model import Inputs
from fanout.pipeline import Rendering, render_plans
from fanout.place import ClusterPlan

# Below this many clusters per worker, starting processes costs more than it saves.
MIN_CLUSTERS_PER_JOB = 4
CHUNKS_PER_JOB = 4


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
class RenderedFiles:
    clusters: tuple[ClusterFiles, ...]  # in plan order
    contents: dict[str, bytes]  # digest -> content, each distinct content once


class _Chunk(NamedTuple):
    clusters: list[tuple[str, tuple[str, ...], tuple[int, ...]]]  # name, paths, indexes into contents
    contents: list[bytes]
    digests: list[str]
    failed: bool


def default_jobs() -> int:
    return os.cpu_count() or 1


def _render_chunk(inputs: Inputs, plans: Sequence[ClusterPlan]) -> _Chunk:
    try:
        rendering = render_plans(inputs, tuple(plans))
    except FanoutError:
        return _Chunk([], [], [], True)
    return _pack(rendering)


def _pack(rendering: Rendering) -> _Chunk:
    index: dict[int, int] = {}  # id(content) -> position in contents: shared objects are sent once
    contents: list[bytes] = []
    clusters = []
    for output in rendering.clusters:
        files = output.files()
        positions = []
        for data in files.values():
            position = index.get(id(data))
            if position is None:
                position = index[id(data)] = len(contents)
                contents.append(data)
            positions.append(position)
        clusters.append((output.cluster.name, tuple(files), tuple(positions)))
    digests = [hashlib.sha256(data).hexdigest() for data in contents]
    return _Chunk(clusters, contents, digests, False)


# The one piece of per-process state: what a worker renders from, set once when the worker starts
# (inherited without copying under fork, pickled once per worker under spawn).
_WORKER: dict[str, Any] = {}


def _init_worker(inputs: Inputs, plans: tuple[ClusterPlan, ...]) -> None:
    _WORKER["inputs"], _WORKER["plans"] = inputs, plans


def _work(indexes: list[int]) -> _Chunk:
    plans: tuple[ClusterPlan, ...] = _WORKER["plans"]
    return _render_chunk(_WORKER["inputs"], [plans[i] for i in indexes])


def _chunks(plans: Sequence[ClusterPlan], count: int) -> list[list[int]]:
    """``count`` chunks of plan indexes, clusters with the same labels next to each other."""
    order = sorted(
        range(len(plans)),
        key=lambda i: (sorted(plans[i].cluster.labels.items()), plans[i].cluster.name),
    )
    size = -(-len(order) // count)
    return [order[start : start + size] for start in range(0, len(order), size)]


def start_method() -> str:
    # fork shares the parsed inputs with the workers for free; where it is unsafe or missing, spawn.
    return "fork" if sys.platform.startswith("linux") else "spawn"


class _Collector:
    def __init__(self, names: Sequence[str]) -> None:
        self.by_name: dict[str, ClusterFiles] = {}
        self.contents: dict[str, bytes] = {}
        self.failed = False
        self.names = names

    def add(self, chunk: _Chunk, on_cluster: Callable[[str], None] | None) -> None:
        if chunk.failed:
            self.failed = True
            return
        for digest, data in zip(chunk.digests, chunk.contents, strict=True):
            self.contents.setdefault(digest, data)
        for name, paths, positions in chunk.clusters:
            self.by_name[name] = ClusterFiles(name, paths, tuple(chunk.digests[p] for p in positions))
            if on_cluster is not None:
                on_cluster(name)

    def result(self) -> RenderedFiles:
        ordered = tuple(self.by_name[name] for name in self.names)
        return RenderedFiles(ordered, self.contents)


def files_of(rendering: Rendering) -> RenderedFiles:
    """The files of an in-memory rendering, in the form ``render_files`` gives."""
    collector = _Collector([c.cluster.name for c in rendering.clusters])
    collector.add(_pack(rendering), None)
    return collector.result()


def render_files(
    inputs: Inputs,
    plans: Sequence[ClusterPlan],
    jobs: int = 1,
    on_cluster: Callable[[str], None] | None = None,
    method: str | None = None,
) -> RenderedFiles:
    """Render ``plans`` with up to ``jobs`` processes; the same result for any ``jobs``.

    Raises FanoutError (the sequential render's, exactly) when any cluster fails to render.
    """
    plans = tuple(plans)
    collector = _Collector([p.cluster.name for p in plans])
    workers = min(jobs, len(plans) // MIN_CLUSTERS_PER_JOB)
    if workers <= 1:
        collector.add(_render_chunk(inputs, plans), on_cluster)
    else:
        for chunk in _pool_chunks(inputs, plans, workers, method or start_method()):
            collector.add(chunk, on_cluster)
    if collector.failed:
        render_plans(inputs, plans)  # raises the full, ordered report
        raise AssertionError("a chunk failed to render but the whole render did not")  # pragma: no cover
    return collector.result()


def _pool_chunks(
    inputs: Inputs, plans: tuple[ClusterPlan, ...], workers: int, method: str
) -> Iterator[_Chunk]:
    context = multiprocessing.get_context(method)
    with context.Pool(workers, initializer=_init_worker, initargs=(inputs, plans)) as pool:
        yield from pool.imap_unordered(_work, _chunks(plans, workers * CHUNKS_PER_JOB))
