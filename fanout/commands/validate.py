"""``fanout validate``: check every input and do a full render without writing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fanout.commands.common import open_source, warning_lines
from fanout.pipeline import render

if TYPE_CHECKING:
    from fanout.kubecheck import KubeOptions


def run(
    source: Path | str,
    echo: Callable[[str], None],
    kube: KubeOptions | None = None,
    report_format: str = "text",
    warn: Callable[[str], None] | None = None,
    ref: str | None = None,
    cache_dir: Path | None = None,
) -> int:
    opened = open_source(source, ref, cache_dir)
    rendering = render(opened.inputs)
    for line in warning_lines(opened.inputs):
        (warn or echo)(line)
    if kube is not None:
        # Imported here: only this option needs the schema machinery.
        from fanout.kubecheck import check_rendering
        from fanout.kubereport import FORMATTERS

        report = check_rendering(rendering, kube)
        echo(FORMATTERS[report_format](report).rstrip("\n"))
        if report_format != "text" or not report.valid:
            return 0 if report.valid else 1
    inputs = opened.inputs
    # At a commit, say which one was valid.
    name = opened.tree.description if opened.resolved.commit else source
    echo(
        f"fanout: {name} is valid: {len(inputs.clusters)} clusters, {len(inputs.templates)} templates, "
        f"{len(inputs.overrides)} overrides, {rendering.object_count} objects rendered"
    )
    return 0
