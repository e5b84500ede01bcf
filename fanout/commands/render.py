"""``fanout render``: render every cluster and write (or check) the output folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from fanout.core.errors import EXIT_DIFFERS, FanoutError, Problem
from fanout.core.lock import exclusive, lock_file
from fanout.core.words import plural
from fanout.output import sync
from fanout.output.cache import (
    EMPTY,
    ClusterRecord,
    code_digest,
    input_digests,
    load_state,
    save_state,
    stat_fields,
)
from fanout.output.cache import cache_dir as cache_root
from fanout.output.folder import MARKER, Changes
from fanout.output.sync import open_folder, reusable
from fanout.render.shard import Shard, select
from fanout.report.machine import document, dump

# Reading, validating and planning the inputs (and rendering them) import most of fanout, jsonschema
# included: only a run that has to do that work pays for those imports (``fanout.output.snapshot``).
if TYPE_CHECKING:
    from fanout.commands.common import OpenSource
    from fanout.core.document import Document
    from fanout.core.model import Inputs
    from fanout.output.parallel import InProcess, Workers
    from fanout.output.trustedbase import Started
    from fanout.render.place import ClusterPlan
    from fanout.report.kubecheck import KubeOptions


# A fanout.yaml larger than this is not read ahead for --trusted-base (its reading proper refuses it).
_GUESS_CONFIG_BYTES = 1 << 20


class SnapshotKey(NamedTuple):
    """The key of the source as it is now (see ``fanout.output.snapshot``), and what it was worked out for."""

    key: str
    root: Path
    target: Path  # the output folder the key leaves out
    options: str


# Below this many clusters a render is over before a bar would be worth drawing.
PROGRESS_MIN_CLUSTERS = 20


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None] | None]:
    if total < PROGRESS_MIN_CLUSTERS or not sys.stderr.isatty():
        yield None
        return
    # Imported here: only a render watched on a terminal draws a bar, and Rich costs start-up time.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # No refresh thread (auto_refresh=False): worker processes are forked while the bar is up, and
    # forking a process that runs other threads can deadlock the child.
    # NO_COLOR (no-color.org): no styling at all, not even bold; the bar's characters remain.
    plain = bool(os.environ.get("NO_COLOR"))
    console = Console(stderr=True, color_system=None) if plain else Console(stderr=True)
    with Progress(*columns, console=console, transient=True, auto_refresh=False) as progress:
        task = progress.add_task("render", total=total)
        last = 0.0

        def advance(_name: str) -> None:
            nonlocal last
            progress.advance(task)
            if time.monotonic() - last > 0.1:
                last = time.monotonic()
                progress.refresh()

        yield advance


@contextmanager
def _writing(files: int, clusters: int) -> Iterator[None]:
    """A line that says what is going on while the files are written and flushed (which can take longer
    than rendering them, with nothing else to show): on a terminal, for a render that drew a bar."""
    if not files or clusters < PROGRESS_MIN_CLUSTERS or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    console = Console(stderr=True, color_system=None) if os.environ.get("NO_COLOR") else Console(stderr=True)
    # Workers were forked long before: the spinner's refresh thread cannot reach them.
    with console.status(f"writing {plural(files, 'file')} and flushing them to disk"):
        yield


def describe(changes: Changes) -> list[str]:
    lines: list[str] = []
    for cluster, states in changes.by_cluster().items():
        for state, sign in (("added", "+"), ("changed", "~"), ("removed", "-")):
            lines.extend(f"  {sign} {cluster}/{path}" for path in states[state])
    return lines


def _vouched(
    target: Path,
    folder: sync.Folder,
    ref: str,
    digests: Mapping[str, str],
    warn: Callable[[str], None],
    started: Started | None = None,
) -> tuple[dict[str, ClusterRecord], sync.Donor | None]:
    """The clusters the output committed at ``ref`` vouches for (see ``fanout.output.trustedbase``), and
    REF's marker as a donor of entries for the new one.

    ``started``: git's reading of REF, begun before the inputs were read; taken if it is of ``target``."""
    from fanout.output.trustedbase import start, vouched, why_not

    parsed = (
        (folder.marker, folder.parsed) if folder.marker is not None and folder.parsed is not None else None
    )
    if started is None or started.target.resolve() != target.resolve():
        started = start(target, ref)
    with started:
        base = started.base(parsed)
    reason = why_not(base)
    if reason is not None:
        warn(f"fanout: --trusted-base {ref}: checking every cluster: {reason}")
        return {}, None
    return vouched(base, folder.digests, digests), base.donor()


def _validate_kubernetes(
    inputs: Inputs, plans: Sequence[ClusterPlan], kube: KubeOptions, echo: Callable[[str], None]
) -> None:
    """Raise (so nothing is written) when a rendered object fails its Kubernetes schema. The clusters are
    rendered for the check one at a time and forgotten, then rendered again to be written: holding every
    object for both took memory in proportion to clusters x objects."""
    from fanout.report.kubecheck import as_error, check_fleet
    from fanout.report.kubereport import skipped_text, summary_text

    with _progress(len(plans)) as on_cluster:
        report, _ = check_fleet(inputs, kube, plans, on_cluster)
    for skip in report.sorted_skipped:
        echo(skipped_text(skip, len(report.checked)))
    if not report.valid:
        raise as_error(report)
    echo(f"fanout: Kubernetes schemas: {summary_text(report)}")


def _not_inside_inputs(target: Path, opened: OpenSource) -> None:
    """An ``--output-dir`` inside an input folder would be read back as input by the next command: refused.
    (The folder fanout.yaml's ``output:`` names is never read as input, wherever it is.)"""
    assert opened.root is not None
    config = opened.inputs.config
    resolved = target.resolve()
    folders = {
        "clusters": config.clusters,
        "templates": config.templates,
        "overrides": config.overrides,
        "charts": config.charts,
    }
    for role, folder in folders.items():
        inside = (opened.root / folder).resolve()
        if resolved == inside or resolved.is_relative_to(inside):
            raise FanoutError.at(
                f"--output-dir {target} is inside the {role} folder {folder}/ of {opened.root}, whose files"
                " are read as input: the next command would read the rendered files back; choose a folder"
                " outside it"
            )


def run(
    source: Path | str,
    out: Path | None,
    clusters: Sequence[str],
    selector: str | None,
    check: bool,
    fail_on_change: bool,
    echo: Callable[[str], None],
    kube: KubeOptions | None = None,
    ref: str | None = None,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    shard: Shard | None = None,
    use_cache: bool = True,
    warn: Callable[[str], None] | None = None,
    wait: bool = True,
    output: str = "text",
    notice: Callable[[Problem], None] | None = None,
    trusted_base: str | None = None,
) -> int:
    """``notice`` hears the input's warnings (default: their text on ``warn``).

    ``trusted_base`` (with ``check``): a commit whose output is trusted; see ``fanout.output.trustedbase``.
    """
    if trusted_base is not None and not check:
        raise FanoutError.at("--trusted-base only applies to `fanout render --check`")
    code = code_digest()
    whole = not clusters and selector is None and shard is None
    snap = (
        _snapshot_key(source, out, code, cache_dir)
        if use_cache and whole and kube is None and ref is None and trusted_base is None
        else None
    )
    if snap is not None:
        done = _unchanged(snap, code, check, fail_on_change, echo, cache_dir, wait, warn, output)
        if done is not None:
            return done

    # The stat proof of the folder's files, or git's listing for --trusted-base, runs on the other core
    # while the inputs are read.
    early = sync.start_proof(snap.target, code, cache_dir) if snap is not None else None
    started = _start_base(source, out, trusted_base) if trusted_base is not None and ref is None else None
    try:
        from fanout.commands.common import choose_clusters, input_warnings, open_source, warning_text
        from fanout.render.place import plan

        opened = open_source(source, ref, cache_dir, memo=use_cache)
        inputs = opened.inputs
        warnings = input_warnings(inputs)
        for problem in warnings:
            if notice is not None:
                notice(problem)
            else:
                (warn or echo)(warning_text(problem))
        if out is not None:
            target = out
        elif opened.root is not None:
            target = opened.root / inputs.config.output
        else:
            raise FanoutError.at(f"{source}: a URL source has no folder to write into; pass --output-dir DIR")
        if opened.root is not None and out is not None:
            _not_inside_inputs(target, opened)
        if snap is not None and (warnings or target.resolve() != snap.target.resolve()):
            # Warnings are printed on every run, so only a run without any may be skipped next time.
            if not warnings:
                from fanout.output.snapshot import remember_target

                remember_target(snap.root, snap.options, target, cache_dir)
            snap = None
        only = choose_clusters(inputs, clusters, selector)
        if shard is not None:
            only = select(only if only is not None else (c.name for c in inputs.clusters), shard)
        plans = plan(inputs, only)
        lock = lock_file(cache_root(cache_dir), "output", str(target.resolve()))
        with exclusive(lock, str(target), wait, warn or echo):
            return _into(
                target,
                inputs,
                only,
                plans,
                check,
                fail_on_change,
                echo,
                kube,
                cache_dir,
                jobs,
                shard,
                use_cache,
                warn,
                output,
                trusted_base,
                code,
                snap,
                early,
                started,
            )

    finally:
        if early is not None:
            early.proof.close()
        if started is not None:
            started.close()


def _start_base(source: Path | str, out: Path | None, ref: str) -> Started | None:
    """git reading REF for the output folder this run will most likely check (``fanout.yaml``'s ``output``
    as written, unchecked: a wrong guess is only started again, for the right folder)."""
    from fanout.output.trustedbase import start
    from fanout.source.discover import CONFIG_FILE
    from fanout.source.load import folders
    from fanout.source.parse import load_documents

    root = Path(source)
    if not root.is_dir():  # a git URL
        return None
    if out is None:
        docs: list[Document] = []
        config = root / CONFIG_FILE
        with contextlib.suppress(OSError):
            if config.stat().st_size <= _GUESS_CONFIG_BYTES:  # else the real reading says what is wrong
                docs, _ = load_documents(CONFIG_FILE, config.read_bytes())
        out = root / folders(docs[0] if docs else None)["output"]
    return start(out, ref)


def _snapshot_key(
    source: Path | str, out: Path | None, code: bytes, cache_dir: Path | None
) -> SnapshotKey | None:
    from fanout.output.snapshot import last_target, source_key

    root = Path(source)
    if not root.is_dir():  # a git URL
        return None
    options = str(out.resolve()) if out is not None else ""
    target = out if out is not None else (last_target(root, options, cache_dir) or root / "rendered")
    key = source_key(root, target, code, options)
    return SnapshotKey(key, root, target, options) if key is not None else None


def _unchanged(
    snap: SnapshotKey,
    code: bytes,
    check: bool,
    fail_on_change: bool,
    echo: Callable[[str], None],
    cache_dir: Path | None,
    wait: bool,
    warn: Callable[[str], None] | None,
    output: str,
) -> int | None:
    """The run's exit code when the source is byte for byte what last left ``snap.target`` up to date,
    and the folder still holds exactly that; None when the inputs must be read after all."""
    from fanout.output.snapshot import load

    found = load(snap.key, cache_dir)
    target = snap.target
    if found is None or found.target != str(target.resolve()) or not target.is_dir():
        return None
    lock = lock_file(cache_root(cache_dir), "output", str(target.resolve()))
    with exclusive(lock, str(target), wait, warn or echo):
        counts = _intact(target, found.marker, code, check, cache_dir)
    if counts is None:
        return None
    clusters, files = counts
    changes = Changes((), (), (), files, b"", False)
    summary = f"{plural(clusters, 'cluster')}, {plural(files - clusters, 'object')}"
    return _report(target, changes, summary, clusters, clusters, check, fail_on_change, output, echo)


def _intact(
    target: Path, marker_digest: str, code: bytes, check: bool, cache_dir: Path | None
) -> tuple[int, int] | None:
    """(clusters, files) when ``target`` holds exactly what its marker, whose SHA-256 must be
    ``marker_digest``, lists; else None. Holding the folder's lock."""
    from fanout.output import statindex

    index = statindex.load(target, code, cache_dir)
    if index is not None and index.marker == marker_digest and statindex.intact(target, index):
        # Proved by the stat index alone: neither the state nor the marker need be read.
        if not check:
            sync.clear_pending(sync.Folder(target, frozenset(), None, {}))  # (a marker's staging file)
        return len(index.clusters), index.files
    marker = target / MARKER
    try:
        marker_stat = stat_fields(marker.stat())  # before it is read: a change after shows in the stat
        raw = marker.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(raw).hexdigest() != marker_digest:
        return None
    state = load_state(target, code, cache_dir)
    if state.marker == marker_digest:
        # The state lists exactly this marker's files: no need to parse the marker (100,000 entries).
        folder = sync.Folder(target, frozenset(), raw, {})
        records = sync.intact_by_state(target, state)
    else:
        try:
            folder = open_folder(target)
        except FanoutError:
            return None
        records = sync.intact(folder, state) if folder.marker == raw else None
    if records is None:
        return None
    if not check:
        sync.clear_pending(folder)  # what a run killed while writing the marker may have left
        if records != state.clusters or state.marker != marker_digest:
            save_state(target, code, records, cache_dir, marker_digest)
    # Every record was just proved: the next no-op run can prove the folder from the index alone.
    statindex.save(target, code, marker_digest, marker_stat, records, cache_dir)
    return len(records), sum(len(r.files) for r in records.values())


def _into(
    target: Path,
    inputs: Inputs,
    only: set[str] | None,
    plans: tuple[ClusterPlan, ...],
    check: bool,
    fail_on_change: bool,
    echo: Callable[[str], None],
    kube: KubeOptions | None,
    cache_dir: Path | None,
    jobs: int | None,
    shard: Shard | None,
    use_cache: bool,
    warn: Callable[[str], None] | None,
    output: str,
    trusted_base: str | None,
    code: bytes,
    snap: SnapshotKey | None,
    early: sync.Early | None = None,
    started: Started | None = None,
) -> int:
    """Render ``plans`` into ``target`` (or check it), holding the folder's lock."""
    from fanout.output.cache import Reuse, settings_prefix
    from fanout.output.cores import default_jobs
    from fanout.output.parallel import renderer

    # Kubernetes validation checks every cluster it renders: with it, nothing is reused from the state.
    found = early.state_if_unchanged(target, cache_dir) if early is not None else None
    if found is None:
        early = None
        found = load_state(target, code, cache_dir) if use_cache and kube is None else EMPTY
    state = found
    folder = open_folder(target, state)
    for line in folder.warnings:
        (warn or echo)(line)
    # Without a saved state, the digests are only needed at the end: work them out while workers render.
    digests = input_digests(inputs, plans) if state.clusters or trusted_base else {}
    reused = reusable(folder, state, digests, early) if state.clusters else {}
    vouched, donor = (
        _vouched(target, folder, trusted_base, digests, warn or echo, started) if trusted_base else ({}, None)
    )
    reused = {**vouched, **reused}
    todo = [p for p in plans if p.cluster.name not in reused]
    if kube is not None:
        _validate_kubernetes(inputs, todo, kube, echo)
    with ExitStack() as stack:
        active: InProcess | Workers
        # Objects whose files hold them already are not rendered again; every object gets its key, for the
        # next run (``fanout.output.cache.Reuse``).
        reuse = None
        if use_cache:
            records = state.clusters
            known = {p.cluster.name: records[p.cluster.name] for p in todo if p.cluster.name in records}
            # (A check saves no state: keys only help it when some are known.)
            reuse = Reuse(settings_prefix(inputs, code), known) if known or not check else None
        # Worker processes start (fork) before the progress bar draws anything.
        active = stack.enter_context(renderer(inputs, todo, jobs or default_jobs(), reuse=reuse))
        active.start()
        digests = digests or input_digests(inputs, plans)
        # Each cluster is compared with the folder as it arrives, while the workers render the next ones.
        with _progress(len(todo)) as on_cluster:
            result = sync.plan(folder, only, active.stream(on_cluster), reused, state, digests, donor)
        changes = result.changes
        for path in changes.kept:
            (warn or echo)(
                f"{target / path}: warning: not removed: its content is not what fanout wrote there, so it is"
                " no longer listed as fanout's"
            )
        summary = f"{plural(len(plans), 'cluster')}, {plural(result.objects, 'object')}"
        if shard is not None:
            summary += f", shard {shard}"
        if vouched:
            summary += f"; {plural(len(vouched), 'cluster')} unchanged since {trusted_base}, not rendered"
        if not check:
            with _writing(changes.count, len(todo)):
                records = sync.apply(folder, result, active.write, active.mover())
    if use_cache and not check:
        kept = {n: r for n, r in state.clusters.items() if only is not None and n not in only}
        new_state = {**kept, **records}
        # A render of every cluster leaves a marker that lists exactly its records' files.
        marker = hashlib.sha256(changes.marker).hexdigest() if only is None else ""
        if new_state != state.clusters or marker != state.marker:
            save_state(target, code, new_state, cache_dir, marker)
    if snap is not None and not changes.kept and not folder.warnings and not (check and changes.any):
        from fanout.output.snapshot import save

        save(snap.key, target, changes.marker, cache_dir)
    # (Clusters the trusted base vouched for count as reused, but only a check has those, and a check
    # does not print the count.)
    return _report(
        target, changes, summary, len(plans), len(reused), check, fail_on_change, output, echo, result.objects
    )


def _report(
    target: Path,
    changes: Changes,
    summary: str,
    clusters: int,
    reused: int,
    check: bool,
    fail_on_change: bool,
    output: str,
    echo: Callable[[str], None],
    objects: int | None = None,
) -> int:
    """Print what a render or check found or did; its exit code."""
    objects = objects if objects is not None else changes.unchanged - clusters
    if check:
        if output == "json":
            echo(dump(_changes_document(target, changes, clusters, objects, False), "json"))
            return EXIT_DIFFERS if changes.any else 0
        return _report_check(target, changes, summary, echo)
    stale = fail_on_change and changes.any
    if output == "json":
        echo(dump(_changes_document(target, changes, clusters, objects, True), "json"))
        return EXIT_DIFFERS if stale else 0
    reuse = (
        f" ({plural(reused, 'cluster')} unchanged since the last render, not rendered again)"
        if reused
        else ""
    )
    echo(
        f"fanout: rendered {summary} into {target}: "
        f"{len(changes.added)} added, {len(changes.changed)} changed, {len(changes.removed)} removed, "
        f"{changes.unchanged} unchanged{reuse}"
    )
    if stale:  # pre-commit's fanout-render hook: say which files it changed
        for line in describe(changes):
            echo(line)
    return EXIT_DIFFERS if stale else 0


def _changes_document(
    target: Path, changes: Changes, clusters: int, objects: int, written: bool
) -> dict[str, object]:
    return document(
        "RenderResult",
        outputDir=str(target),
        written=written,
        upToDate=not changes.any,
        clusters=clusters,
        objects=objects,
        unchanged=changes.unchanged,
        files=[
            {"path": path, "change": state}
            for state, paths in (
                ("added", changes.added),
                ("changed", changes.changed),
                ("removed", changes.removed),
            )
            for path in paths
        ],
    )


def _report_check(target: Path, changes: Changes, summary: str, echo: Callable[[str], None]) -> int:
    if not changes.any:
        echo(f"fanout: {target} is up to date ({summary})")
        return 0
    echo(f"fanout: {target} is stale: {plural(changes.count, 'file')} would change ({summary})")
    for line in describe(changes):
        echo(line)
    if not changes.count:
        echo("  ~ .fanout-output.json (the list of files fanout wrote)")
    echo("run `fanout render` to update it")
    return EXIT_DIFFERS
