"""Strategic merge patches (``Override.spec.strategic``): checked, then merged as kustomize or Kubernetes
does.

``strategicMerge: kustomize`` (the default) builds what ``kubectl kustomize`` builds for the same patch
(``fanout.render.smp_kustomize``); ``strategicMerge: kubernetes`` what ``kubectl patch --type strategic``
and the API server do (``fanout.render.smp_kubernetes``). Both read the lists' merge keys from the
Kubernetes OpenAPI patch metadata (``fanout.kube.patchmeta``), or from a CustomResourceDefinition among the
templates.

kustomize leaves ``$retainKeys``, ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>`` in its
output
as if they were fields (kustomize#3981, #2954); the API server then rejects or ignores them. fanout applies
them in
both modes as Kubernetes does, and never writes a key that starts with ``$``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from fanout.core.document import escape, split_pointer
from fanout.kube import patchmeta
from fanout.kube.patchmeta import ListMeta, Schema
from fanout.render.smp_common import (
    DELETE_FROM,
    PATCH,
    RETAIN_KEYS,
    SET_ORDER,
    StrategicError,
    child,
    same,
    text,
)
from fanout.render.smp_kubernetes import check_order, merge_map, normalize_order
from fanout.render.smp_kustomize import MISSING, Merger

KUSTOMIZE = "kustomize"
KUBERNETES = "kubernetes"
MODES = (KUSTOMIZE, KUBERNETES)
_DIRECTIVE_VALUES = ("delete", "replace", "merge")

# (apiVersion, kind) -> the openAPIV3Schema of a CustomResourceDefinition among the templates
CustomSchemas = Mapping[tuple[str, str], Mapping[str, Any]]


class Roots:
    """Finds the schema of an object (or of an embedded one) by its apiVersion and kind."""

    def __init__(self, mode: str, custom: CustomSchemas) -> None:
        self.index = patchmeta.KUSTOMIZE_INDEX if mode == KUSTOMIZE else patchmeta.KUBERNETES_INDEX
        # kustomize reads no CustomResourceDefinition among its resources: a custom resource's lists are
        # replaced whole, whatever its CRD says (kubectl kustomize v5.8.1, tested against it). The CRD's
        # list-map-keys count only in ``kubernetes`` mode, as the API server merges by them.
        self.custom = custom if mode == KUBERNETES else {}

    def __call__(self, value: Any) -> Schema | None:
        if not isinstance(value, dict):
            return None
        api_version, kind = value.get("apiVersion"), value.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return None
        found = patchmeta.root(self.index, api_version, kind)
        if found is None and (api_version, kind) in self.custom:
            found = patchmeta.CrdSchema(self.custom[(api_version, kind)])
        return found


def apply(
    obj: dict[str, Any], patch: Mapping[str, Any], mode: str, custom: CustomSchemas | None = None
) -> dict[str, Any] | None:
    """``obj`` (which the caller owns) with ``patch`` merged in; None when the patch deletes the object.

    Raises StrategicError, with a pointer into ``patch``, for a patch that cannot be applied."""
    roots = Roots(mode, custom or {})
    schema = roots(obj)
    body = copy.deepcopy(dict(patch))
    check(body, schema, mode, "")
    if body.get(PATCH) == "delete":
        return None
    if body.get(PATCH) == "replace" and mode == KUSTOMIZE:
        # kustomize merges into the resource in place and drops the replacement it computes, so the object
        # comes out unchanged: refused rather than reproduced (or silently done otherwise).
        raise StrategicError(
            "/$patch",
            "kustomize leaves the object unchanged for a $patch: replace at the top of a patch; write the"
            " whole object as a template for these clusters, or set strategicMerge: kubernetes",
        )
    if mode == KUBERNETES:
        return merge_map(obj, body, schema, "")
    merged = Merger(roots, _after_map).walk(obj, body, schema, None, "")
    if merged is MISSING:
        return None
    if not isinstance(merged, dict):  # pragma: no cover - a mapping merged with a mapping stays one
        raise StrategicError("", "the patch did not leave an object")
    # kustomize's writer drops empty annotations (kyaml ClearEmptyAnnotations), so its output never has them.
    metadata = merged.get("metadata")
    if isinstance(metadata, dict) and metadata.get("annotations") == {}:
        del metadata["annotations"]
    return merged


def _after_map(
    merged: dict[str, Any],
    patch: dict[str, Any],
    schema: Schema | None,
    at: str,
    before: dict[str, list[Any]],
) -> None:
    """In kustomize mode, the three directives kustomize leaves in place, applied as Kubernetes does."""
    for key, value in patch.items():
        if not key.startswith(SET_ORDER):
            continue
        name = key[len(SET_ORDER) :]
        current = merged.get(name)
        if not isinstance(current, list):
            continue
        merge_key = schema.list_meta(name).merge_key if schema is not None else ""
        in_order: list[Any] = []
        rest: list[Any] = []
        for item in current:
            item_key = item.get(merge_key) if merge_key and isinstance(item, dict) else item
            listed = any(same(item_key, o.get(merge_key) if merge_key else o) for o in value)
            (in_order if listed else rest).append(item)
        kind = "object" if merge_key else "scalar"
        merged[name] = normalize_order(in_order, rest, value, before.get(name, []), merge_key, kind)
    for key, value in patch.items():
        name = key[len(DELETE_FROM) :]
        if key.startswith(DELETE_FROM) and isinstance(merged.get(name), list):
            merged[name] = [item for item in merged[name] if not any(same(item, gone) for gone in value)]
    if RETAIN_KEYS in patch:
        for key in [k for k in merged if k not in patch[RETAIN_KEYS]]:
            del merged[key]


# --- checks before merging: every directive is understood, every list item can be matched ----------------


def check(patch: Any, schema: Schema | None, mode: str, at: str) -> None:
    if isinstance(patch, dict):
        _check_map(patch, schema, mode, at)


def _check_directive_value(value: Any, mode: str, at: str, in_list: bool) -> None:
    if value not in _DIRECTIVE_VALUES:
        raise StrategicError(at, f"unknown $patch value {text(value)!r} (delete, replace or merge)")
    if value == "merge" and mode == KUBERNETES:
        where = "in a list" if in_list else "here"
        raise StrategicError(at, f"$patch: merge is not accepted {where} by Kubernetes' strategic merge")


def _check_map(patch: dict[str, Any], schema: Schema | None, mode: str, at: str) -> None:
    for key, value in patch.items():
        where = child(at, key)
        if key == PATCH:
            _check_directive_value(value, mode, where, in_list=False)
        elif key == RETAIN_KEYS:
            _check_retain(patch, value, where)
        elif key.startswith(SET_ORDER):
            _check_order(patch, key[len(SET_ORDER) :], value, schema, where)
        elif key.startswith(DELETE_FROM):
            if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
                raise StrategicError(where, "$deleteFromPrimitiveList takes a list of scalars")
        elif key.startswith("$"):
            raise StrategicError(
                where,
                f"unknown directive {key!r} ($patch, $retainKeys, $setElementOrder/<list> and"
                " $deleteFromPrimitiveList/<list> are understood)",
            )
        elif isinstance(value, dict):
            sub = schema.field(key) if schema is not None else None
            _check_map(value, sub, mode, where)
        elif isinstance(value, list):
            meta = schema.list_meta(key) if schema is not None else patchmeta.ATOMIC
            items = schema.items(key) if schema is not None else None
            _check_list(value, items, meta, mode, where)


def _check_retain(patch: dict[str, Any], value: Any, at: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StrategicError(at, "$retainKeys takes a list of field names")
    for key, item in patch.items():
        if item is None or key.startswith("$"):
            continue
        if key not in value:
            raise StrategicError(
                at, f"$retainKeys must list every field the patch sets here ({key!r} is missing)"
            )


def _check_order(patch: dict[str, Any], name: str, value: Any, schema: Schema | None, at: str) -> None:
    meta = schema.list_meta(name) if schema is not None else patchmeta.ATOMIC
    if not meta.merges:
        raise StrategicError(at, f"$setElementOrder/{name}: {name} is not a list that merges (no merge key)")
    if not isinstance(value, list):
        raise StrategicError(at, "$setElementOrder takes a list")
    for index, item in enumerate(value):
        if meta.merge_key and (not isinstance(item, dict) or meta.merge_key not in item):
            raise StrategicError(child(at, index), f"an item lacks the merge key {meta.merge_key!r}")
    listed = patch.get(name)
    check_order(listed if isinstance(listed, list) else [], value, meta.merge_key, at)


def _check_list(items: list[Any], schema: Schema | None, meta: ListMeta, mode: str, at: str) -> None:
    if not meta.merges:
        _no_directives(items, at)
        return
    keys = meta.keys or ((meta.merge_key,) if meta.merge_key else ())
    if not keys:  # a set of scalars (finalizers)
        _no_directives(items, at)
        return
    primary = meta.merge_key or keys[0]
    for index, item in enumerate(items):
        where = child(at, index)
        if not isinstance(item, dict):
            raise StrategicError(where, f"expected a mapping with the merge key {primary!r}")
        if PATCH in item:
            _check_directive_value(item[PATCH], mode, child(where, PATCH), in_list=True)
            alone = len(item) == 1
            if alone and item[PATCH] == "delete" and mode == KUBERNETES:
                raise StrategicError(
                    where, f"$patch: delete in a list needs the merge key {primary!r} of the item"
                )
            if alone:
                continue
            if item[PATCH] == "delete" and primary not in item:
                raise StrategicError(
                    where, f"$patch: delete in a list needs the merge key {primary!r} of the item"
                )
        if primary not in item:
            raise StrategicError(where, f"this item lacks the merge key {primary!r}, so it matches no item")
        _check_map(item, schema, mode, where)


def _no_directives(value: Any, at: str) -> None:
    """A list that is replaced whole is written as the patch has it: it may hold no directive."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("$"):
                raise StrategicError(
                    child(at, key), f"{key} is in a list that has no merge key: the list is replaced whole"
                )
            _no_directives(item, child(at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_directives(item, child(at, index))


# --- where a patch wrote a field (explain, and the lines validate --kubernetes points at) ---------------

# The keys that name a list's items in the lists people patch most (containers, env, volumes, ports, ...).
_ITEM_KEYS = ("name", "mountPath", "devicePath", "containerPort", "port", "ip", "topologyKey", "type")


def written_at(body: Any, pointer: str, result: Any) -> str | None:
    """Where in a strategic patch ``body`` the value at ``pointer`` of the merged object ``result`` is
    written, or None when the patch does not write it. Lists are matched by the item's key (name,
    mountPath, ...), not by position; a scalar or a whole list written above the field wrote it too."""
    written = ""
    for token in split_pointer(pointer):
        if isinstance(body, dict):
            if token not in body:
                return None
            body, result = body[token], result.get(token) if isinstance(result, dict) else None
        elif isinstance(body, list):
            if not token.isdigit() or not isinstance(result, list) or int(token) >= len(result):
                return written
            item = result[int(token)]
            index = next(
                (
                    i
                    for i, candidate in enumerate(body)
                    if isinstance(item, dict)
                    and isinstance(candidate, dict)
                    and any(k in item and candidate.get(k) == item[k] for k in _ITEM_KEYS)
                ),
                None,
            )
            if index is None:
                return None if all(isinstance(c, dict) for c in body) else written
            body, result, token = body[index], item, str(index)
        else:
            return written  # a value that replaced everything below it
        written += "/" + escape(token)
    return written
