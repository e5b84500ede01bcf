"""``fanout validate``: check every input and do a full render without writing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fanout.commands.common import input_warnings, open_source, warning_text
from fanout.core.errors import EXIT_INVALID, FanoutError, Problem
from fanout.render.pipeline import check_plans
from fanout.render.place import plan
from fanout.report.machine import document, dump, github, problem_json

if TYPE_CHECKING:
    from fanout.report.kubecheck import KubeOptions


def run(
    source: Path | str,
    echo: Callable[[str], None],
    kube: KubeOptions | None = None,
    report_format: str = "text",
    warn: Callable[[str], None] | None = None,
    ref: str | None = None,
    cache_dir: Path | None = None,
) -> int:
    """Exit 0 when valid. ``report_format`` json and github print input problems on stdout too."""
    if report_format in ("json", "github") and kube is None:
        return _machine(str(source), report_format, echo, ref, cache_dir)
    opened = open_source(source, ref, cache_dir)
    # The fleet is rendered and forgotten cluster by cluster, with or without --kubernetes (2,000 clusters of
    # distinct objects held at once: 0.8 GB, against tens of MB).
    report = None
    if kube is None:
        count = check_plans(opened.inputs, plan(opened.inputs))
    for problem in input_warnings(opened.inputs):
        (warn or echo)(warning_text(problem))
    if kube is not None:
        # Imported here: only this option needs the schema machinery. (Checked as rendered, so the input's
        # warnings come first.)
        from fanout.report.kubecheck import check_fleet

        report, count = check_fleet(opened.inputs, kube)
        from fanout.report.kubereport import FORMATTERS, format_github

        if report_format == "github":
            echo(format_github(report, _root(str(source))).rstrip("\n"))
        else:
            echo(FORMATTERS[report_format](report).rstrip("\n"))
        if report_format != "text" or not report.valid:
            return 0 if report.valid else EXIT_INVALID
    inputs = opened.inputs
    # At a commit, say which one was valid.
    name = opened.tree.description if opened.resolved.commit else source
    echo(
        f"fanout: {name} is valid: {len(inputs.clusters)} clusters, {len(inputs.templates)} templates, "
        f"{len(inputs.overrides)} overrides, {count} objects rendered"
    )
    return 0


def _machine(
    source: str, fmt: str, echo: Callable[[str], None], ref: str | None, cache_dir: Path | None
) -> int:
    """The verdict as a ``Validation`` document, or as GitHub annotations: valid or not, on stdout."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    counts: dict[str, int] = {}
    try:
        opened = open_source(source, ref, cache_dir)
        count = check_plans(opened.inputs, plan(opened.inputs))
    except FanoutError as exc:
        errors = list(exc.problems)
    else:
        inputs = opened.inputs
        warnings = input_warnings(inputs)
        counts = {
            "clusters": len(inputs.clusters),
            "templates": len(inputs.templates),
            "overrides": len(inputs.overrides),
            "objects": count,
        }
    root = _root(source)
    if fmt == "github":
        for problem in errors:
            echo(github(problem, "error", root))
        for problem in warnings:
            echo(github(problem, "warning", root))
        if not errors:
            # One notice with the summary line, so that the run's annotations say it passed.
            summary = (
                f"fanout: {source} is valid: {counts['clusters']} clusters, {counts['templates']} templates,"
                f" {counts['overrides']} overrides, {counts['objects']} objects rendered"
            )
            echo(github(Problem(summary), "notice", root))
    else:
        problems = [problem_json(p, "error", root) for p in errors]
        problems += [problem_json(p, "warning", root) for p in warnings]
        echo(dump(document("Validation", valid=not errors, **counts, problems=problems), "json"))
    return EXIT_INVALID if errors else 0


def _root(source: str) -> str:
    """Paths relative to where fanout runs, so that annotations land on the right file of the repository."""
    return "" if "://" in source else source
