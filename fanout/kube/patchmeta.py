"""How strategic merge treats each list of a Kubernetes object: the patch metadata of its OpenAPI schema.

Two indexes ship inside the package (``fanout/kube/data/patchmeta-*.json``), each built once by
``python -m fanout.kube.patchmeta`` from the Kubernetes OpenAPI definitions that the ``kubernetes-validate``
package bundles:

- ``v1.21``: the version kustomize v5 compiles in (``kyaml/openapi/kubernetesapi``, ``DefaultOpenAPI =
  "v1.21.2"``), used for ``strategicMerge: kustomize`` so that a list kustomize treats as atomic is atomic
  here
  too. kustomize's bundle leaves out the alpha versions and the ``EphemeralContainers`` subresource, and so
  does
  this index.
- ``v1.37``: the newest Kubernetes, used for ``strategicMerge: kubernetes`` (what ``kubectl patch --type
  strategic`` and the API server do).

Each index maps a ``group/version/Kind`` to its definition, and each definition's fields to the definition of
their value (for a list, of its items) and, for lists, the patch strategy and merge keys. Loaded once per
process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
KUSTOMIZE_INDEX = "v1.21"
KUBERNETES_INDEX = "v1.37"


@dataclass(frozen=True)
class ListMeta:
    """A list field's patch metadata: ``strategy`` as written (``merge``, ``merge,retainKeys``, ``replace``,
    or empty), the single merge key Kubernetes uses, and the list-map keys kustomize prefers when present."""

    strategy: str
    merge_key: str
    map_keys: tuple[str, ...]

    @property
    def merges(self) -> bool:
        return "merge" in self.strategy.split(",")

    @property
    def keys(self) -> tuple[str, ...]:
        """kustomize's merge keys (``PatchStrategyAndKeyList``): the list-map keys, else the merge key."""
        if self.map_keys:
            return self.map_keys
        return (self.merge_key,) if self.merge_key else ()


ATOMIC = ListMeta("", "", ())


class Schema:
    """Where a patch is in an object: answers for the fields below it."""

    def field(self, name: str) -> Schema | None:  # pragma: no cover - interface
        raise NotImplementedError

    def items(self, name: str) -> Schema | None:  # pragma: no cover - interface
        """The schema of the items of list field ``name``."""
        raise NotImplementedError

    def list_meta(self, name: str) -> ListMeta:  # pragma: no cover - interface
        raise NotImplementedError


class IndexSchema(Schema):
    def __init__(self, index: Mapping[str, Any], definition: str) -> None:
        self._index = index
        self._fields: Mapping[str, list[Any]] = index["definitions"].get(definition, {})

    def _entry(self, name: str) -> list[Any] | None:
        entry = self._fields.get(name)
        if entry is None:
            entry = self._fields.get("*")  # a map's values (additionalProperties)
        return entry

    def field(self, name: str) -> Schema | None:
        entry = self._entry(name)
        if entry is None or not entry[0]:
            return None
        return IndexSchema(self._index, entry[0])

    items = field  # a list field's entry names the definition of its items

    def list_meta(self, name: str) -> ListMeta:
        entry = self._entry(name)
        if entry is None or len(entry) < 2:
            return ATOMIC
        return ListMeta(entry[1], entry[2], tuple(entry[3]))


class CrdSchema(Schema):
    """A CustomResourceDefinition's ``openAPIV3Schema``: ``x-kubernetes-list-type: map`` lists merge by their
    ``x-kubernetes-list-map-keys``, as the built-in kinds' lists do; ``set`` lists of scalars merge by
    value. Only in ``strategicMerge: kubernetes``: kustomize reads no CRD (``strategic.Roots``)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._schema = schema

    def _property(self, name: str) -> Mapping[str, Any] | None:
        properties = self._schema.get("properties")
        found = properties.get(name) if isinstance(properties, Mapping) else None
        if found is None:
            extra = self._schema.get("additionalProperties")
            found = extra if isinstance(extra, Mapping) else None
        return found if isinstance(found, Mapping) else None

    def field(self, name: str) -> Schema | None:
        found = self._property(name)
        return CrdSchema(found) if found is not None else None

    def items(self, name: str) -> Schema | None:
        found = self._property(name)
        items = found.get("items") if found is not None else None
        return CrdSchema(items) if isinstance(items, Mapping) else None

    def list_meta(self, name: str) -> ListMeta:
        found = self._property(name)
        if found is None:
            return ATOMIC
        strategy = found.get("x-kubernetes-patch-strategy")
        merge_key = found.get("x-kubernetes-patch-merge-key")
        keys = found.get("x-kubernetes-list-map-keys")
        list_type = found.get("x-kubernetes-list-type")
        map_keys = tuple(k for k in keys if isinstance(k, str)) if isinstance(keys, list) else ()
        if not isinstance(strategy, str):
            strategy = "merge" if list_type in ("map", "set") else ""
        if not isinstance(merge_key, str):
            merge_key = map_keys[0] if map_keys else ""
        return ListMeta(strategy, merge_key, map_keys)


@cache
def load(name: str) -> Mapping[str, Any]:
    with (DATA / f"patchmeta-{name}.json").open(encoding="utf-8") as handle:
        loaded: Mapping[str, Any] = json.load(handle)
    return loaded


def root(index_name: str, api_version: str, kind: str) -> Schema | None:
    """The schema of a built-in kind, or None when the index does not know it (a custom resource)."""
    index = load(index_name)
    definition = index["kinds"].get(f"{api_version}/{kind}")
    return IndexSchema(index, definition) if definition else None


def crd_schemas(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of every served version of the CustomResourceDefinitions given.

    A CRD of the wrong shape is skipped here (its custom resources then merge with atomic lists); validating
    its shape is the job of ``validate --kubernetes``."""
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    for crd in objects:
        if crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd.get("spec")
        if not isinstance(spec, Mapping):
            continue
        group, names = spec.get("group"), spec.get("names")
        kind = names.get("kind") if isinstance(names, Mapping) else None
        versions = spec.get("versions")
        if not isinstance(group, str) or not isinstance(kind, str) or not isinstance(versions, list):
            continue
        for version in versions:
            if not isinstance(version, Mapping) or not isinstance(version.get("name"), str):
                continue
            schema = version.get("schema")
            body = schema.get("openAPIV3Schema") if isinstance(schema, Mapping) else None
            if isinstance(body, Mapping):
                found[(f"{group}/{version['name']}", kind)] = body
    return found


# --- building an index from OpenAPI definitions ------------------------------------------------------

_REF_PREFIXES = ("#/definitions/", "_definitions.json#/definitions/", "#/$defs/")


def _ref(schema: Mapping[str, Any]) -> str:
    ref = schema.get("$ref", "")
    for combined in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(combined) or ():
            if not ref and isinstance(part, Mapping):
                ref = part.get("$ref", "")
    for prefix in _REF_PREFIXES:
        if ref.startswith(prefix):
            return str(ref[len(prefix) :])
    return ""


def build_index(definitions: Mapping[str, Any], skip_versions: Iterable[str] = ()) -> dict[str, Any]:
    """The compact index of ``definitions``: kinds, and per definition the fields that matter for a patch."""
    skipped = set(skip_versions)
    fields: dict[str, dict[str, list[Any]]] = {}
    for name, definition in definitions.items():
        entries: dict[str, list[Any]] = {}
        properties = dict(definition.get("properties") or {})
        extra = definition.get("additionalProperties")
        if isinstance(extra, Mapping):
            properties["*"] = extra
        for prop, schema in properties.items():
            if not isinstance(schema, Mapping):
                continue
            kind = schema.get("type")
            if kind == "array" or (isinstance(kind, list) and "array" in kind):
                items = schema.get("items")
                entry: list[Any] = [_ref(items) if isinstance(items, Mapping) else ""]
                strategy = schema.get("x-kubernetes-patch-strategy", "")
                merge_key = schema.get("x-kubernetes-patch-merge-key", "")
                map_keys = schema.get("x-kubernetes-list-map-keys", [])
                if strategy or merge_key or map_keys:
                    entry += [strategy, merge_key, list(map_keys)]
            else:
                entry = [_ref(schema)]
            entries[prop] = entry
        fields[name] = entries
    kinds: dict[str, str] = {}
    for name, definition in sorted(definitions.items()):
        for gvk in definition.get("x-kubernetes-group-version-kind") or ():
            version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            if gvk["version"] in skipped or f"{version}/{gvk['kind']}" in skipped:
                continue
            kinds.setdefault(f"{version}/{gvk['kind']}", name)
    # Keep only what leads to a list with patch metadata: the rest merges as plain maps anyway.
    useful: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, entries in fields.items():
            if name in useful:
                continue
            if any(len(e) > 1 or (e[0] and e[0] in useful) for e in entries.values()):
                useful.add(name)
                changed = True
    kept = {
        name: {p: e for p, e in sorted(entries.items()) if len(e) > 1 or e[0] in useful}
        for name, entries in sorted(fields.items())
        if name in useful
    }
    for entries in kept.values():
        for entry in entries.values():
            if entry[0] not in useful:
                entry[0] = ""
    return {"kinds": {k: v for k, v in sorted(kinds.items()) if v in useful}, "definitions": kept}


def main(argv: list[str] | None = None) -> int:
    """``python -m fanout.kube.patchmeta NAME DEFINITIONS.json [SKIP ...]``: write
    ``data/patchmeta-NAME.json``."""
    args = sys.argv[1:] if argv is None else argv
    name, source, *skip = args
    with open(source, encoding="utf-8") as handle:
        loaded = json.load(handle)
    definitions = loaded.get("definitions") or loaded.get("$defs") or {}
    index = build_index(definitions, skip)
    (DATA / f"patchmeta-{name}.json").write_text(
        json.dumps(index, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
