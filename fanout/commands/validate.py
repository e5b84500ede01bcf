"""``fanout validate``: check every input and do a full render without writing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fanout.commands.common import open_source
from fanout.pipeline import render
from fanout.place import warnings


def run(
    source: Path | str, echo: Callable[[str], None], ref: str | None = None, cache_dir: Path | None = None
) -> int:
    opened = open_source(source, ref, cache_dir)
    rendering = render(opened.inputs)
    for warning in (*rendering.warnings, *warnings(opened.inputs)):
        echo(f"warning: {warning}")
    inputs = opened.inputs
    # At a commit, say which one was valid.
    name = opened.tree.description if opened.resolved.commit else source
    echo(
        f"fanout: {name} is valid: {len(inputs.clusters)} clusters, {len(inputs.templates)} templates, "
        f"{len(inputs.overrides)} overrides, {rendering.object_count} objects rendered"
    )
    return 0
