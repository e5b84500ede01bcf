"""Kubernetes' own strategic merge patch, as ``kubectl patch --local --type strategic`` applies it.

Written from k8s.io/apimachinery ``pkg/util/strategicpatch/patch.go`` at commit
eed236ceee2c19c2753a3d93ac0631dc20750454 (``StrategicMergeMapPatchUsingLookupPatchMeta``: ``mergeMap`` with
``MergeParallelList`` and ``IgnoreUnmatchedNulls``). Lists with patch strategy ``merge`` are merged by their
single
merge key; the result's order is the patch's items in the patch's order interleaved with the object's other
items in their order (``normalizeElementOrder``), or the order ``$setElementOrder`` gives. ``$retainKeys`` and
``$deleteFromPrimitiveList`` are applied as that code does.

One deliberate difference: where kubectl would copy a new list item or field from the patch with a directive
or
a null inside it (``{name: X, $patch: delete}`` in a new container's ``env``), fanout takes the directive and
the
null out, so that no ``$`` key and no stray null is ever written.
"""

from __future__ import annotations

from typing import Any

from fanout.kube.patchmeta import Schema
from fanout.render.smp_common import (
    DELETE_FROM,
    PATCH,
    RETAIN_KEYS,
    SET_ORDER,
    StrategicError,
    child,
    kind_of,
    same,
    text,
)


def merge_map(original: Any, patch: dict[str, Any], schema: Schema | None, at: str) -> dict[str, Any]:
    if PATCH in patch:
        directive = patch[PATCH]
        if directive == "replace":
            del patch[PATCH]
            replaced: dict[str, Any] = clean(patch)
            return replaced
        if directive == "delete":
            return {}
        raise StrategicError(
            child(at, PATCH), f"$patch: {text(directive)} is not accepted here by Kubernetes"
        )
    if not isinstance(original, dict):
        original = {}
    if RETAIN_KEYS in patch:
        retain = patch.pop(RETAIN_KEYS)
        for key in [k for k in original if k not in retain]:
            del original[key]
    _set_element_orders(original, patch, schema, at)
    for key, value in list(patch.items()):
        deleting = key.startswith(DELETE_FROM)
        name = key[len(DELETE_FROM) :] if deleting else key
        where = child(at, key)
        if value is None:
            original.pop(name, None)
            continue
        if name not in original or kind_of(original[name]) != kind_of(value):
            if not deleting:
                _put(original, name, clean(value))
            continue
        if isinstance(value, dict):
            original[name] = merge_map(original[name], value, schema.field(name) if schema else None, where)
        elif isinstance(value, list):
            meta = schema.list_meta(name) if schema else None
            strategy = _strategy(meta.strategy if meta else "")
            items = schema.items(name) if schema else None
            if strategy == "merge" or deleting:
                merge_key = meta.merge_key if meta else ""
                original[name] = merge_list(original[name], value, items, merge_key, deleting, where)
            else:
                original[name] = clean(value)
        else:
            original[name] = value
    merged: dict[str, Any] = original
    return merged


def _put(target: dict[str, Any], name: str, value: Any) -> None:
    """A value that was all directive (``{$patch: delete}``) removes the field instead."""
    if value is None:
        target.pop(name, None)
    else:
        target[name] = value


def _strategy(written: str) -> str:
    """extractRetainKeysPatchStrategy: the strategy besides ``retainKeys``."""
    return next((s for s in written.split(",") if s and s != "retainKeys"), "")


def merge_list(
    original: list[Any], patch: list[Any], schema: Schema | None, merge_key: str, deleting: bool, at: str
) -> list[Any]:
    if not original and not patch:
        return original
    kind = _element_kind(original + patch, at)
    if kind != "object":
        if deleting:
            return [item for item in original if not any(same(item, gone) for gone in patch)]
        merged = _deduplicate(original + patch)
    else:
        if not merge_key:
            raise StrategicError(at, "this list has no merge key, so its items cannot be merged")
        original, patch = _special_elements(original, patch, merge_key, at)
        merged = _merge_items(list(original), patch, merge_key, schema, at)
    if merge_key:
        in_patch, server_only = _partition_maps(merged, patch, merge_key, at)
    else:
        in_patch, server_only = _partition_scalars(merged, patch)
    return normalize_order(in_patch, server_only, patch, original, merge_key, kind)


def _element_kind(items: list[Any], at: str) -> str:
    kinds = {kind_of(item) for item in items}
    if "array" in kinds:
        raise StrategicError(at, "lists of lists cannot be merged")
    if len(kinds) > 1:
        raise StrategicError(at, "the list's items are not all of one type")
    return kinds.pop()


def _deduplicate(items: list[Any]) -> list[Any]:
    """deduplicateScalars, which moves the last item into each duplicate's place."""
    items = list(items)
    last = len(items) - 1
    i = 0
    while i < last:
        j = i + 1
        while j <= last:
            if same(items[i], items[j]):
                items[j] = items[last]
                items = items[:last]
                last -= 1
                j -= 1
            j += 1
        i += 1
    return items


def _key_of(item: Any, merge_key: str, at: str) -> Any:
    if not isinstance(item, dict):
        raise StrategicError(at, f"expected a mapping with the merge key {merge_key!r} in this list")
    if merge_key not in item:
        raise StrategicError(at, f"an item lacks the merge key {merge_key!r}")
    return item[merge_key]


def _special_elements(
    original: list[Any], patch: list[Any], merge_key: str, at: str
) -> tuple[list[Any], list[Any]]:
    """mergeSliceWithSpecialElements: ``$patch: delete`` items remove, a ``$patch: replace`` replaces."""
    plain = []
    replace = False
    for index, item in enumerate(patch):
        if not isinstance(item, dict) or PATCH not in item:
            plain.append(item)
            continue
        directive = item[PATCH]
        if directive == "delete":
            value = _key_of(item, merge_key, child(at, index))
            original = [o for o in original if not (isinstance(o, dict) and same(o.get(merge_key), value))]
        elif directive == "replace":
            replace = True
        else:
            raise StrategicError(
                child(child(at, index), PATCH),
                f"$patch: {text(directive)} is not accepted in a list by Kubernetes",
            )
    if replace:
        return [clean(item) for item in plain], []
    return original, plain


def _merge_items(
    original: list[Any], patch: list[Any], merge_key: str, schema: Schema | None, at: str
) -> list[Any]:
    """mergeSliceWithoutSpecialElements: merge items with equal keys, append the others."""
    for index, item in enumerate(patch):
        value = _key_of(item, merge_key, child(at, index))
        found = None
        for position, candidate in enumerate(original):
            if not isinstance(candidate, dict):
                raise StrategicError(at, "the object's list has an item that is not a mapping")
            if merge_key in candidate and same(candidate[merge_key], value):
                found = position
                break
        if found is None:
            original.append(clean(item))
        else:
            original[found] = merge_map(original[found], item, schema, child(at, index))
    return original


def _partition_maps(merged: list[Any], by: list[Any], merge_key: str, at: str) -> tuple[list[Any], list[Any]]:
    in_patch: list[Any] = []
    server_only: list[Any] = []
    wanted = [item.get(merge_key) for item in by if isinstance(item, dict)]
    for item in merged:
        value = _key_of(item, merge_key, at)
        (in_patch if any(same(value, w) for w in wanted) else server_only).append(item)
    return in_patch, server_only


def _partition_scalars(merged: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    in_patch: list[Any] = []
    server_only: list[Any] = []
    for item in merged:
        (in_patch if any(same(item, w) for w in by) else server_only).append(item)
    return in_patch, server_only


def _index(items: list[Any], value: Any, merge_key: str, kind: str) -> int:
    def key(item: Any) -> Any:
        if kind == "object":
            return item.get(merge_key) if isinstance(item, dict) else None
        return item

    wanted = key(value)
    return next((i for i, item in enumerate(items) if same(key(item), wanted)), -1)


def normalize_order(
    in_patch: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    kind: str,
) -> list[Any]:
    """normalizeElementOrder: each part sorted by its own order, then interleaved by the object's order.

    Every item of each part is found in its order list here (the callers partition by those lists), so a plain
    stable sort by position gives what Go's ``sort.SliceStable`` gives with apimachinery's comparator."""
    if kind == "object":
        for item in [*in_patch, *server_only]:
            _key_of(item, merge_key, "")
    in_patch = sorted(in_patch, key=lambda item: _index(patch_order, item, merge_key, kind))
    server_only = sorted(server_only, key=lambda item: _index(server_order, item, merge_key, kind))
    # mergeSortedSlice(left=server_only, right=in_patch)
    result: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(in_patch):
        if i >= len(server_only):
            result.append(in_patch[j])
            j += 1
        elif j >= len(in_patch):
            result.append(server_only[i])
            i += 1
        else:
            left = _index(server_order, server_only[i], merge_key, kind)
            right = _index(server_order, in_patch[j], merge_key, kind)
            if left >= 0 and right >= 0 and left < right:
                result.append(server_only[i])
                i += 1
            else:
                result.append(in_patch[j])
                j += 1
    return result


def _set_element_orders(
    original: dict[str, Any], patch: dict[str, Any], schema: Schema | None, at: str
) -> None:
    """mergePatchIntoOriginal: merge each list that a ``$setElementOrder/<list>`` orders, then order it."""
    for key in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(key)
        name = key[len(SET_ORDER) :]
        meta = schema.list_meta(name) if schema else None
        merge_key = meta.merge_key if meta else ""
        where = child(at, key)
        if not isinstance(order, list):
            raise StrategicError(where, "$setElementOrder takes a list")
        have = name in original
        given = name in patch
        before = original.get(name) if have else []
        patch_list = patch.get(name) if given else []
        if not isinstance(before, list) or not isinstance(patch_list, list):
            raise StrategicError(where, f"{name} is not a list")
        check_order(patch_list, order, merge_key, where)
        if have and not given:
            merged = before
        elif given and not have:
            merged = clean(patch_list)
        elif have and given:
            strategy = _strategy(meta.strategy if meta else "")
            items = schema.items(name) if schema else None
            if strategy == "merge":
                merged = merge_list(list(before), patch_list, items, merge_key, False, child(at, name))
            else:
                merged = clean(patch_list)
        else:
            continue
        if merge_key:
            in_order, server_only = _partition_maps(merged, order, merge_key, where)
        else:
            in_order, server_only = _partition_scalars(merged, order)
        kind = _element_kind(before + patch_list, where)
        original[name] = normalize_order(in_order, server_only, order, before, merge_key, kind)
        patch.pop(name, None)


def check_order(patch_list: list[Any], order: list[Any], merge_key: str, at: str) -> None:
    """validatePatchWithSetOrderList: the patch's items appear in the order list, in its order."""
    if not order or not patch_list:
        return
    plain = (
        [i for i in patch_list if not (isinstance(i, dict) and i.get(PATCH) == "delete")]
        if merge_key
        else patch_list
    )
    p = o = 0
    while p < len(plain) and o < len(order):
        item = plain[p]
        if isinstance(item, dict) and PATCH in item:
            p += 1
            continue
        if merge_key:
            if not isinstance(order[o], dict) or merge_key not in order[o]:
                raise StrategicError(child(at, o), f"an item lacks the merge key {merge_key!r}")
            equal = isinstance(item, dict) and same(item.get(merge_key), order[o][merge_key])
        else:
            equal = same(item, order[o])
        if equal:
            p += 1
        o += 1
    if p < len(plain):
        raise StrategicError(
            at, "the patch's list has items that $setElementOrder leaves out or puts in another order"
        )


def clean(value: Any) -> Any:
    """A patch value written as it is: without directives (removeDirectives) and nulls
    (discardNullValuesFromPatch)."""
    if isinstance(value, dict):
        if PATCH in value:
            return None
        out = {}
        for key, item in value.items():
            if item is None or key.startswith("$"):
                continue
            cleaned = clean(item)
            if cleaned is not None or not isinstance(item, dict):
                out[key] = cleaned
        return out
    if isinstance(value, list):
        return [clean(item) for item in value if not (isinstance(item, dict) and PATCH in item)]
    return value
