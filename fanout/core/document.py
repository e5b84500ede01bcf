"""A YAML document of a source file, with the position of every value, and JSON Pointer helpers.

Nothing here does I/O; ``fanout.source.parse`` makes documents from bytes, ``fanout.source.load`` reads them
from a tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fanout.core.errors import Location, Problem


def escape(token: str) -> str:
    """Escape one JSON Pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def split_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    return [unescape(t) for t in pointer.split("/")[1:]]


def value_at(value: Any, tokens: Sequence[str]) -> Any:
    """What is at ``tokens`` (a split pointer) in ``value``, or None where nothing is."""
    for token in tokens:
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return None
    return value


@dataclass(frozen=True, eq=False)
class Document:
    """One YAML document of a source file. ``data`` is shared; never mutate it."""

    path: str
    index: int
    data: Any
    positions: Mapping[str, tuple[int, int]] = field(repr=False)
    item: int | None = None  # the position in the ``items`` of a ``kind: List`` document it came from
    # The schemas ``data`` is known to satisfy (``fanout.core.validate.check`` adds each one it finds
    # valid; ``fanout.source.memo`` brings them from an earlier run): a check it has passed is not run
    # again. Not part of what the document is.
    valid_for: set[str] = field(default_factory=set, compare=False, repr=False)
    # Warnings about how the document was read (a value YAML readers disagree on).
    notes: tuple[Problem, ...] = field(default=(), compare=False, repr=False)

    def location(self, pointer: str = "") -> Location:
        """Where ``pointer`` is written, or its nearest written ancestor."""
        while True:
            pos = self.positions.get(pointer)
            if pos is not None:
                return Location(self.path, pos[0], pos[1])
            if pointer == "":
                return Location(self.path, 1, 1)
            pointer = pointer.rsplit("/", 1)[0]

    @property
    def label(self) -> str:
        """``file.yaml`` for the first document of a file, ``file.yaml#2`` (1-based) for later ones;
        ``file.yaml[0]`` for the first item of a ``kind: List`` document."""
        base = self.path if self.index == 0 else f"{self.path}#{self.index + 1}"
        return base if self.item is None else f"{base}[{self.item}]"

    @property
    def order(self) -> tuple[str, int, int]:
        """Sorts documents as they are written: by file, then document, then List item."""
        return (self.path, self.index, -1 if self.item is None else self.item)
