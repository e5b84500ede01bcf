"""``fanout explain``: where one object of one cluster comes from, or why it is not there."""

from __future__ import annotations

from collections.abc import Callable

from fanout.commands.sources import load_source
from fanout.core.errors import visible
from fanout.report.explain import Absent, explain, parse_target
from fanout.report.explainview import lines, story_json
from fanout.report.machine import document, dump


def run(
    source: str,
    cluster: str,
    target: str,
    namespace: str | None,
    field: str | None,
    ref: str | None,
    echo: Callable[[str], None],
    output: str = "text",
) -> int:
    """Exit 0 when the object is rendered in the cluster, 1 when it is absent or fails to render."""
    wanted = parse_target(target, namespace)
    loaded = load_source(source, ref)
    story = explain(loaded.inputs, cluster, wanted, field)
    failed = isinstance(story, Absent) or story.replay.failure is not None
    if output == "json":
        commit = {"commit": loaded.side.commit} if loaded.side.commit is not None else {}
        echo(dump(document("Explanation", **commit, **story_json(story)), "json"))
        return 1 if failed else 0
    if loaded.side.commit is not None:
        echo(f"source: {loaded.tree.description}")
    for line in lines(story):
        echo(visible(line))  # values and names from input stay on their line, escapes shown as such
    return 1 if failed else 0
