"""A fast block-style YAML writer that gives the same bytes as the PyYAML dumper fanout uses.

PyYAML spends most of a dump building and walking a node graph in Python. fanout's output is plain
data (dicts, lists, strings, numbers, booleans, null) in block style, whose layout follows a few fixed
rules; only scalars need the dumper's judgement (plain or quoted, block literal or not). So each
distinct scalar is rendered once by the real dumper and remembered, and the layout is written here.

Anything these rules do not cover raises ``Unsupported`` and the caller uses the real dumper for the
whole document: shared sub-objects (the dumper writes anchors), keys that are not short one-line
strings, block literals that keep trailing newlines (the dumper ends those documents with ``...``),
strings with line breaks other than ``\\n``, and types other than the JSON ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Union

import yaml

from fanout.core.goyaml import reads_as_string

# A scalar as it follows ``key:`` or ``- ``: a one-line text, or a block literal (header, content lines).
Literal = tuple[str, tuple[str, ...]]
Rendered = Union[str, Literal]  # noqa: UP007 - a runtime alias: "|" needs Python 3.10 types

# Keys this long may stop being "simple keys" (written ``? key``); leave them to the real dumper.
MAX_KEY = 100
# Line breaks other than "\n" make the dumper fold quoted scalars onto indented lines.
_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
# Names, paths and versions: no indicator, space, quote or colon, so plain whenever they read as a string.
_SIMPLE = re.compile(r"[A-Za-z][A-Za-z0-9._/-]*\Z")
_STR_TAG = "tag:yaml.org,2002:str"


class Unsupported(Exception):
    """The document needs something only the real dumper does."""


class BlockWriter:
    """Writes documents as ``reference`` would, with ``reference`` asked once per distinct scalar.

    ``reference`` dumps one document with the real dumper. The caches only ever hold what
    ``reference`` returned for a value, so they cannot change the output.
    """

    def __init__(self, reference: Callable[[Any], str]) -> None:
        self._reference = reference
        self._strings: dict[str, Rendered] = {}
        self._keys: dict[str, str] = {}
        self._resolver = yaml.resolver.Resolver()

    def dump(self, document: Any) -> str:
        if type(document) is not dict or not document:
            raise Unsupported("not a non-empty mapping")
        parts: list[str] = []
        self._mapping(document, 0, False, parts, set())
        return "".join(parts)

    # --- scalars -----------------------------------------------------------------------------

    def _key(self, key: Any) -> str:
        if type(key) is not str:
            raise Unsupported("a key that is not a string")
        text = self._keys.get(key)
        if text is None:
            if not key or len(key) > MAX_KEY or "\n" in key or any(b in key for b in _ODD_BREAKS):
                raise Unsupported("a key the dumper may not write as a simple key")
            full = self._reference({key: 0})
            if full.startswith("?") or not full.endswith(": 0\n") or full.count("\n") != 1:
                raise Unsupported("a key the dumper writes in another form")
            text = self._keys[key] = full[: -len(" 0\n")]
        return text

    def _scalar(self, value: Any) -> Rendered:
        kind = type(value)
        if kind is str:
            found = self._strings.get(value)
            if found is None:
                found = self._strings[value] = self._render_string(value)
            return found
        if kind is bool:
            return "true" if value else "false"
        if value is None:
            return "null"
        if kind is int:
            return str(value)  # as PyYAML's int representer writes it; it always reads back as an int
        if kind is float:  # 0.0 and -0.0 are equal keys and NaN equals nothing: not cached
            return self._one_line(value)
        raise Unsupported(f"a value of type {kind.__name__}")

    def _one_line(self, value: Any) -> str:
        full = self._reference({"k": value})
        if not full.startswith("k: ") or full.count("\n") != 1:
            raise Unsupported("a scalar the dumper writes on several lines")
        return full[3:-1]

    def _render_string(self, value: str) -> Rendered:
        if any(b in value for b in _ODD_BREAKS):
            raise Unsupported("a string with unusual line breaks")
        if "\n" not in value:
            if _SIMPLE.match(value) and self._reads_as_string(value):
                return value
            return self._one_line(value)
        full = self._reference({"k": value})
        if not full.startswith("k: "):
            raise Unsupported("a multi-line string the dumper writes in another form")
        lines = full[3:].split("\n")
        header, content = lines[0], lines[1:-1]
        if lines[-1] != "":
            raise Unsupported("unexpected end of a block literal")  # pragma: no cover - defensive
        if not content:  # quoted on one line, e.g. a line with trailing spaces
            return header
        if not header.startswith("|") or header.endswith("+"):
            raise Unsupported("a block literal the dumper ends with '...'")
        if not all(line == "" or line.startswith("  ") for line in content):
            raise Unsupported("a block literal with unexpected indentation")  # pragma: no cover
        return header, tuple(line[2:] if line else "" for line in content)

    def _reads_as_string(self, value: str) -> bool:
        """False for words such as ``yes``, ``null`` or ``y`` that the dumper must quote to keep them
        strings, for PyYAML or for Kubernetes' go-yaml (``fanout.core.goyaml``)."""
        tag: str = self._resolver.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
        return tag == _STR_TAG and reads_as_string(value)

    @staticmethod
    def _literal(literal: Literal, indent: int, parts: list[str]) -> None:
        header, content = literal
        pad = " " * indent
        parts.append(header + "\n")
        parts.extend(pad + line + "\n" if line else "\n" for line in content)

    # --- collections -------------------------------------------------------------------------

    @staticmethod
    def _visit(node: Any, seen: set[int]) -> None:
        """The dumper anchors a collection that occurs twice in one document; that is not written here."""
        marker = id(node)
        if marker in seen:
            raise Unsupported("a shared sub-object (the dumper writes an anchor)")
        seen.add(marker)

    def _mapping(
        self, node: dict[Any, Any], column: int, inline: bool, parts: list[str], seen: set[int]
    ) -> None:
        self._visit(node, seen)
        pad = " " * column
        first = inline
        for key, value in node.items():
            text = self._key(key)
            parts.append(text if first else pad + text)
            first = False
            kind = type(value)
            if kind is dict:
                if value:
                    parts.append("\n")
                    self._mapping(value, column + 2, False, parts, seen)
                else:
                    self._visit(value, seen)
                    parts.append(" {}\n")
            elif kind is list:
                if value:
                    parts.append("\n")
                    # A sequence under a key is not indented further (the dumper's "indentless" form).
                    self._sequence(value, column, False, parts, seen)
                else:
                    self._visit(value, seen)
                    parts.append(" []\n")
            else:
                rendered = self._scalar(value)
                if isinstance(rendered, str):
                    parts.append(" " + rendered + "\n")
                else:
                    parts.append(" ")
                    self._literal(rendered, column + 2, parts)

    def _sequence(self, node: list[Any], column: int, inline: bool, parts: list[str], seen: set[int]) -> None:
        self._visit(node, seen)
        dash = " " * column + "- "
        first = inline
        for item in node:
            parts.append("- " if first else dash)
            first = False
            kind = type(item)
            if kind is dict:
                if item:
                    self._mapping(item, column + 2, True, parts, seen)
                else:
                    self._visit(item, seen)
                    parts.append("{}\n")
            elif kind is list:
                if item:
                    self._sequence(item, column + 2, True, parts, seen)
                else:
                    self._visit(item, seen)
                    parts.append("[]\n")
            else:
                rendered = self._scalar(item)
                if isinstance(rendered, str):
                    parts.append(rendered + "\n")
                else:
                    self._literal(rendered, column + 2, parts)
