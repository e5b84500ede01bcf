"""Stage 5, patch: substitute ``${cluster.…}`` references, then apply each override in order."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpatch
import jsonpointer

from fanout.core.document import escape, split_pointer
from fanout.core.model import IDENTITY_PATHS, Patch, PatchOp, Template
from fanout.core.substitute import substitute
from fanout.render import strategic
from fanout.render.smp_common import StrategicError


class PatchFailure(Exception):
    """A patch that cannot be applied; ``pointer`` is where in its document the failing part is written."""

    def __init__(self, patch: Patch, pointer: str, message: str) -> None:
        super().__init__(message)
        self.patch = patch
        self.pointer = pointer
        self.message = message


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _exists(document: Any, pointer: str) -> bool:
    try:
        jsonpointer.resolve_pointer(document, pointer)
    except jsonpointer.JsonPointerException:
        return False
    return True


SECRET_NOTE = "the values of Secrets are not shown"


def _explain(document: Any, op: PatchOp, error: Exception, secret: bool = False) -> str:
    text = f"{op.op} {op.path}"
    parent = op.path.rsplit("/", 1)[0]
    if op.op == "add" and parent and not _exists(document, parent):
        return (
            f"{text}: the parent {parent} does not exist; add the whole parent,"
            " or use a merge patch, which creates missing parents"
        )
    if op.op in ("replace", "remove", "test") and not _exists(document, op.path):
        return f"{text}: the path does not exist (use add to create it)"
    if secret:  # the library's own message quotes the values
        what = "the value is not the tested one" if op.op == "test" else "it cannot be applied"
        return f"{text}: {what} ({SECRET_NOTE})"
    return f"{text}: {error}"


def _prepare(document: Any, op: PatchOp) -> str:
    """The JSON Patch op to run for ``op``: its lenient forms become a plain ``add`` where they may."""
    if op.upsert and op.op == "replace" and not _exists(document, op.path):
        parent, _, _ = op.path.rpartition("/")
        if isinstance(_value(document, parent), dict):
            return "add"  # evanphx/json-patch v4 set a key missing from an existing mapping
    if op.parents and op.op == "add":
        tokens = split_pointer(op.path)[:-1]
        current = document
        for index, token in enumerate(tokens):
            if not isinstance(current, dict):
                at = "".join("/" + escape(t) for t in tokens[:index]) or "/"
                raise ValueError(f"cannot set {op.path}: {at} is not a mapping")
            current = current.setdefault(token, {})  # SetNestedField made missing parents
        if not isinstance(current, dict):
            raise ValueError(f"cannot set {op.path}: its parent is not a mapping")
    return op.op


def _value(document: Any, pointer: str) -> Any:
    try:
        return jsonpointer.resolve_pointer(document, pointer)
    except jsonpointer.JsonPointerException:
        return None


_ABSENT = object()


def _at(document: Any, tokens: list[str]) -> Any:
    for token in tokens:
        if not isinstance(document, dict) or token not in document:
            return _ABSENT
        document = document[token]
    return document


def check_identity(obj: Mapping[str, Any], body: Any, patch: Patch, pointer: str) -> None:
    """A patch body may repeat what identifies the object (every kustomize patch does) but not change it."""
    for path in IDENTITY_PATHS:
        tokens = split_pointer(path)
        node = body
        for depth, token in enumerate(tokens):
            if not isinstance(node, dict) or token not in node:
                break
            node = node[token]
            if node is None or depth == len(tokens) - 1:
                if node is not None and node == _at(obj, tokens):
                    break
                if node is None and _at(obj, tokens) is _ABSENT:
                    break
                raise PatchFailure(
                    patch,
                    pointer + "".join("/" + escape(t) for t in tokens[: depth + 1]),
                    f"overrides may not change {path} (it identifies the object)",
                )


def _identity(obj: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(_at(obj, split_pointer(path)) for path in IDENTITY_PATHS)


def _strategic(obj: dict[str, Any], body: Any, patch: Patch) -> dict[str, Any] | None:
    pointer = patch.strategic_pointer or ""
    check_identity(obj, body, patch, pointer)
    before = _identity(obj)
    try:
        result = strategic.apply(obj, body, patch.strategic_mode, patch.custom)
    except StrategicError as exc:
        raise PatchFailure(patch, pointer + exc.pointer, exc.message) from None
    if result is not None and _identity(result) != before:
        raise PatchFailure(patch, pointer, "the strategic patch changes what identifies the object")
    return result


def apply_patch(
    obj: dict[str, Any], patch: Patch, resolved: Mapping[str, Any], secret: bool = False
) -> dict[str, Any] | None:
    """Apply one patch (merge or strategic first, then JSON Patch ops) to ``obj``, which the caller owns.

    Returns None when a strategic patch deletes the object (``$patch: delete``).
    ``secret``: the object is a Secret, so no failure message may quote a value.
    """
    needs_substitution = bool(patch.refs) or patch.escapes
    if patch.merge is not None:
        merge = substitute(patch.merge, resolved) if needs_substitution else patch.merge
        check_identity(obj, merge, patch, patch.merge_pointer or "")
        obj = merge_patch(obj, merge)
    if patch.strategic is not None:
        body = substitute(patch.strategic, resolved) if needs_substitution else patch.strategic
        patched = _strategic(obj, body, patch)
        if patched is None:
            return None
        obj = patched
    for op in patch.ops:
        try:
            name = _prepare(obj, op)
        except ValueError as exc:
            raise PatchFailure(patch, op.pointer, str(exc)) from None
        raw: dict[str, Any] = {"op": name, "path": op.path}
        if op.has_value:
            value = substitute(op.value, resolved) if needs_substitution else op.value
            raw["value"] = copy.deepcopy(value)
        if op.from_ is not None:
            raw["from"] = op.from_
        try:
            obj = jsonpatch.JsonPatch([raw]).apply(obj, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise PatchFailure(patch, op.pointer, _explain(obj, op, exc, secret)) from None
    return obj


def render_object(
    template: Template, patches: tuple[Patch, ...], resolved: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The final object for one cluster, or None when a patch deletes it from this cluster;
    ``resolved`` holds the values of every reference used."""
    if template.refs or template.escapes:
        obj: dict[str, Any] | None = substitute(template.obj, resolved)
    else:
        obj = copy.deepcopy(dict(template.obj)) if patches else dict(template.obj)
    for patch in patches:
        if obj is None:
            break
        obj = apply_patch(obj, patch, resolved, template.ident.secret)
    return obj
