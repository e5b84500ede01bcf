"""``fanout explain``: where one object of one cluster comes from, or why it is not there."""

from __future__ import annotations

from collections.abc import Callable

from fanout.commands.sources import load_source
from fanout.explain import Absent, explain, lines, parse_target


def run(
    source: str,
    cluster: str,
    target: str,
    namespace: str | None,
    field: str | None,
    ref: str | None,
    echo: Callable[[str], None],
) -> int:
    """Exit 0 when the object is rendered in the cluster, 1 when it is absent or fails to render."""
    wanted = parse_target(target, namespace)
    loaded = load_source(source, ref)
    story = explain(loaded.inputs, cluster, wanted, field)
    if loaded.side.commit is not None:
        echo(f"source: {loaded.tree.description}")
    for line in lines(story):
        echo(line)
    if isinstance(story, Absent) or story.replay.failure is not None:
        return 1
    return 0
