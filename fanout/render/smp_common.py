"""What both strategic merges share: the error they raise, the directives' names, a scalar's text."""

from __future__ import annotations

from typing import Any

from fanout.core.document import escape

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_FROM = "$deleteFromPrimitiveList/"


class StrategicError(Exception):
    """A strategic patch that cannot be applied; ``pointer`` is where in the patch body the problem is."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(message)
        self.pointer = pointer
        self.message = message


def child(pointer: str, token: str | int) -> str:
    return f"{pointer}/{escape(str(token))}"


def text(value: Any) -> str:
    """A scalar as YAML writes it: kustomize compares merge keys by this text, not by type."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


def kind_of(value: Any) -> str:
    """The JSON type, as Go's decoder sees it (every number is one type)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


def same(a: Any, b: Any) -> bool:
    """Go's ``==`` on decoded JSON scalars: equal values of the same JSON type."""
    return kind_of(a) == kind_of(b) and a == b


def is_directive(key: str) -> bool:
    return key.startswith("$")
