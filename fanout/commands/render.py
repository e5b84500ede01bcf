"""``fanout render``: render every cluster and write (or check) the output folder."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fanout import sync
from fanout.cache import EMPTY, ClusterRecord, code_digest, input_digests, load_state, save_state
from fanout.cache import cache_dir as cache_root
from fanout.commands.common import choose_clusters, input_warnings, open_source, warning_text
from fanout.errors import EXIT_DIFFERS, FanoutError, Problem
from fanout.lock import exclusive, lock_file
from fanout.machine import document, dump
from fanout.model import Inputs
from fanout.output import Changes
from fanout.parallel import InProcess, Workers, default_jobs, renderer
from fanout.pipeline import Rendering, render_plans
from fanout.place import ClusterPlan, plan
from fanout.shard import Shard, select
from fanout.sync import open_folder, reusable
from fanout.words import plural

if TYPE_CHECKING:
    from fanout.kubecheck import KubeOptions

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


def describe(changes: Changes) -> list[str]:
    lines: list[str] = []
    for cluster, states in changes.by_cluster().items():
        for state, sign in (("added", "+"), ("changed", "~"), ("removed", "-")):
            lines.extend(f"  {sign} {cluster}/{path}" for path in states[state])
    return lines


def _vouched(
    target: Path,
    current: Mapping[str, str | None],
    ref: str,
    digests: Mapping[str, str],
    warn: Callable[[str], None],
) -> dict[str, ClusterRecord]:
    """The clusters the output committed at ``ref`` vouches for (see ``fanout.trustedbase``)."""
    from fanout.trustedbase import read_base, vouched, why_not

    base = read_base(target, ref)
    reason = why_not(base)
    if reason is not None:
        warn(f"fanout: --trusted-base {ref}: checking every cluster: {reason}")
        return {}
    return vouched(base, current, digests)


def _validate_kubernetes(rendering: Rendering, kube: KubeOptions, echo: Callable[[str], None]) -> None:
    """Raise (so nothing is written) when a rendered object fails its Kubernetes schema."""
    from fanout.kubecheck import as_error, check_rendering
    from fanout.kubereport import skipped_text, summary_text

    report = check_rendering(rendering, kube)
    for skip in report.sorted_skipped:
        echo(skipped_text(skip, len(report.checked)))
    if not report.valid:
        raise as_error(report)
    echo(f"fanout: Kubernetes schemas: {summary_text(report)}")


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

    ``trusted_base`` (with ``check``): a commit whose output is trusted; see ``fanout.trustedbase``.
    """
    if trusted_base is not None and not check:
        raise FanoutError.at("--trusted-base only applies to `fanout render --check`")
    opened = open_source(source, ref, cache_dir)
    inputs = opened.inputs
    for problem in input_warnings(inputs):
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
        )


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
    output: str = "text",
    trusted_base: str | None = None,
) -> int:
    """Render ``plans`` into ``target`` (or check it), holding the folder's lock."""
    folder = open_folder(target)
    for line in folder.warnings:
        (warn or echo)(line)
    code = code_digest()
    # Kubernetes validation needs every object in memory, so it renders every cluster.
    state = load_state(target, code, cache_dir) if use_cache and kube is None else EMPTY
    # Without a saved state, the digests are only needed at the end: work them out while workers render.
    digests = input_digests(inputs, plans) if state.clusters or trusted_base else {}
    reused = reusable(folder, state, digests) if state.clusters else {}
    vouched = _vouched(target, folder.digests, trusted_base, digests, warn or echo) if trusted_base else {}
    reused = {**vouched, **reused}
    todo = [p for p in plans if p.cluster.name not in reused]
    with ExitStack() as stack:
        active: InProcess | Workers
        if kube is not None:
            with _progress(len(todo)) as on_cluster:
                rendering = render_plans(inputs, tuple(todo), on_cluster)
            _validate_kubernetes(rendering, kube, echo)
            active = InProcess.from_rendering(rendering)
        else:
            # Worker processes start (fork) before the progress bar draws anything.
            active = stack.enter_context(renderer(inputs, todo, jobs or default_jobs()))
            active.start()
        digests = digests or input_digests(inputs, plans)
        # Each cluster is compared with the folder as it arrives, while the workers render the next ones.
        with _progress(len(todo) if kube is None else 0) as on_cluster:
            result = sync.plan(folder, only, active.stream(on_cluster), reused, state, digests)
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
        if check:
            if output == "json":
                echo(dump(_changes_document(target, changes, len(plans), result.objects, False), "json"))
                return EXIT_DIFFERS if changes.any else 0
            return _report_check(target, changes, summary, echo)
        records = sync.apply(folder, result, active.write)
    if use_cache:
        kept = {n: r for n, r in state.clusters.items() if only is not None and n not in only}
        new_state = {**kept, **records}
        if new_state != state.clusters:
            save_state(target, code, new_state, cache_dir)
    stale = fail_on_change and changes.any
    if output == "json":
        echo(dump(_changes_document(target, changes, len(plans), result.objects, not check), "json"))
        return EXIT_DIFFERS if stale else 0
    reuse = (
        f" ({plural(len(reused), 'cluster')} unchanged since the last render, not rendered again)"
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
