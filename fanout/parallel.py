"""Rendering clusters on every core: worker processes render chunks of clusters, then write their files.

Each cluster's files depend only on its own plan, so splitting the clusters among processes cannot
change a single byte; the parent puts the clusters back in plan order. A render has two phases, so
that an error anywhere still leaves the output folder untouched:

1. *render*: each worker renders chunks of clusters and keeps the bytes; it sends back only paths and
   content digests (SHA-256), which is all the parent needs to work out what changes;
2. *write*: once every cluster rendered without error and the parent has planned the changes, each
   worker writes the files of the clusters it rendered.

Clusters with the same labels go to the same chunk: they share the most objects, and a process renders
an object once for all the clusters of a chunk. On a render error, the parent renders everything again
in-process, so that the report is exactly the sequential one (every problem, with all its clusters).
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from fanout.errors import FanoutError
from fanout.model import Inputs
from fanout.pipeline import Rendering, render_plans
from fanout.place import ClusterPlan
from fanout.sync import ClusterFiles, Write, Written, write_files

# Below this many clusters per worker, starting processes costs more than it saves.
MIN_CLUSTERS_PER_JOB = 4
CHUNKS_PER_JOB = 4

OnCluster = Callable[[str], None] | None


class Renderer(Protocol):
    def render(self, on_cluster: OnCluster = None) -> tuple[ClusterFiles, ...]:
        """Render every cluster; raises FanoutError (the sequential report) on any problem."""
        ...

    def write(self, root: str, items: Sequence[Write], mode: int) -> Written:
        """Write rendered files (paths relative to ``root``); returns each file's stat."""
        ...


def default_jobs() -> int:
    return os.cpu_count() or 1


def start_method() -> str:
    # fork shares the parsed inputs with the workers for free; where it is unsafe or missing, spawn.
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _pack(rendering: Rendering, contents: dict[str, bytes]) -> list[ClusterFiles]:
    """Each cluster's paths and digests; every distinct content goes into ``contents`` once."""
    digest_of: dict[int, str] = {}  # id(content) -> digest: shared objects are hashed once
    clusters = []
    for output in rendering.clusters:
        files = output.files()
        digests = []
        for data in files.values():
            digest = digest_of.get(id(data))
            if digest is None:
                digest = digest_of[id(data)] = hashlib.sha256(data).hexdigest()
                contents.setdefault(digest, data)
            digests.append(digest)
        clusters.append(ClusterFiles(output.cluster.name, tuple(files), tuple(digests)))
    return clusters


class InProcess:
    """Renders and writes in this process; also wraps a rendering made elsewhere (``from_rendering``)."""

    def __init__(self, inputs: Inputs, plans: Sequence[ClusterPlan]) -> None:
        self.inputs = inputs
        self.plans = tuple(plans)
        self.contents: dict[str, bytes] = {}
        self._done: tuple[ClusterFiles, ...] | None = None

    @classmethod
    def from_rendering(cls, rendering: Rendering) -> InProcess:
        renderer = cls(rendering.inputs, ())
        renderer._done = tuple(_pack(rendering, renderer.contents))
        return renderer

    def render(self, on_cluster: OnCluster = None) -> tuple[ClusterFiles, ...]:
        if self._done is None:
            self._done = tuple(_pack(render_plans(self.inputs, self.plans, on_cluster), self.contents))
        return self._done

    def write(self, root: str, items: Sequence[Write], mode: int) -> Written:
        return write_files(root, items, mode, self.contents)


def _chunks(plans: Sequence[ClusterPlan], count: int) -> list[list[int]]:
    """At most ``count`` chunks of plan indexes, clusters with the same labels next to each other."""
    order = sorted(
        range(len(plans)), key=lambda i: (sorted(plans[i].cluster.labels.items()), plans[i].cluster.name)
    )
    size = -(-len(order) // count)
    return [order[start : start + size] for start in range(0, len(order), size)]


def _worker(conn: Connection, inputs: Inputs, plans: tuple[ClusterPlan, ...]) -> None:
    """A worker's loop: ("render", indexes), ("write", root, items, mode), ("stop",)."""
    contents: dict[str, bytes] = {}
    try:
        while True:
            message = conn.recv()
            if message[0] == "render":
                try:
                    rendering = render_plans(inputs, tuple(plans[i] for i in message[1]))
                except FanoutError:
                    conn.send(("failed",))
                    continue
                conn.send(("rendered", _pack(rendering, contents)))
            elif message[0] == "write":
                _, root, items, mode = message
                conn.send(("written", write_files(root, items, mode, contents)))
            elif message[0] == "contents":
                conn.send(("contents", contents))
            else:
                return
    except (EOFError, KeyboardInterrupt):  # the parent is gone or interrupted: just stop
        return
    except BaseException:  # a bug: tell the parent rather than leave it waiting
        conn.send(("error", traceback.format_exc()))


class WorkerError(RuntimeError):
    """A worker process failed in a way that is fanout's fault, not the input's."""


class Workers:
    """Worker processes that render chunks of clusters, keep the bytes, and later write them."""

    def __init__(self, inputs: Inputs, plans: Sequence[ClusterPlan], count: int, method: str) -> None:
        self.inputs = inputs
        self.plans = tuple(plans)
        context: Any = multiprocessing.get_context(method)
        self.conns: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=_worker, args=(theirs, inputs, self.plans), daemon=True)
            process.start()
            theirs.close()
            self.conns.append(ours)
            self.processes.append(process)
        self.owner: dict[str, int] = {}  # cluster -> the worker that holds its files

    def _receive(self, index: int) -> tuple[Any, ...]:
        try:
            message: tuple[Any, ...] = self.conns[index].recv()
        except EOFError:
            raise WorkerError(f"worker process {index} stopped unexpectedly") from None
        if message[0] == "error":
            raise WorkerError(f"worker process {index} failed:\n{message[1]}")
        return message

    def render(self, on_cluster: OnCluster = None) -> tuple[ClusterFiles, ...]:
        pending = deque(_chunks(self.plans, len(self.conns) * CHUNKS_PER_JOB))
        busy: set[int] = set()
        failed = False
        by_name: dict[str, ClusterFiles] = {}
        for index, conn in enumerate(self.conns):
            if pending:
                conn.send(("render", pending.popleft()))
                busy.add(index)
        while busy:
            for ready in wait([self.conns[i] for i in busy]):
                index = next(i for i in busy if self.conns[i] is ready)
                conn = self.conns[index]
                busy.discard(index)
                message = self._receive(index)
                if message[0] == "failed":
                    failed = True
                else:
                    for cluster in message[1]:
                        by_name[cluster.name] = cluster
                        self.owner[cluster.name] = index
                        if on_cluster is not None:
                            on_cluster(cluster.name)
                if pending and not failed:
                    conn.send(("render", pending.popleft()))
                    busy.add(index)
        if failed:
            render_plans(self.inputs, self.plans)  # raises the full, ordered report
            raise AssertionError("a chunk failed to render but the whole render did not")  # pragma: no cover
        return tuple(by_name[p.cluster.name] for p in self.plans)

    def write(self, root: str, items: Sequence[Write], mode: int) -> Written:
        shares: dict[int, list[Write]] = {}
        for item in items:
            shares.setdefault(self.owner[item[0].partition("/")[0]], []).append(item)
        for index, share in shares.items():
            self.conns[index].send(("write", root, share, mode))
        written: Written = []
        for index in shares:
            written.extend(self._receive(index)[1])
        return written

    def all_contents(self) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for index, conn in enumerate(self.conns):
            conn.send(("contents",))
            found.update(self._receive(index)[1])
        return found

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):  # the worker may be gone already
                conn.send(("stop",))
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():  # pragma: no cover - a stuck worker
                process.terminate()
        for conn in self.conns:
            conn.close()


@contextmanager
def renderer(
    inputs: Inputs, plans: Sequence[ClusterPlan], jobs: int = 1, method: str | None = None
) -> Iterator[InProcess | Workers]:
    """A renderer for ``plans`` that uses up to ``jobs`` processes; the same files for any ``jobs``."""
    count = min(jobs, len(plans) // MIN_CLUSTERS_PER_JOB)
    if count <= 1:
        yield InProcess(inputs, plans)
        return
    workers = Workers(inputs, plans, count, method or start_method())
    try:
        yield workers
    finally:
        workers.close()


@dataclass(frozen=True)
class RenderedFiles:
    clusters: tuple[ClusterFiles, ...]  # in plan order
    contents: Mapping[str, bytes]  # digest -> content, each distinct content once


def render_files(
    inputs: Inputs, plans: Sequence[ClusterPlan], jobs: int = 1, method: str | None = None
) -> RenderedFiles:
    """Every file's content in memory, for callers that want bytes rather than a folder."""
    with renderer(inputs, plans, jobs, method) as active:
        clusters = active.render()
        contents = active.contents if isinstance(active, InProcess) else active.all_contents()
    return RenderedFiles(clusters, contents)
