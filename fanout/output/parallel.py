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
import functools
import hashlib
import multiprocessing
import os
import signal
import sys
import traceback
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from fanout.core.errors import FanoutError
from fanout.core.model import Inputs
from fanout.output.contents import Contents
from fanout.output.cores import start_method
from fanout.output.moves import Transaction, first_indexes, folder_moves, share_moves
from fanout.output.staging import (
    NEW,
    Mover,
    Placed,
    Requests,
    StageFailure,
    Write,
    Written,
    flush,
    libc,
    stage,
)
from fanout.output.sync import ClusterFiles
from fanout.render.emit import KUSTOMIZATION
from fanout.render.pipeline import Renderer as ObjectRenderer
from fanout.render.pipeline import Rendering, Reuse, check_plans, render_plans
from fanout.render.place import ClusterPlan

# Below this many clusters per worker, starting processes costs more than it saves.
MIN_CLUSTERS_PER_JOB = 4
CHUNKS_PER_JOB = 2
# Clusters rendered before their files are packed (hashed and compressed): small enough that a batch's
# uncompressed files are a few megabytes, large enough that each call's fixed cost does not count.
BATCH = 32

OnCluster = Callable[[str], None] | None


class Renderer(Protocol):
    def render(self, on_cluster: OnCluster = None) -> tuple[ClusterFiles, ...]:
        """Render every cluster; raises FanoutError (the sequential report) on any problem."""
        ...

    def write(self, root: str, mode: int, requests: Requests, token: str) -> Written:
        """Stage rendered files in the folder ``root`` (see ``fanout.output.staging.stage``);
        called once, after ``render``."""
        ...

    def mover(self) -> Mover | None:
        """What moves the staged files into place, if not the writing process."""
        ...


def _pack(
    rendering: Rendering,
    contents: Contents,
    shared: dict[tuple[str, ...], tuple[str, ...]] | None = None,
) -> list[ClusterFiles]:
    """Each cluster's paths and digests; every distinct content goes into ``contents`` once, and clusters
    with the same files share one tuple of paths (``shared``, across calls)."""
    shared = {} if shared is None else shared
    # id(content) -> (digest, content): shared objects are hashed once. The content is held here too:
    # a kustomization is made afresh per cluster, and once freed its id can be reused by the next one,
    # which would then get the wrong digest (it did: a cluster was written another's kustomization).
    digest_of: dict[int, tuple[str, bytes]] = {}
    clusters = []
    for output in rendering.clusters:
        digests = []
        fresh: dict[str, bytes] = {}  # contents this cluster is the first to have
        entries = [(o.content, o.digest) for o in output.objects]
        entries.append((output.kustomization(), ""))
        for data, digest in entries:
            if not digest:  # else not rendered: its file holds it (``Renderer.reuse``)
                known = digest_of.get(id(data))
                if known is None:
                    digest = hashlib.sha256(data).hexdigest()
                    digest_of[id(data)] = (digest, data)
                    if digest not in contents:
                        fresh.setdefault(digest, data)
                else:
                    digest = known[0]
            digests.append(digest)
        contents.add(output.cluster.name, fresh)
        paths = (*(o.path for o in output.objects), KUSTOMIZATION)
        keys = (*(o.key for o in output.objects), b"") if output.objects and output.objects[0].key else ()
        clusters.append(
            ClusterFiles(output.cluster.name, shared.setdefault(paths, paths), tuple(digests), keys)
        )
    return clusters


def _complete(
    inputs: Inputs,
    plans: Sequence[ClusterPlan],
    requests: Mapping[str, Sequence[Write]],
    contents: Contents,
) -> None:
    """Render again, in full, each requested cluster with a file whose bytes were not rendered (its object
    was reused, ``Renderer.reuse``): its file changed after all, or was removed, since it was proved."""
    missing = [name for name, items in requests.items() if any(d not in contents for _, d, _ in items)]
    if not missing:
        return
    wanted = set(missing)
    renderer = ObjectRenderer(inputs.config.limits, keep_objects=False)
    rendering = render_plans(inputs, tuple(p for p in plans if p.cluster.name in wanted), None, renderer)
    for output in rendering.clusters:
        fresh: dict[str, bytes] = {}
        for data in output.files().values():
            digest = hashlib.sha256(data).hexdigest()
            if digest not in contents:
                fresh.setdefault(digest, data)
        contents.add(f"{output.cluster.name}/again-{len(contents)}", fresh)  # "/": no cluster's name


def _render_packed(
    inputs: Inputs,
    plans: Sequence[ClusterPlan],
    lean: ObjectRenderer,
    contents: Contents,
    shared: dict[tuple[str, ...], tuple[str, ...]],
    on_cluster: OnCluster = None,
) -> list[ClusterFiles]:
    """Render and pack ``plans`` a batch at a time, so that only one batch's uncompressed files and
    objects are in memory at once; raises FanoutError on the first batch with a problem."""
    clusters: list[ClusterFiles] = []
    for start in range(0, len(plans), BATCH):
        rendering = render_plans(inputs, tuple(plans[start : start + BATCH]), on_cluster, lean)
        clusters.extend(_pack(rendering, contents, shared))
    return clusters


class InProcess:
    """Renders and writes in this process."""

    def __init__(self, inputs: Inputs, plans: Sequence[ClusterPlan], reuse: Reuse | None = None) -> None:
        self.inputs = inputs
        self.plans = tuple(plans)
        self.reuse = reuse
        self.contents = Contents()
        self._done: tuple[ClusterFiles, ...] | None = None

    def render(self, on_cluster: OnCluster = None) -> tuple[ClusterFiles, ...]:
        if self._done is None:
            lean = ObjectRenderer(self.inputs.config.limits, keep_objects=False, reuse=self.reuse)
            try:
                done = _render_packed(self.inputs, self.plans, lean, self.contents, {}, on_cluster)
            except FanoutError:
                check_plans(self.inputs, self.plans)  # the whole report, not the first batch's
                raise
            self._done = tuple(done)
        return self._done

    def start(self) -> None:
        """Nothing to start: this renderer works when asked for results."""

    def stream(self, on_cluster: OnCluster = None) -> Iterator[ClusterFiles]:
        return iter(self.render(on_cluster))

    def write(self, root: str, mode: int, requests: Requests, token: str) -> Written:
        _complete(self.inputs, self.plans, requests, self.contents)
        return stage(root, mode, requests, self.contents, token)

    def mover(self) -> Mover | None:
        return None


def _chunks(plans: Sequence[ClusterPlan], count: int) -> list[list[int]]:
    """At most ``count`` chunks of plan indexes, clusters with the same labels next to each other."""
    order = sorted(
        range(len(plans)), key=lambda i: (sorted(plans[i].cluster.labels.items()), plans[i].cluster.name)
    )
    size = -(-len(order) // count)
    return [order[start : start + size] for start in range(0, len(order), size)]


# A share of a request as sent to a worker: by cluster, its writes, or how every file of the cluster is
# written when all are new (NEW or FRESH: a first render), sent in a word.
Share = Mapping[str, Sequence[Write] | int]


def _expand(share: Share, rendered: Mapping[str, ClusterFiles]) -> dict[str, Sequence[Write]]:
    return {
        name: _all_new(rendered[name], items) if isinstance(items, int) else items
        for name, items in share.items()
    }


def _all_new(files: ClusterFiles, how: int) -> list[Write]:
    return [(path, digest, how) for path, digest in zip(files.paths, files.digests, strict=True)]


def _placed(root: str, share: Mapping[str, Sequence[Write]]) -> dict[str, array[int]]:
    """What each moved file's stat says now, for the cache's records (see ``staging.Placed``)."""
    placed: dict[str, array[int]] = {}
    stat = os.stat
    for cluster, items in share.items():
        folder = f"{root}/{cluster}/"
        found = placed[cluster] = array("Q")
        try:
            for relative, _, _ in items:
                now = stat(folder + relative)
                found.extend((now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino))
        except OverflowError:  # a time before 1970: the writing process stats this cluster's files itself
            del placed[cluster]
    return placed


def _die_with(parent: int) -> None:
    """End this worker when its parent ends, even by SIGKILL.

    Otherwise a worker of a killed render goes on staging files after the next render has cleared the
    killed one's (listed in its marker), and leaves them behind. Linux: the kernel sends the signal
    (PR_SET_PDEATHSIG). Elsewhere a worker only stops at its next message (the pipe is closed), so a
    batch of files it was staging may outlive a killed render (macOS uses spawn and is not tested here).
    """
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):  # no prctl to be found: as elsewhere
            libc().prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it ended before the line above took effect
        os._exit(0)


def _worker(
    conn: Connection,
    inputs: Inputs,
    plans: tuple[ClusterPlan, ...],
    siblings: Sequence[Connection] = (),
    parent: int | None = None,
    reuse: Reuse | None = None,
) -> None:
    """A worker's loop: ("render", indexes), ("write", root, items, mode, token), ("stop",)."""
    if parent is not None:
        _die_with(parent)
    for other in siblings:
        # Forked with the parent's ends of its own pipe and of the earlier workers' pipes: close them, so
        # that each worker sees end-of-file (and stops) when the parent is gone, even if it was killed.
        other.close()
    contents = Contents()
    rendered: dict[str, ClusterFiles] = {}
    # One renderer for every chunk: an object shared by clusters of different chunks is rendered once,
    # and only its file is kept (the worker's memory is its distinct files, not their objects).
    lean = ObjectRenderer(inputs.config.limits, keep_objects=False, reuse=reuse)
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    try:
        while True:
            message = conn.recv()
            if message[0] == "render":
                try:
                    clusters = _render_packed(inputs, [plans[i] for i in message[1]], lean, contents, shared)
                except FanoutError:
                    conn.send(("failed",))
                    continue
                rendered.update((c.name, c) for c in clusters)
                conn.send(("rendered", clusters))
            elif message[0] == "write":
                _, root, mode, requests, token = message
                expanded = _expand(requests, rendered)
                try:
                    _complete(inputs, plans, expanded, contents)
                    created = stage(root, mode, expanded, contents, token)
                except StageFailure as failure:  # disk full, permissions: the input's world, not a bug
                    conn.send(("stage-failed", failure.reason, failure.created))
                else:
                    # A head start for the disk while the other workers still write; the writing process
                    # flushes everything again before any move, and reports a failure there.
                    with contextlib.suppress(OSError):
                        flush(root)
                    conn.send(("written", created))
                contents = Contents()  # staged: the bytes are not needed again
            elif message[0] == "move":
                _, root, share, token, first = message
                expanded = _expand(share, rendered)
                # Undone, on failure, by the writing process from what is on disk (fanout.output.moves).
                try:
                    Transaction(
                        functools.partial(share_moves, root, expanded, token, first),
                        functools.partial(folder_moves, root, expanded, token),
                    ).put_all()
                    conn.send(("moved", _placed(root, expanded)))
                except OSError as exc:
                    conn.send(("stage-failed", f"{exc.strerror or exc} ({exc.filename})"))
            elif message[0] == "contents":
                conn.send(("contents", contents.export()))  # compressed, as held
            else:
                return
    except (EOFError, ConnectionError, KeyboardInterrupt):  # the parent is gone or interrupted: stop
        return
    except BaseException:  # a bug: tell the parent rather than leave it waiting
        with contextlib.suppress(OSError):  # unless it is gone too
            conn.send(("error", traceback.format_exc()))


class WorkerError(RuntimeError):
    """A worker process failed in a way that is fanout's fault, not the input's."""


class Workers:
    """Worker processes that render chunks of clusters, keep the bytes, and later write them."""

    def __init__(
        self,
        inputs: Inputs,
        plans: Sequence[ClusterPlan],
        count: int,
        method: str,
        reuse: Reuse | None = None,
    ) -> None:
        self.inputs = inputs
        self.plans = tuple(plans)
        context: Any = multiprocessing.get_context(method)
        self.conns: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_worker,
                args=(theirs, inputs, self.plans, (*self.conns, ours), os.getpid(), reuse),
                daemon=True,
            )
            process.start()
            theirs.close()
            self.conns.append(ours)
            self.processes.append(process)
        self.owner: dict[str, int] = {}  # cluster -> the worker that holds its files
        self.busy: set[int] = set()  # workers with a request not answered yet
        self.rendered: dict[str, ClusterFiles] = {}
        self.closed = False
        self.paths: dict[tuple[str, ...], tuple[str, ...]] = {}  # see _shared
        self.digests: dict[str, str] = {}
        self.keys: dict[bytes, bytes] = {}
        self.pending: deque[list[int]] | None = None  # chunks not sent yet; None before start()

    def _receive(self, index: int) -> tuple[Any, ...]:
        try:
            message: tuple[Any, ...] = self.conns[index].recv()
        except EOFError:
            raise WorkerError(f"worker process {index} stopped unexpectedly") from None
        if message[0] == "error":
            raise WorkerError(f"worker process {index} failed:\n{message[1]}")
        return message

    def start(self) -> None:
        """Give every worker its first chunk, so that they render while this process does other work."""
        if self.pending is None:
            self.pending = deque(_chunks(self.plans, len(self.conns) * CHUNKS_PER_JOB))
            for index, conn in enumerate(self.conns):
                if self.pending:
                    conn.send(("render", self.pending.popleft()))
                    self.busy.add(index)

    def _shared(self, cluster: ClusterFiles) -> ClusterFiles:
        """``cluster`` with the paths and digests other clusters have too as the same objects (each
        message arrives with its own copies): the parent holds every cluster's list until the end."""
        paths = self.paths.setdefault(cluster.paths, cluster.paths)
        known = self.digests
        digests = tuple([known.setdefault(d, d) for d in cluster.digests])
        keys = self.keys
        return ClusterFiles(
            cluster.name, paths, digests, tuple([keys.setdefault(k, k) for k in cluster.keys])
        )

    def render(self, on_cluster: OnCluster = None) -> tuple[ClusterFiles, ...]:
        by_name = {cluster.name: cluster for cluster in self.stream(on_cluster)}
        return tuple(by_name[p.cluster.name] for p in self.plans)

    def stream(self, on_cluster: OnCluster = None) -> Iterator[ClusterFiles]:
        """Each cluster's files as soon as a worker has them, in no set order (the caller can work
        on them while the workers go on); raises FanoutError at the end if any cluster failed."""
        self.start()
        pending = self.pending
        busy = self.busy
        failed = False
        while busy:
            for ready in wait([self.conns[i] for i in busy]):
                index = next(i for i in busy if self.conns[i] is ready)
                conn = self.conns[index]
                busy.discard(index)
                message = self._receive(index)
                if message[0] == "failed":
                    failed = True
                if pending and not failed:  # keep the worker busy before handling its result
                    conn.send(("render", pending.popleft()))
                    busy.add(index)
                if message[0] == "rendered":
                    for received in message[1]:
                        cluster = self._shared(received)
                        self.owner[cluster.name] = index
                        self.rendered[cluster.name] = cluster
                        if on_cluster is not None:
                            on_cluster(cluster.name)
                        yield cluster
        if failed:
            check_plans(self.inputs, self.plans)  # raises the full, ordered report
            raise AssertionError("a chunk failed to render but the whole render did not")  # pragma: no cover

    def _shares(self, requests: Requests) -> dict[int, dict[str, Sequence[Write] | int]]:
        """``requests`` split by the worker that rendered each cluster (see ``Share``)."""
        shares: dict[int, dict[str, Sequence[Write] | int]] = {}
        for name, items in requests.items():
            files = self.rendered[name]
            how = items[0][2] if items else NEW
            everything = len(items) == len(files.paths) and how and all(h == how for _, _, h in items)
            shares.setdefault(self.owner[name], {})[name] = how if everything else items
        return shares

    def _ask_all(self, messages: Mapping[int, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        for index, message in messages.items():
            self.conns[index].send(message)
            self.busy.add(index)
        answers = []
        for index in messages:
            answers.append(self._receive(index))
            self.busy.discard(index)
        return answers

    def write(self, root: str, mode: int, requests: Requests, token: str) -> Written:
        shares = self._shares(requests)
        answers = self._ask_all({i: ("write", root, mode, share, token) for i, share in shares.items()})
        created = [folder for answer in answers for folder in answer[-1]]
        failures = [answer[1] for answer in answers if answer[0] == "stage-failed"]
        if failures:  # the caller removes every staged file, by name, and the folders
            raise StageFailure(failures[0], created)
        return created

    def move(self, root: str, requests: Requests, token: str) -> dict[str, Placed]:
        """Each worker moves its clusters' staged files into place (``fanout.output.moves``).

        Returns or raises only once every worker stopped moving (they are stopped here, done or not):
        the caller may then undo the moves by what is on disk.
        """
        first = first_indexes(requests)
        shares = self._shares(requests)
        try:
            answers = self._ask_all(
                {i: ("move", root, share, token, {n: first[n] for n in share}) for i, share in shares.items()}
            )
        finally:
            # The workers' memory goes back before this process records the files (at 1,000,000 files,
            # its largest step); an interrupted worker is stopped before anything is undone.
            self.close()
        failures = [answer[1] for answer in answers if answer[0] == "stage-failed"]
        if failures:
            raise StageFailure(failures[0])
        return {cluster: found for answer in answers for cluster, found in answer[1].items()}

    def mover(self) -> Mover | None:
        return self.move

    def all_contents(self) -> Contents:
        """Every worker's contents, still compressed (each content once)."""
        found = Contents()
        for index, conn in enumerate(self.conns):
            conn.send(("contents",))
            for stream, held in self._receive(index)[1].items():
                found.adopt(f"{index}:{stream}", held)  # two workers may name a stream alike ("again-N")
        return found

    def close(self) -> None:
        """Stop the workers (once; later calls do nothing)."""
        if self.closed:
            return
        self.closed = True
        for index, (conn, process) in enumerate(zip(self.conns, self.processes, strict=True)):
            if index in self.busy:  # interrupted mid-render (an error, ^C): its answer is not wanted
                process.terminate()
            else:
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
    inputs: Inputs,
    plans: Sequence[ClusterPlan],
    jobs: int = 1,
    method: str | None = None,
    reuse: Reuse | None = None,
) -> Iterator[InProcess | Workers]:
    """A renderer for ``plans`` that uses up to ``jobs`` processes; the same files for any ``jobs``.

    ``reuse``: objects whose files hold them already are not rendered (``Renderer.reuse``)."""
    count = min(jobs, len(plans) // MIN_CLUSTERS_PER_JOB)
    if count <= 1:
        yield InProcess(inputs, plans, reuse)
        return
    workers = Workers(inputs, plans, count, method or start_method(), reuse)
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
