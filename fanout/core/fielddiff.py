"""Where two objects differ, field by field: for diffs people read, and for saying which field of a chart
renders differently each time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from fanout.core.document import escape

ObjectStatus = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class FieldChange:
    """One value that differs: ``op`` says whether it was added, removed or changed."""

    path: str  # JSON Pointer into the object
    op: ObjectStatus
    before: Any = None  # None when added
    after: Any = None  # None when removed


def canonical(obj: Any) -> str:
    # JSON tells true from 1 and 1.0 from 1, which Python's == does not; key order is not a difference.
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def _tail(items: list[Any], start: int) -> list[tuple[int, Any]]:
    return list(enumerate(items))[start:]


def field_changes(before: Any, after: Any, pointer: str = "") -> list[FieldChange]:
    """Every value that differs, as deep as both sides have the same shape (list items by index)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[FieldChange] = []
        for key in [*before, *(k for k in after if k not in before)]:
            at = f"{pointer}/{escape(key)}"
            if key not in after:
                found.append(FieldChange(at, "removed", before[key], None))
            elif key not in before:
                found.append(FieldChange(at, "added", None, after[key]))
            else:
                found.extend(field_changes(before[key], after[key], at))
        return found
    if isinstance(before, list) and isinstance(after, list):
        found = []
        common = min(len(before), len(after))
        for index in range(common):
            found.extend(field_changes(before[index], after[index], f"{pointer}/{index}"))
        found.extend(FieldChange(f"{pointer}/{i}", "removed", item) for i, item in _tail(before, common))
        found.extend(FieldChange(f"{pointer}/{i}", "added", None, item) for i, item in _tail(after, common))
        return found
    if canonical(before) != canonical(after):
        return [FieldChange(pointer, "changed", before, after)]
    return []
