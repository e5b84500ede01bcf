"""``fanout diff``: how two clusters differ, or what changes in every cluster between two revisions."""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text

from fanout.commands.common import choose_clusters
from fanout.commands.sources import LoadedSource, load_source
from fanout.core.errors import EXIT_DIFFERS, FanoutError, Problem
from fanout.core.validate import did_you_mean
from fanout.output.cache import input_digests
from fanout.render.pipeline import Renderer, Rendering, raise_problems, render, render_cluster
from fanout.render.place import plan
from fanout.report import diffreport
from fanout.report.diffing import ClusterDiff, Comparison, cluster_diff, compare_clusters, refs_comparison

FORMATS = ("text", "json", "markdown")


# Objects each side's renderer remembers while comparing revisions: a few clusters' worth, so that the
# objects clusters share are rendered once, while a fleet's distinct objects are not all kept at once.
DIFF_MEMO = 5_000


@contextmanager
def _at(loaded: LoadedSource) -> Iterator[None]:
    """Problems found at a revision say which one, since the file may differ on disk."""
    try:
        yield
    except FanoutError as exc:
        ref = loaded.side.ref
        if ref is None:
            raise
        raise FanoutError(Problem(f"(at {ref}) {p.message}", p.location) for p in exc.problems) from None


def _present(loaded: LoadedSource, only: set[str] | None) -> set[str]:
    present = {c.name for c in loaded.inputs.clusters}
    return present if only is None else only & present


def _render(loaded: LoadedSource, only: set[str] | None) -> Rendering:
    """Render one side (see ``_at``)."""
    with _at(loaded):
        return render(loaded.inputs, _present(loaded, only))


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
    return _compare(old, new, only)


def _compare(old: LoadedSource, new: LoadedSource, only: set[str] | None) -> Comparison:
    """Every cluster's diff, rendered a cluster at a time on both sides and forgotten once compared.

    A cluster whose inputs' digest (``fanout.output.cache``) is the same on both sides renders the same
    files on both: it is unchanged, and rendered on the head side only, for the head's problems. Every
    problem is still reported: the base's first (as a revision that cannot be rendered), then the head's.
    """
    with _at(old):
        before = {p.cluster.name: p for p in plan(old.inputs, _present(old, only))}
    with _at(new):
        after = {p.cluster.name: p for p in plan(new.inputs, _present(new, only))}
    shared = [name for name in before if name in after]
    old_digests = input_digests(old.inputs, [before[n] for n in shared])
    new_digests = input_digests(new.inputs, [after[n] for n in shared])
    same = {name for name in shared if old_digests[name] == new_digests[name]}
    base = Renderer(old.inputs.config.limits, memo_size=DIFF_MEMO)
    head = Renderer(new.inputs.config.limits, memo_size=DIFF_MEMO)
    diffs = []
    for name in sorted(before.keys() | after.keys()):
        if name in same:
            render_cluster(head, after[name])  # its problems, if any, are the head's
            diffs.append(ClusterDiff(name, name, name, ()))
            continue
        old_output = render_cluster(base, before[name]) if name in before else None
        new_output = render_cluster(head, after[name]) if name in after else None
        diffs.append(cluster_diff(name, old_output, new_output))
    with _at(old):
        raise_problems(base)
    with _at(new):
        raise_problems(head)
    return refs_comparison(diffs, old.side, new.side)


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
