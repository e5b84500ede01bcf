"""Shell completion: cluster names for ``-c``, label pairs for ``-l``, ``kind/name`` for ``explain``.

Completion runs on every Tab press, so it reads the source root quietly: any problem means no
suggestions rather than an error in the middle of the user's command line.
"""

from __future__ import annotations

from fanout.core.model import Inputs


def _inputs(source: str) -> Inputs | None:
    from fanout.commands.common import open_source
    from fanout.core.errors import FanoutError

    try:
        return open_source(source).inputs
    except (FanoutError, OSError, ValueError):
        return None


def cluster_names(source: str, incomplete: str) -> list[str]:
    inputs = _inputs(source)
    return [c.name for c in inputs.clusters if c.name.startswith(incomplete)] if inputs else []


def label_pairs(source: str, incomplete: str) -> list[str]:
    """``key=value`` for every label of the inventory; after a comma, the next requirement."""
    inputs = _inputs(source)
    if inputs is None:
        return []
    head, _, last = incomplete.rpartition(",")
    prefix = head + "," if head else ""
    pairs = sorted({f"{k}={v}" for c in inputs.clusters for k, v in c.labels.items()})
    return [prefix + p for p in pairs if p.startswith(last)]


def object_names(source: str, incomplete: str) -> list[str]:
    inputs = _inputs(source)
    if inputs is None:
        return []
    names = sorted({f"{t.ident.kind.lower()}/{t.ident.name}" for t in inputs.templates})
    return [n for n in names if n.startswith(incomplete.lower())]
