"""Small English for messages: counts with the right noun, and long name lists cut short."""

from __future__ import annotations

from collections.abc import Sequence

# Past this many names a list says "and N more": a summary line should stay one line.
SHOWN_NAMES = 5


def plural(count: int, noun: str) -> str:
    """``1 cluster``, ``2 clusters``, ``1,000 objects``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def some_names(names: Sequence[str], shown: int = SHOWN_NAMES) -> str:
    """``a, b, c`` or, past ``shown`` names, ``a, b, c, d, e and 7 more``."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown:,} more"
