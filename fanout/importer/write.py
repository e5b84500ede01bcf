"""The imported source root as files: fanout.yaml, clusters/, templates/, overrides/ and editor schemas.

Templates are plain manifests (any kind, CRDs included) placed by ``fanout.dev/clusters`` or, when the
clusters' labels make one exact, ``fanout.dev/placement``; overrides are merge patches where RFC 7386 can
say it (maps only, no null values), strategic patches where a list item differs by its merge key (a
container by name) and merging the patch gives the copy back exactly, and JSON Patch otherwise. One file
per object, at the path its output has (``<namespace>/<kind>_<name>.yaml``), so that a reader finds each
object where they expect it.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import jsonpatch
import jsonpointer

from fanout.core.document import escape, split_pointer
from fanout.core.model import ObjectId
from fanout.core.schemas import COPY_FOLDER, modeline
from fanout.core.validate import CLUSTERS_ANNOTATION, PLACEMENT_ANNOTATION
from fanout.importer.factor import Factored, Op, canon
from fanout.importer.read import Key
from fanout.importer.smpdiff import strategic_patch
from fanout.render import strategic
from fanout.render.emit import dump, object_path

FANOUT_API = "fanout.dev/v1alpha1"
# path -> (the line a document starts on, the objects it is for), in file order
Owners = dict[str, list[tuple[int, tuple[Key, ...]]]]
SCHEMA_FOLDER = COPY_FOLDER
NAME_MAX = 63


def exact_selector(
    members: Sequence[str], labels: Mapping[str, Mapping[str, str]], everyone: Sequence[str]
) -> dict[str, str] | None:
    """The simplest ``key=value`` requirements (one or two) that pick exactly ``members``, if any."""
    if not labels:
        return None
    wanted = set(members)
    shared = sorted(set.intersection(*(set(labels.get(m, {}).items()) for m in members)))
    for size in (1, 2):
        for pairs in combinations(shared, size):
            chosen = {c for c in everyone if all(labels.get(c, {}).get(k) == v for k, v in pairs)}
            if chosen == wanted:
                return dict(pairs)
    return None


def documents(path: str, schema: str, docs: Sequence[Mapping[str, Any]]) -> tuple[str, list[int]]:
    """A YAML file of several documents, each with the line that gives editors its schema, and the line
    each document starts on (for locating problems in them)."""
    line = modeline(path, schema)
    starts = []
    parts = []
    current = 1
    for doc in docs:
        starts.append(current)
        text = line + dump(doc)
        parts.append(text)
        current += text.count("\n") + 1  # the "---" line after it
    return "---\n".join(parts), starts


def _resource(key: Key) -> dict[str, str]:
    found = {"apiVersion": key.api_version, "kind": key.kind, "name": key.name}
    if key.namespace:
        found["namespace"] = key.namespace
    return found


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", text.lower())).strip("-") or "x"


def override_name(stem: str, taken: set[str]) -> str:
    """``<stem>-<n>``, the first free n: a DNS label unique in the source (cut, with a hash, when long)."""
    base = _slug(stem)
    if len(base) > NAME_MAX - 4:
        digest = hashlib.sha256(base.encode()).hexdigest()[:8]
        base = f"{base[: NAME_MAX - 13].rstrip('-')}-{digest}"
    index = 1
    while f"{base}-{index}" in taken:
        index += 1
    taken.add(f"{base}-{index}")
    return f"{base}-{index}"


def _merge(ops: Sequence[Op]) -> dict[str, Any] | None:
    """The operations as one RFC 7386 merge patch, or None when one cannot say them."""

    def has_null(value: Any) -> bool:
        if value is None:
            return True
        if isinstance(value, dict):
            return any(has_null(v) for v in value.values())
        if isinstance(value, list):
            return any(has_null(v) for v in value)
        return False

    patch: dict[str, Any] = {}
    for op in ops:
        if op.op in ("append", "truncate"):
            return None
        parts = split_pointer(op.path)
        # A list index, or a null (which a merge patch reads as "remove"), needs JSON Patch. A map value
        # is safe: the template has no map there (the diff would have gone into it), so nothing merges.
        if not parts or any(p.isdigit() for p in parts) or has_null(op.value):
            return None
        node = patch
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = None if op.op == "remove" else op.value
    return patch


def _strategic(template: Mapping[str, Any], steps: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """A strategic patch for a difference inside a list whose items have a merge key (a container by name),
    where it reads better than JSON Patch's positions; None where a merge patch or JSON Patch must do."""
    if not any(_through_list(template, step["path"]) for step in steps):
        return None
    try:
        target = jsonpatch.JsonPatch(steps).apply(copy.deepcopy(dict(template)))
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
        return None
    return strategic_patch(template, target)


def _through_list(document: Any, path: str) -> bool:
    for part in split_pointer(path):
        if isinstance(document, list):
            return True
        if not isinstance(document, dict):
            return False
        document = document.get(part)
    return isinstance(document, list)


def guards(template: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A ``test`` of its key for each list item the steps name by position (``/env/6/value``): should the
    template's list be reordered later, the patch then fails, naming the item, instead of changing another.

    The key is the list's merge key (an env var's ``name``, a volume mount's ``mountPath``), else ``name``
    when the item has one. The tests go first, so each reads the template as it is, untouched.
    """
    schema = strategic.Roots(strategic.KUSTOMIZE, {})(dict(template))
    found: dict[str, Any] = {}
    for step in steps:
        tokens = split_pointer(step["path"])
        _item_keys(template, schema, tokens, step["op"] == "add", found)
    return [{"op": "test", "path": path, "value": value} for path, value in found.items()]


def _item_keys(node: Any, schema: Any, tokens: list[str], adding: bool, found: dict[str, Any]) -> None:
    """Adds to ``found`` the key pointer and value of each item of a list ``tokens`` passes through."""
    pointer = ""
    while tokens and isinstance(node, dict) and tokens[0] in node:
        name, value, rest = tokens[0], node[tokens[0]], tokens[1:]
        pointer += "/" + escape(name)
        if isinstance(value, list) and rest and rest[0].isdigit() and int(rest[0]) < len(value):
            index = int(rest[0])
            item = value[index]
            if not (adding and len(rest) == 1):  # an add at an index inserts: no item is named
                meta = schema.list_meta(name) if schema is not None else None
                key = meta.merge_key if meta is not None and meta.merge_key else "name"
                if isinstance(item, dict) and isinstance(item.get(key), (str, int)):
                    found.setdefault(f"{pointer}/{index}/{escape(key)}", item[key])
            schema = schema.items(name) if schema is not None else None
            node, pointer, tokens = item, f"{pointer}/{index}", rest[1:]
        else:
            schema = schema.field(name) if schema is not None else None
            node, tokens = value, rest


def _signature(template: Mapping[str, Any], members: tuple[str, ...], ops: Sequence[Op]) -> tuple[str, ...]:
    """What objects must have in common to share one override: the clusters, the difference, and the
    keys of the list items it names by position (the guards must hold in each)."""
    steps = [step for op in ops for step in json_patch(op)]
    return (*members, "", canon(ops), canon(guards(template, steps)))


def json_patch(op: Op) -> list[dict[str, Any]]:
    """RFC 6902 operations for one difference."""
    if op.op == "append":
        return [{"op": "add", "path": f"{op.path}/-", "value": item} for item in op.value]
    if op.op == "truncate":
        return [{"op": "remove", "path": f"{op.path}/{index}"} for index in op.value]
    if op.op == "remove":
        return [{"op": "remove", "path": op.path}]
    return [{"op": op.op, "path": op.path, "value": op.value}]


def _placed(template: dict[str, Any], where: Sequence[str], rule: dict[str, str] | None) -> dict[str, Any]:
    metadata = dict(template.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    if rule is not None:
        annotations[PLACEMENT_ANNOTATION] = ",".join(f"{k}={v}" for k, v in rule.items())
    else:
        annotations[CLUSTERS_ANNOTATION] = ", ".join(where)
    metadata["annotations"] = annotations
    return {**template, "metadata": metadata}


def _clusters_field(members: Sequence[str], rule: dict[str, str] | None) -> dict[str, Any]:
    return {"clusterSelector": {"matchLabels": rule}} if rule is not None else {"names": list(members)}


def source_files(
    clusters: Sequence[str],
    labels: Mapping[str, Mapping[str, str]],
    factored: Sequence[Factored],
    schemas: Mapping[str, bytes],
) -> tuple[dict[str, bytes], Owners]:
    """Every file of the source root, and the objects each template and override document is for."""
    files: dict[str, bytes] = {}
    owners: Owners = {}
    config = {"apiVersion": FANOUT_API, "kind": "Config"}
    head = "# Written by fanout import; every key is optional.\n"
    files["fanout.yaml"] = (head + documents("fanout.yaml", "config", [config])[0]).encode()

    values: dict[str, dict[str, Any]] = {c: {} for c in clusters}
    for item in factored:
        for cluster, found in item.values.items():
            values[cluster].update(found)
    cluster_docs = []
    for name in clusters:
        metadata: dict[str, Any] = {"name": name}
        if labels.get(name):
            metadata["labels"] = dict(sorted(labels[name].items()))
        doc: dict[str, Any] = {"apiVersion": FANOUT_API, "kind": "Cluster", "metadata": metadata}
        if values[name]:
            doc["spec"] = {"values": dict(sorted(values[name].items()))}
        cluster_docs.append(doc)
    files["clusters/clusters.yaml"] = documents("clusters/clusters.yaml", "cluster", cluster_docs)[0].encode()

    templates: dict[str, list[tuple[dict[str, Any], tuple[Key, ...]]]] = {}
    overrides: dict[str, list[tuple[dict[str, Any], tuple[Key, ...]]]] = {}
    # The same difference for the same clusters in several objects is one override naming them all.
    shared: dict[tuple[str, ...], list[Key]] = {}
    for item in factored:
        for members, ops in item.groups:
            shared.setdefault(_signature(item.template, members, ops), []).append(item.key)
    taken: set[str] = set()
    written: set[tuple[str, ...]] = set()
    template_of = {item.key: item.template for item in factored}
    for item in factored:
        key = item.key
        relative = object_path(ObjectId(key.group, key.kind, key.namespace, key.name))
        template = item.template
        if list(item.clusters) != list(clusters):
            template = _placed(template, item.clusters, exact_selector(item.clusters, labels, clusters))
        templates.setdefault(f"templates/{relative}", []).append((template, (key,)))
        for members, ops in item.groups:
            signature = _signature(template_of[key], members, ops)
            keys = tuple(dict.fromkeys(shared[signature]))
            if signature in written:
                continue
            written.add(signature)
            rule = exact_selector(members, labels, clusters)
            spec: dict[str, Any] = {
                "clusters": _clusters_field(members, rule),
                "resources": [_resource(k) for k in keys],
            }
            merge = _merge(ops)
            if merge is not None:
                spec["merge"] = merge
            else:
                steps = [step for op in ops for step in json_patch(op)]
                smp = _strategic(template_of[keys[0]], steps)
                # The strategic patch names list items by their key, which reads better than positions, where
                # it is no longer than the JSON Patch (so that a fleet's source stays small). Compared without
                # the guards: else a strategic patch that repeats a whole list (one without a merge key) would
                # win, and the template's later edits to that list would no longer reach these clusters.
                if smp is not None and len(dump(smp)) <= len(dump({"patch": steps})):
                    spec["strategic"] = smp
                else:
                    spec["patch"] = [*guards(template_of[keys[0]], steps), *steps]
            if len(keys) > 1:
                stem = "-".join(f"{k}-{v}" for k, v in rule.items()) if rule else members[0]
                name = override_name(f"shared-{stem}", taken)
                path = "overrides/shared.yaml"
            else:
                name = override_name(f"{key.kind}-{key.name}", taken)
                path = f"overrides/{relative}"
            override = {
                "apiVersion": FANOUT_API,
                "kind": "Override",
                "metadata": {"name": name},
                "spec": spec,
            }
            overrides.setdefault(path, []).append((override, keys))
    for entries, schema in ((templates, "fanout"), (overrides, "override")):
        for path, docs in sorted(entries.items()):
            text, starts = documents(path, schema, [doc for doc, _ in docs])
            files[path] = text.encode()
            owners[path] = [(start, keys) for start, (_, keys) in zip(starts, docs, strict=True)]
    for name, content in sorted(schemas.items()):
        files[f"{SCHEMA_FOLDER}/{name}"] = content
    return files, owners
