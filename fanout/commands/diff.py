"""``fanout diff``: how two clusters differ, or what changes in every cluster between two revisions."""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.text import Text

from fanout.commands.common import choose_clusters
from fanout.commands.sources import LoadedSource, load_source
from fanout.core.errors import EXIT_DIFFERS, FanoutError, Problem
from fanout.core.validate import did_you_mean
from fanout.render.pipeline import Rendering, render
from fanout.report import diffreport
from fanout.report.diffing import Comparison, compare_clusters, compare_renderings

FORMATS = ("text", "json", "markdown")


def _render(loaded: LoadedSource, only: set[str] | None) -> Rendering:
    """Render one side; problems found at a revision say which one, since the file may differ on disk."""
    present = {c.name for c in loaded.inputs.clusters}
    try:
        return render(loaded.inputs, present if only is None else only & present)
    except FanoutError as exc:
        ref = loaded.side.ref
        if ref is None:
            raise
        raise FanoutError(Problem(f"(at {ref}) {p.message}", p.location) for p in exc.problems) from None


def between_clusters(source: str, base: str, head: str, ref: str | None) -> Comparison:
    loaded = load_source(source, ref, "--head")
    known = {c.name for c in loaded.inputs.clusters}
    unknown = [
        Problem(f"--clusters: unknown cluster {n!r}{did_you_mean(n, known)}")
        for n in (base, head)
        if n not in known
    ]
    if unknown:
        raise FanoutError(unknown)
    rendering = _render(loaded, {base, head})
    return compare_clusters(rendering, base, head, loaded.side)


def between_refs(
    source: str, base: str, head: str | None, clusters: Sequence[str], selector: str | None
) -> Comparison:
    old = load_source(source, base, "--base")
    new = load_source(source, head, "--head")
    # A cluster named or selected on either side counts: it may be new, gone, or relabelled.
    both = dataclasses.replace(new.inputs, clusters=old.inputs.clusters + new.inputs.clusters)
    only = choose_clusters(both, clusters, selector)
    return compare_renderings(_render(old, only), _render(new, only), old.side, new.side, only)


def _rerun(mode_args: Sequence[str], source: str) -> str:
    args = ["fanout", "diff", *mode_args]
    if source != ".":
        args.append(source)
    return shlex.join(args)


def emit(
    comparison: Comparison, output_format: str, stat: bool, rerun: str, echo: Callable[[str], None]
) -> None:
    if output_format == "json":
        echo(diffreport.to_json(comparison, stat))
        return
    if output_format == "markdown":
        echo(diffreport.to_markdown(comparison, stat, rerun=rerun).rstrip("\n"))
        return
    lines = diffreport.text(comparison, stat)
    console = Console(highlight=False, soft_wrap=True, emoji=False, markup=False)
    # NO_COLOR (no-color.org) turns off all styling here, bold and dim included, not only colours.
    if console.is_terminal and not os.environ.get(
        "NO_COLOR"
    ):  # colours for people; plain lines for pipes, files and CI logs
        for line in lines:
            console.print(Text(line.text, style=line.style))
        return
    for line in lines:
        echo(line.text)


def run(
    source: str,
    clusters_pair: tuple[str, str] | None,
    base: str | None,
    head: str | None,
    clusters: Sequence[str],
    selector: str | None,
    stat: bool,
    output_format: str,
    exit_code: bool,
    echo: Callable[[str], None],
) -> int:
    """Exactly one of ``clusters_pair`` and ``base`` is set (the CLI checks)."""
    if clusters_pair is not None:
        comparison = between_clusters(source, clusters_pair[0], clusters_pair[1], head)
        mode_args = ["--clusters", *clusters_pair, *(["--head", head] if head else [])]
    else:
        assert base is not None
        comparison = between_refs(source, base, head, clusters, selector)
        mode_args = ["--base", base, *(["--head", head] if head else [])]
        for name in clusters:
            mode_args += ["--cluster", name]
        if selector is not None:
            mode_args += ["--selector", selector]
    emit(comparison, output_format, stat, _rerun(mode_args, source), echo)
    return EXIT_DIFFERS if exit_code and comparison.differs else 0
