"""Which source line wrote a field of a rendered object: the last patch that wrote it, else the template.

The renderer applies, in order, the template (after substitution) and then each patch: first its merge
patch, then its JSON Patch ops. Walking those steps backwards, the first one whose written value covers
the field is the one that produced it; its position comes from the positions recorded when the YAML was
loaded. A field deeper than anything written in the source (say inside a ``${cluster.values.x}`` that
became a whole mapping) resolves to the nearest written ancestor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonpointer

from fanout.core.document import escape, split_pointer, value_at
from fanout.core.errors import Location
from fanout.core.images import ImageRule, could_write
from fanout.core.model import Patch, PatchOp, Template
from fanout.render.images import is_image_field
from fanout.render.strategic import written_at


def _join(tokens: Sequence[str]) -> str:
    return "".join("/" + escape(t) for t in tokens)


def _array_length(obj: Any, tokens: Sequence[str]) -> int | None:
    current = value_at(obj, tokens)
    return len(current) if isinstance(current, list) else None


def _op_writes(op: PatchOp, field: Sequence[str], obj: Any) -> Sequence[str] | None:
    """The part of ``field`` below the value ``op`` wrote, when it wrote ``field`` or an ancestor of it."""
    if op.op not in ("add", "replace", "move", "copy"):
        return None
    target = split_pointer(op.path)
    if len(target) > len(field):
        return None
    if target and target[-1] == "-" and op.op == "add":
        # "append" wrote what is now the last element, unless later steps appended more: a best guess.
        length = _array_length(obj, target[:-1])
        target = [*target[:-1], str(length - 1 if length else 0)]
    if list(field[: len(target)]) != target:
        return None
    return field[len(target) :]


def _merge_writes(merge: Any, field: Sequence[str]) -> bool:
    """Whether an RFC 7386 merge patch wrote ``field`` (or replaced an ancestor of it wholesale)."""
    current = merge
    for token in field:
        if not isinstance(current, dict):
            return True  # a non-mapping value replaces the whole subtree below it
        if token not in current:
            return False
        current = current[token]
    return current is not None


def last_writer(template: Template, patches: Sequence[Patch], obj: Any, pointer: str) -> Location:
    """Where the value at ``pointer`` in the rendered ``obj`` was written in the source."""
    field = split_pointer(pointer)
    for patch in reversed(patches):
        for op in reversed(patch.ops):
            rest = _op_writes(op, field, obj)
            if rest is not None:
                if op.op in ("move", "copy"):
                    return patch.doc.location(op.pointer)
                return patch.doc.location(f"{op.pointer}/value{_join(rest)}")
        if patch.merge is not None and patch.merge_pointer is not None and _merge_writes(patch.merge, field):
            return patch.doc.location(patch.merge_pointer + pointer)
        if patch.strategic is not None and patch.strategic_pointer is not None:
            written = written_at(patch.strategic_writes, pointer, obj)
            if written is not None:
                return patch.doc.location(patch.strategic_pointer + written)
        if patch.images_pointer is not None and is_image_field(pointer):
            entry = images_entry(patch, obj, pointer)
            if entry:
                return patch.doc.location(patch.images_pointer + entry)
    return template.location_of(pointer)


def images_entry(patch: Patch, obj: Any, pointer: str) -> str:
    """ "/<index>" of the last ``images:`` entry that may have written the image at ``pointer`` in ``obj``,
    or "" (references in the entries are not substituted here: such an entry is not named)."""
    try:
        image = jsonpointer.resolve_pointer(obj, pointer)
    except jsonpointer.JsonPointerException:
        return ""
    entries = patch.images if isinstance(patch.images, list) else []
    for index in range(len(entries) - 1, -1, -1):
        entry = entries[index]
        texts = isinstance(entry, dict) and all(isinstance(v, str) for v in entry.values())
        if texts and could_write(ImageRule.of(entry), image):
            return f"/{index}"
    return ""
