"""The imported source root as files: fanout.yaml, clusters/, templates/, overrides/ and editor schemas.

Templates are plain manifests (any kind, CRDs included) placed by ``fanout.dev/clusters`` or, when the
clusters' labels make one exact, ``fanout.dev/placement``; overrides are merge patches where RFC 7386 can
say it (maps only, no null values) and JSON Patch otherwise. One file per object, at the path its
output has (``<namespace>/<kind>_<name>.yaml``), so that a reader finds each object where they expect it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

from fanout.emit import dump, object_path
from fanout.importer.factor import Factored, Op
from fanout.importer.read import Key
from fanout.model import ObjectId
from fanout.validate import CLUSTERS_ANNOTATION, PLACEMENT_ANNOTATION

FANOUT_API = "fanout.dev/v1alpha1"
SCHEMA_FOLDER = ".fanout/schemas"
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


def _modeline(path: str, schema: str) -> str:
    target = f"{SCHEMA_FOLDER}/{schema}.schema.json"
    return f"# yaml-language-server: $schema={os.path.relpath(target, os.path.dirname(path))}\n"


def documents(path: str, schema: str, docs: Iterable[Mapping[str, Any]], comment: str = "") -> str:
    """A YAML file of several documents, each with the line that gives editors its schema."""
    line = _modeline(path, schema)
    head = "".join(f"# {c}\n" for c in comment.splitlines())
    return head + "---\n".join(line + dump(doc) for doc in docs)


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", text.lower())).strip("-") or "x"


def override_name(key: Key, index: int, taken: set[str]) -> str:
    """``<kind>-<name>-<n>``, a DNS label unique in the source (cut, with a hash, when too long)."""
    name = f"{_slug(key.kind)}-{_slug(key.name)}-{index}"
    if len(name) > NAME_MAX:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: NAME_MAX - 9].rstrip('-')}-{digest}"
    while name in taken:
        name = f"{name[: NAME_MAX - 2]}-x"
    taken.add(name)
    return name


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
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op.path.split("/")[1:]]
        # A list index, or a null (which a merge patch reads as "remove"), needs JSON Patch. A map value
        # is safe: the template has no map there (the diff would have gone into it), so nothing merges.
        if not parts or any(p.isdigit() for p in parts) or has_null(op.value):
            return None
        node = patch
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = None if op.op == "remove" else op.value
    return patch


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
) -> tuple[dict[str, bytes], dict[str, Key]]:
    """Every file of the source root, and which object each template or override file belongs to."""
    files: dict[str, bytes] = {}
    owners: dict[str, Key] = {}
    config = {"apiVersion": FANOUT_API, "kind": "Config"}
    files["fanout.yaml"] = documents(
        "fanout.yaml", "config", [config], "Written by fanout import; every key is optional."
    ).encode()

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
    files["clusters/clusters.yaml"] = documents("clusters/clusters.yaml", "cluster", cluster_docs).encode()

    templates: dict[str, list[dict[str, Any]]] = {}
    overrides: dict[str, list[dict[str, Any]]] = {}
    taken: set[str] = set()
    for item in factored:
        key = item.key
        relative = object_path(ObjectId(key.group, key.kind, key.namespace, key.name))
        template = item.template
        if list(item.clusters) != list(clusters):
            template = _placed(template, item.clusters, exact_selector(item.clusters, labels, clusters))
        templates.setdefault(f"templates/{relative}", []).append(template)
        owners[f"templates/{relative}"] = key
        resource = {"apiVersion": key.api_version, "kind": key.kind, "name": key.name}
        if key.namespace:
            resource["namespace"] = key.namespace
        for index, (members, ops) in enumerate(item.groups, 1):
            spec: dict[str, Any] = {
                "clusters": _clusters_field(members, exact_selector(members, labels, clusters)),
                "resources": [resource],
            }
            merge = _merge(ops)
            if merge is not None:
                spec["merge"] = merge
            else:
                spec["patch"] = [step for op in ops for step in json_patch(op)]
            override = {
                "apiVersion": FANOUT_API,
                "kind": "Override",
                "metadata": {"name": override_name(key, index, taken)},
                "spec": spec,
            }
            overrides.setdefault(f"overrides/{relative}", []).append(override)
            owners[f"overrides/{relative}"] = key
    for path, docs in sorted(templates.items()):
        files[path] = documents(path, "fanout", docs).encode()
    for path, docs in sorted(overrides.items()):
        files[path] = documents(path, "override", docs).encode()
    for name, content in sorted(schemas.items()):
        files[f"{SCHEMA_FOLDER}/{name}"] = content
    return files, owners
