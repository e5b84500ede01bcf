"""A strategic-merge patch that turns one object into another, for ``fanout import``.

Where a cluster's copy differs from the template inside a list whose items have a merge key (a container's
image, an env var), a JSON Patch must name the item by its position and a merge patch must repeat the whole
list; a strategic patch names the item by its key, as a kustomize user would write it. The patch is only
offered when merging it (``fanout.render.strategic``, kustomize's way) gives back the copy exactly, list order
included; otherwise the caller keeps its JSON or merge patch.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from fanout.kube.patchmeta import Schema
from fanout.render import strategic
from fanout.render.smp_common import StrategicError


class _NoPatch(Exception):
    """The difference cannot be said as a strategic patch."""


def strategic_patch(template: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any] | None:
    """A strategic patch taking ``template`` to ``target``, or None when there is none that does exactly."""
    schema = strategic.Roots(strategic.KUSTOMIZE, {})(dict(template))
    # kustomize puts the items a patch names first; where that moves one, $setElementOrder keeps the order.
    for ordered in (False, True):
        try:
            patch = _diff_map(template, target, schema, ordered)
        except _NoPatch:
            return None
        if not patch or _touches_identity(patch):
            return None
        try:
            merged = strategic.apply(copy.deepcopy(dict(template)), patch, strategic.KUSTOMIZE)
        except StrategicError:
            return None
        if merged == target:
            return patch
    return None


def _touches_identity(patch: Mapping[str, Any]) -> bool:
    metadata = patch.get("metadata")
    identity = ("name", "namespace", "generateName")
    named = isinstance(metadata, Mapping) and any(k in metadata for k in identity)
    return "apiVersion" in patch or "kind" in patch or named


def _diff_map(
    old: Mapping[str, Any], new: Mapping[str, Any], schema: Schema | None, ordered: bool
) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, value in new.items():
        if key not in old:
            patch[key] = copy.deepcopy(value)
        elif old[key] != value:
            before = old[key]
            if isinstance(before, dict) and isinstance(value, dict):
                patch[key] = _diff_map(before, value, schema.field(key) if schema else None, ordered)
            elif isinstance(before, list) and isinstance(value, list):
                patch[key] = _diff_list(before, value, key, schema, ordered)
                merge_key = schema.list_meta(key).merge_key if schema is not None else ""
                if ordered and merge_key and patch[key] != value:
                    patch[f"$setElementOrder/{key}"] = [{merge_key: item[merge_key]} for item in value]
            elif value is None:
                raise _NoPatch  # a null value cannot be written: a patch's null removes the field
            else:
                patch[key] = copy.deepcopy(value)
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def _diff_list(old: list[Any], new: list[Any], name: str, schema: Schema | None, ordered: bool) -> list[Any]:
    meta = schema.list_meta(name) if schema is not None else None
    key = meta.merge_key if meta is not None and meta.merges else ""
    if not key or not all(isinstance(i, dict) and key in i for i in [*old, *new]):
        return copy.deepcopy(new)  # replaced whole, as the merge replaces a list without merge key
    by_key = {_key(i[key]): i for i in old}
    if len(by_key) != len(old) or len({_key(i[key]) for i in new}) != len(new):
        raise _NoPatch  # two items with one key: the merge could not tell them apart
    items = schema.items(name) if schema is not None else None
    patch: list[Any] = []
    for item in new:
        before = by_key.get(_key(item[key]))
        if before is None:
            patch.append(copy.deepcopy(item))
        elif before != item:
            changed = _diff_map(before, item, items, ordered)
            patch.append({key: item[key], **changed})
    seen = {_key(i[key]) for i in new}
    patch.extend({key: i[key], "$patch": "delete"} for i in old if _key(i[key]) not in seen)
    return patch


def _key(value: Any) -> str:
    return f"{type(value).__name__}:{value!r}"
