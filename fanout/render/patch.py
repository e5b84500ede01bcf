"""Stage 5, patch: substitute ``${cluster.…}`` references, then apply each override in order."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

import jsonpatch
import jsonpointer

from fanout.core.document import escape, split_pointer
from fanout.core.images import ImageRule
from fanout.core.model import IDENTITY_PATHS, TARGET_IDENTITY, Patch, PatchOp, Template
from fanout.core.substitute import as_text, substitute
from fanout.render import strategic
from fanout.render.images import NotText, apply_images
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


def _negative_in_list(document: Any, pointer: str) -> bool:
    """Whether ``pointer`` indexes a list with a negative number somewhere."""
    for token in split_pointer(pointer):
        if isinstance(document, list):
            if _NEGATIVE.fullmatch(token):
                return True
            document = document[int(token)] if token.isdigit() and int(token) < len(document) else None
        elif isinstance(document, dict):
            document = document.get(token)
        else:
            return False
    return False


def _explain(document: Any, op: PatchOp, error: Exception, secret: bool = False) -> str:
    text = f"{op.op} {op.path}"
    if any(_negative_in_list(document, p) for p in (op.path, op.from_) if p is not None):
        return (
            f"{text}: a negative index counts from the end of a list only as the last part of an add or"
            " remove path, or of a move or copy destination, as KubeFed's json-patch (v4.11.0) reads it;"
            " count this one from the start"
        )
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
    if op.op == "test":
        return (
            f"{text}: the object has {_short(_value(document, op.path))} there, the patch expects"
            f" {_short(op.value)} (if the template's list was"
            " reordered, the patch's positions name other items now)"
        )
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


def _short(value: Any, limit: int = 60) -> str:
    """``value`` as JSON on one line, cut to about ``limit`` characters (it may be a whole object)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else f"{text[:limit]}…"


def _value(document: Any, pointer: str) -> Any:
    try:
        return jsonpointer.resolve_pointer(document, pointer)
    except jsonpointer.JsonPointerException:
        return None


# A negative array index, as Go's strconv.Atoi reads one.
_NEGATIVE = re.compile(r"-[0-9]+")


def _from_end(document: Any, pointer: str, grows: bool) -> str:
    """``pointer`` with a negative last index counted from the end of its list, as evanphx/json-patch
    v4.11.0 does for the last index of an ``add`` (``grows``: -1 appends) or a ``remove`` (-1 is the last
    item); KubeFed pins that version and ``kubectl patch --type json`` reads patches with it (patch.go at
    3c3c85ec, ``partialArray.add`` and ``.remove``). Elsewhere it reads a negative index as a Go panic,
    which fanout leaves to jsonpatch to refuse.
    """
    parent, _, last = pointer.rpartition("/")
    if not _NEGATIVE.fullmatch(last):
        return pointer
    items = _value(document, parent)
    if not isinstance(items, list):
        return pointer
    size = len(items) + (1 if grows else 0)
    index = int(last)
    if index < -size:
        raise ValueError(f"index {index} is before the start of {parent or '/'} ({len(items)} items)")
    return f"{parent}/{index + size}"


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


Identity = dict[tuple[str, ...], Any]


def _aimed(body: Any, identity: Identity) -> Any:
    """``body`` with an object's identity, as kustomize aims a patch at each of its targets (a copy: the
    body is the Override's)."""
    if not isinstance(body, dict):
        return body
    aimed = dict(body)
    if isinstance(aimed.get("metadata"), dict):
        aimed["metadata"] = dict(aimed["metadata"])
    _put(aimed, identity, create=False)
    return aimed


def _put(target: dict[str, Any], identity: Identity, create: bool) -> None:
    """Write ``identity`` into ``target`` (``create``: also where the patch left no metadata)."""
    for (*parents, key), value in identity.items():
        node: Any = target
        for parent in parents:
            if create and value is not _ABSENT and not isinstance(node.get(parent), dict):
                node[parent] = {}
            node = node.get(parent)
            if not isinstance(node, dict):
                break
        else:
            if value is _ABSENT:
                node.pop(key, None)
            else:
                node[key] = value


def _strategic(obj: dict[str, Any], body: Any, patch: Patch) -> dict[str, Any] | None:
    pointer = patch.strategic_pointer or ""
    # kustomize aims a patch with a target at each object; without one, the patch names the object.
    identity = {path: _at(obj, list(path)) for path in TARGET_IDENTITY} if patch.aimed else None
    if identity is not None:
        body = _aimed(body, identity)
    check_identity(obj, body, patch, pointer)
    before = _identity(obj)
    try:
        result = strategic.apply(obj, body, patch.strategic_mode, patch.custom)
    except StrategicError as exc:
        raise PatchFailure(patch, pointer + exc.pointer, exc.message) from None
    if identity is not None and result is not None:  # also where the patch replaced or removed metadata
        _put(result, identity, create=True)
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
    if patch.images is not None:
        entries = substitute(patch.images, resolved) if needs_substitution else patch.images
        _images(obj, entries, patch)
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
            obj = _apply_op(obj, raw)
        except ValueError as exc:
            raise PatchFailure(patch, op.pointer, f"{op.op} {op.path}: {exc}") from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise PatchFailure(patch, op.pointer, _explain(obj, op, exc, secret)) from None
    return obj


def _images(obj: dict[str, Any], entries: Any, patch: Patch) -> None:
    """kustomize's images: entries, each field as text (a number a reference gave is written as in YAML)."""
    pointer = patch.images_pointer or ""
    rules = []
    for index, entry in enumerate(entries):
        fields = {}
        for key, value in entry.items():
            if isinstance(value, (dict, list)) or value is None:
                raise PatchFailure(patch, f"{pointer}/{index}/{key}", f"images: {key} must be text")
            fields[key] = as_text(value)
        rules.append(ImageRule.of(fields))
    try:
        apply_images(obj, rules)
    except NotText as exc:
        raise PatchFailure(
            patch, pointer, f"images: {exc.pointer} is not text, so it names no image"
        ) from None


def _apply_op(obj: dict[str, Any], raw: dict[str, Any]) -> Any:
    """One JSON Patch op, negative indexes counted from the end where evanphx/json-patch counts them."""
    name = raw["op"]
    if name in ("add", "remove", "copy"):
        raw["path"] = _from_end(obj, raw["path"], grows=name != "remove")
    elif name == "move" and _NEGATIVE.fullmatch(raw["path"].rpartition("/")[2]):
        # evanphx removes first and then finds the destination (its list may be one item shorter).
        value = jsonpointer.resolve_pointer(obj, raw["from"])
        obj = jsonpatch.JsonPatch([{"op": "remove", "path": raw["from"]}]).apply(obj, in_place=True)
        raw = {"op": "add", "path": _from_end(obj, raw["path"], grows=True), "value": value}
    return jsonpatch.JsonPatch([raw]).apply(obj, in_place=True)


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
