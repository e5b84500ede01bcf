"""kustomize's strategic merge, as ``kubectl kustomize`` builds a ``patches:`` entry (kustomize v5).

Written from kustomize's code at commit 12f9e6391464b3ad9dd3fe8182049dc1b1772990:
``api/filters/patchstrategicmerge``
calls ``kyaml/yaml/merge2.Merge`` with ``ListIncreaseDirection: Prepend``, which walks the object and the
patch
together (``kyaml/yaml/walk``). What that walk does is reproduced here step by step, quirks included, because
a team moving from kustomize must get the same bytes:

- map fields are visited in sorted order; new fields are appended;
- an associative list (patch strategy ``merge`` in kustomize's built-in schema, Kubernetes v1.21.2) is keyed
by
  its list-map keys when it has them (``containerPort`` *and* ``protocol``), else by its merge key; the items
  the
  patch names come first, in the patch's order, then the object's other items;
- merge keys are compared as text, and an item that lacks a secondary key matches any value of it;
- every other list is replaced whole by the patch's.

Values are plain data (dicts, lists, scalars) and are changed in place, as kyaml changes its nodes: the caller
passes copies. Where kyaml returns "no node", this returns ``MISSING``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fanout.kube.patchmeta import ListMeta, Schema
from fanout.render.smp_common import PATCH, SET_ORDER, StrategicError, child, is_directive, text


class _Missing:
    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "MISSING"


MISSING: Any = _Missing()
# kyaml keeps a null that the object had and the patch did not mention (MakePersistentNullNode).
_KEEP_NULL: Any = type("_KeepNull", (), {})()

# Called after a map is merged, with (merged map, the patch's map, schema, where, the map's lists as they
# were):
# where fanout applies the three directives kustomize leaves in its output (see fanout.render.strategic).
AfterMap = Callable[[dict[str, Any], dict[str, Any], "Schema | None", str, dict[str, list[Any]]], None]


def _absent(value: Any) -> bool:
    return value is MISSING or value is None


class Merger:
    def __init__(self, root_for: Callable[[Any], Schema | None], after_map: AfterMap) -> None:
        self.root_for = root_for
        self.after_map = after_map

    # --- the walk ------------------------------------------------------------------------------

    def walk(self, dest: Any, origin: Any, schema: Schema | None, meta: ListMeta | None, at: str) -> Any:
        if schema is None:
            schema = self.root_for(dest if not _absent(dest) else origin)
        first = dest if not _absent(dest) else origin
        if isinstance(first, dict):
            self._same_kind(dest, origin, dict, at, "a mapping")
            return self.walk_map(dest, origin, schema, at)
        if isinstance(first, list):
            self._same_kind(dest, origin, list, at, "a list")
            if meta is not None and meta.merges:
                return self.walk_associative(dest, origin, schema, meta, at)
            return origin if origin is not MISSING else dest
        if _absent(first):
            return self.walk_map(dest, origin, schema, at)
        for value in (dest, origin):
            if isinstance(value, (dict, list)):
                self._wrong_kind(at, "a scalar", value)
        return origin if origin is not MISSING else dest

    def _same_kind(self, dest: Any, origin: Any, kind: type, at: str, name: str) -> None:
        for value in (dest, origin):
            if not _absent(value) and not isinstance(value, kind):
                self._wrong_kind(at, name, value)

    @staticmethod
    def _wrong_kind(at: str, expected: str, value: Any) -> None:
        found = (
            "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else "a scalar"
        )
        raise StrategicError(
            at, f"the object and the patch disagree here: expected {expected}, found {found}"
        )

    def walk_map(self, dest: Any, origin: Any, schema: Schema | None, at: str) -> Any:
        # Merger.VisitMap
        if _absent(dest):
            if isinstance(origin, dict) and _map_directive(origin, at) == "delete":
                return MISSING
            if origin is MISSING and dest is None:
                return _KEEP_NULL
            result = origin
        elif origin is None:
            return MISSING
        else:
            directive = _map_directive(origin, at) if isinstance(origin, dict) else "merge"
            if directive == "delete":
                return MISSING
            result = origin if directive == "replace" else dest
        if not isinstance(result, dict):
            return result
        dest = result
        patch = origin if isinstance(origin, dict) else {}
        # The object's lists as they were, for $setElementOrder (Kubernetes orders by them): only when asked.
        ordered = any(k.startswith(SET_ORDER) for k in patch)
        before = {k: list(v) for k, v in dest.items() if isinstance(v, list)} if ordered else {}
        for key in sorted(set(dest) | {k for k in patch if not is_directive(k)}):
            if is_directive(key):
                continue
            value = patch.get(key, MISSING)
            current = dest.get(key, MISSING)
            target = current if not _absent(current) else value
            if isinstance(target, list):
                meta = schema.list_meta(key) if schema is not None else None
                sub = schema.items(key) if schema is not None else None
            else:
                meta = None
                sub = schema.field(key) if schema is not None else None
            merged = self.walk(current, value, sub, meta, child(at, key))
            if merged is _KEEP_NULL:
                dest[key] = None
            elif _absent(merged):
                dest.pop(key, None)
            else:
                dest[key] = merged
        if patch:
            self.after_map(dest, patch, schema, at, before)
        return dest

    def walk_associative(self, dest: Any, origin: Any, schema: Schema | None, meta: ListMeta, at: str) -> Any:
        # Merger.VisitList for an associative list
        if _absent(dest):
            result = origin
            if isinstance(origin, list):
                # kyaml keeps a list-level directive of a list the object lacks; what it means is plain.
                directive = _list_directive(origin, at)
                if directive == "delete":
                    return MISSING
        elif origin is None:
            return MISSING
        else:
            directive = _list_directive(origin, at) if isinstance(origin, list) else "merge"
            if directive == "delete":
                return MISSING
            result = origin if directive == "replace" else dest
        if not isinstance(result, list):
            return result
        dest = result
        sources = (origin if isinstance(origin, list) else None, dest)  # Prepend: the patch's items first
        keys = list(meta.keys)
        if keys:
            values = _element_values(sources, keys)
            return self._set_elements(values, keys, dest, origin, schema, at)
        primitive: list[list[str]] = []
        seen: set[str] = set()
        for source in sources:
            for item in source or ():
                if text(item) not in seen:
                    seen.add(text(item))
                    primitive.append([text(item)])
        return self._set_elements(primitive, [""], dest, origin, schema, at)

    def _set_elements(
        self,
        values_list: list[list[str]],
        keys: list[str],
        dest: list[Any],
        origin: Any,
        schema: Schema | None,
        at: str,
    ) -> Any:
        """walk.setAssociativeSequenceElements"""
        added: list[Any] = []
        if len(keys) > 1:
            _merge_values(values_list)
        valid_keys: list[str] = keys
        patch_list = origin if isinstance(origin, list) else None
        for values in values_list:
            if not values:
                continue
            valid_keys, valid_values = _validate_keys(values_list, values, keys)
            lookup_keys, lookup_values = _validate_keys([valid_values], valid_values, valid_keys)
            current = _element_list(dest, lookup_keys, lookup_values)
            patched = (
                _element_list(patch_list, lookup_keys, lookup_values) if patch_list is not None else None
            )
            where = at
            if patch_list is not None and patched is not None:
                where = child(at, next(i for i, item in enumerate(patch_list) if item is patched))
            merged = self.walk(
                current if current is not None else MISSING,
                patched if patched is not None else MISSING,
                schema,
                None,
                where,
            )
            gone = False
            for index, key in enumerate(valid_keys):
                if _absent(merged) or merged is _KEEP_NULL or merged == {}:
                    _element_set(dest, None, valid_keys, valid_values)
                    gone = True
                elif isinstance(merged, dict) and key not in merged and valid_values[index] != "":
                    merged[key] = valid_values[index]
            if gone:
                continue
            _element_set(added, merged, valid_keys, valid_values)
        if values_list:
            dest = _append_list(added, dest, valid_keys)
        return dest


# --- kyaml's list helpers, on plain data ------------------------------------------------------------


def _map_directive(patch: dict[str, Any], at: str) -> str:
    """merge2.determineMappingNodePatchStrategy: read ``$patch`` and take it out of the patch."""
    if PATCH not in patch:
        return "merge"
    value = patch[PATCH]
    if value in ("delete", "replace", "merge"):
        del patch[PATCH]
        return str(value)
    raise StrategicError(child(at, PATCH), f"unknown $patch value {text(value)!r} (delete, replace or merge)")


def _list_directive(patch: list[Any], at: str) -> str:
    """merge2.determineSequenceNodePatchStrategy: a ``{$patch: ...}`` item alone speaks for the whole list."""
    index, item = next(((i, x) for i, x in enumerate(patch) if isinstance(x, dict) and PATCH in x), (0, None))
    if item is None or len(item) > 1:
        return "merge"
    value = item[PATCH]
    if value not in ("delete", "replace", "merge"):
        raise StrategicError(
            child(child(at, index), PATCH), f"unknown $patch value {text(value)!r} (delete, replace or merge)"
        )
    _element_set(patch, None, [PATCH], [text(value)])
    return str(value)


def _field_value(item: Any, key: str) -> str:
    """The text of ``item[key]``, or "" where it is absent, null or empty (RNode.ElementValuesList)."""
    if not isinstance(item, dict) or key not in item:
        return ""
    value = item[key]
    if value is None or value == {} or value == []:
        return ""
    return text(value)


def _element_values(sources: tuple[list[Any] | None, list[Any]], keys: list[str]) -> list[list[str]]:
    found: list[list[str]] = []
    for source in sources:
        for item in source or ():
            values = [_field_value(item, key) for key in keys]
            if values and values not in found:
                found.append(values)
    return found


def _merge_values(values_list: list[list[str]]) -> None:
    """walk.mergeValues: entries that agree wherever both have a value become one."""
    for i in range(len(values_list)):
        first = values_list[i]
        for j in range(len(values_list)):
            matched, merged = _match(first, values_list[j])
            if matched:
                values_list[i] = merged
                values_list[j] = merged


def _match(a: list[str], b: list[str]) -> tuple[bool, list[str]]:
    if len(a) != len(b):
        return False, []
    common = False
    result = []
    for x, y in zip(a, b, strict=True):  # equal lengths, checked above
        if x == y:
            common = True
            result.append(x)
        elif x and y:
            return False, []
        else:
            result.append(x or y)
    return common, result


def _validate_keys(
    values_list: list[list[str]], values: list[str], keys: list[str]
) -> tuple[list[str], list[str]]:
    """walk.validateKeys: the keys that some entry has a value for, and this entry's values of them."""
    valid = {keys[i] for entry in values_list for i, v in enumerate(entry) if v != ""}
    if not valid:
        return keys, values
    return [k for k in keys if k in valid], [v for i, v in enumerate(values) if v != "" or keys[i] in valid]


def _field_matches(item: Any, key: str, value: str) -> bool:
    """yaml.FieldMatcher: with a value, the field's text equals it; without one, the field exists."""
    if key == "":
        return not isinstance(item, (dict, list)) and text(item) == value
    if not isinstance(item, dict) or key not in item:
        return False
    return value == "" or text(item[key]) == value


def _element_list(source: list[Any] | None, keys: list[str], values: list[str]) -> Any:
    """RNode.ElementList: the first item whose fields match every key and value, or None."""
    if source is None:
        return None
    values = values or [""]
    if not keys or keys[0] == "":
        return next((item for item in source if text(item) == values[0]), None)
    for item in source:
        # yaml.MatchField compares the text even when it is empty: "" matches only an empty value.
        if isinstance(item, dict) and all(
            k in item and text(item[k]) == v for k, v in zip(keys, values, strict=False)
        ):
            return item
    return None


def _element_set(target: list[Any], element: Any, keys: list[str], values: list[str]) -> None:
    """yaml.ElementSetter: replace the matching item with ``element`` (remove it when None), else append.
    Like kyaml, it drops null and empty items on the way."""
    keys = keys or [""]
    mapping_setter = keys[0] != "" and bool(values) and values[0] != ""
    kept: list[Any] = []
    found = False
    for item in target:
        if item is None or item == {}:
            continue
        if not isinstance(item, dict) and mapping_setter:
            kept.append(item)
            continue
        matched = False
        for index, key in enumerate(keys):
            if index < len(values):
                matched = _field_matches(item, key, values[index])
            if not matched:
                break
        if not matched:
            if values:
                kept.append(item)
            continue
        found = True
        if element is not None:
            kept.append(element)
    target[:] = kept
    if element is None:
        return
    if not found:
        target.append(element)


def _append_list(target: list[Any], source: list[Any], keys: list[str]) -> list[Any]:
    """walk.appendListNode: each of the object's items replaces its match in ``target`` or is appended."""
    for item in list(source):
        if keys[0] == "":
            _element_set(target, item, [""], [text(item)])
            continue
        values = []
        for key in keys:
            if not isinstance(item, dict) or key not in item:
                target.append(item)  # kyaml appends an item that lacks a key, once per missing key
                continue
            values.append(text(item[key]))
        if len(keys) > 1:
            _element_set(target, None, keys, values)
        _element_set(target, item, keys, values)
    return target
