"""``fanout render``: render every cluster and write (or check) the output folder."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fanout.commands.common import choose_clusters, open_source
from fanout.errors import FanoutError
from fanout.output import Changes, apply_changes, plan_changes
from fanout.pipeline import Rendering, render

if TYPE_CHECKING:
    from fanout.kubecheck import KubeOptions

# Below this many clusters a render is over before a bar would be worth drawing.
PROGRESS_MIN_CLUSTERS = 20


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None] | None]:
    if total < PROGRESS_MIN_CLUSTERS or not sys.stderr.isatty():
        yield None
        return
    columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("render", total=total)
        yield lambda _name: progress.advance(task)


def describe(changes: Changes) -> list[str]:
    lines: list[str] = []
    for cluster, states in changes.by_cluster().items():
        for state, sign in (("added", "+"), ("changed", "~"), ("removed", "-")):
            lines.extend(f"  {sign} {cluster}/{path}" for path in states[state])
    return lines


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
) -> int:
    opened = open_source(source, ref, cache_dir)
    inputs = opened.inputs
    if out is not None:
        target = out
    elif opened.root is not None:
        target = opened.root / inputs.config.output
    else:
        raise FanoutError.at(f"{source}: a URL source has no folder to write into; pass --out DIR")
    only = choose_clusters(inputs, clusters, selector)
    total = len(only) if only is not None else len(inputs.clusters)
    with _progress(total) as on_cluster:
        rendering = render(inputs, only, on_cluster)
    if kube is not None:
        _validate_kubernetes(rendering, kube, echo)
    files = rendering.files()
    changes = plan_changes(target, files, only)
    summary = f"{len(rendering.clusters)} clusters, {rendering.object_count} objects"
    if check:
        if not changes.any:
            echo(f"fanout: {target} is up to date ({summary})")
            return 0
        echo(f"fanout: {target} is stale: {changes.count} files would change ({summary})")
        for line in describe(changes):
            echo(line)
        if not changes.count:
            echo("  ~ .fanout-output.json (the list of files fanout wrote)")
        echo("run `fanout render` to update it")
        return 1
    apply_changes(target, files, changes)
    echo(
        f"fanout: rendered {summary} into {target}: "
        f"{len(changes.added)} added, {len(changes.changed)} changed, {len(changes.removed)} removed, "
        f"{changes.unchanged} unchanged"
    )
    return 1 if fail_on_change and changes.any else 0
