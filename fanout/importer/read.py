"""Reading the copies: every object of every cluster folder, by identity, with where it was found."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from fanout.core.document import Document
from fanout.core.errors import Location, Problem, Problems
from fanout.core.validate import ANNOTATION_PREFIX
from fanout.formats.lists import expand_lists
from fanout.kube.kinds import CLUSTER_SCOPED, NAMESPACED, group_of, well_known_scope
from fanout.source.parse import load_documents
from fanout.source.tree import SourceTree

KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# A kustomization that only lists files is a file list; anything else changes objects and must be built first.
LIST_ONLY_KEYS = frozenset({"apiVersion", "kind", "resources"})
YAML_SUFFIXES = (".yaml", ".yml")


class Key(NamedTuple):
    """An object's identity across clusters, with its apiVersion (which an override may not change)."""

    group: str
    kind: str
    namespace: str
    name: str
    api_version: str


@dataclass(frozen=True)
class Copy:
    cluster: str
    data: Mapping[str, Any]
    location: Location


@dataclass(frozen=True)
class ClusterFolder:
    """One cluster's copies: its name, the tree they are read from, and how paths are shown."""

    name: str
    tree: SourceTree
    shown: str  # the folder as the user named it, prefixed to every path in messages


@dataclass(frozen=True)
class Fleet:
    clusters: tuple[str, ...]
    copies: Mapping[Key, tuple[Copy, ...]]  # in cluster order
    files: int
    bytes: int
    lines: int


def _kustomization(files: set[str], folder: str) -> str | None:
    for name in KUSTOMIZATIONS:
        path = posixpath.join(folder, name) if folder else name
        if path in files:
            return path
    return None


def _listed(
    cluster: ClusterFolder, files: set[str], folder: str, problems: Problems, seen: set[str]
) -> list[str]:
    """The files that make up ``folder``: its kustomization's resources, or every YAML file below it."""
    if folder in seen:  # a kustomization listing a folder twice, or a cycle
        return []
    seen.add(folder)
    kustomization = _kustomization(files, folder)
    if kustomization is None:
        below = sorted(f for f in files if (not folder or f.startswith(folder + "/")))
        direct = [f for f in below if posixpath.dirname(f) == folder]
        subfolders = sorted(
            {f[len(folder) + 1 if folder else 0 :].split("/")[0] for f in below if f not in direct}
        )
        found = [f for f in direct if f.endswith(YAML_SUFFIXES)]
        for sub in subfolders:
            found += _listed(cluster, files, posixpath.join(folder, sub) if folder else sub, problems, seen)
        return found
    where = Location(f"{cluster.shown}/{kustomization}")
    content = cluster.tree.read(kustomization) or b""
    docs, found_problems = load_documents(where.path, content)
    problems.extend(found_problems)
    data = docs[0].data if docs else {}
    if not isinstance(data, dict):
        problems.add("a kustomization must be a mapping", where)
        return []
    extra = sorted(set(data) - LIST_ONLY_KEYS)
    if extra:
        problems.add(
            f"this kustomization does more than list files ({', '.join(extra)}); build it first"
            f" (kubectl kustomize {posixpath.join(cluster.shown, folder)} > built.yaml) and import that",
            where,
        )
        return []
    result: list[str] = []
    for index, entry in enumerate(data.get("resources") or []):
        spot = docs[0].location(f"/resources/{index}")
        if not isinstance(entry, str) or "://" in entry or entry.startswith(("git@", "github.com/")):
            problems.add(f"resource {entry!r}: only files and folders of this copy can be imported", spot)
            continue
        path = posixpath.normpath(posixpath.join(folder, entry))
        if path in files:
            result.append(path)
        elif any(f.startswith(path + "/") for f in files):
            result += _listed(cluster, files, path, problems, seen)
        else:
            problems.add(f"resource {entry!r}: no such file or folder", spot)
    return result


def _objects(cluster: ClusterFolder, docs: Iterable[Document], problems: Problems) -> list[tuple[Key, Copy]]:
    found = []
    for doc in docs:
        data = doc.data
        where = doc.location()
        metadata = data.get("metadata") if isinstance(data, dict) else None
        if not (
            isinstance(data, dict)
            and isinstance(data.get("apiVersion"), str)
            and isinstance(data.get("kind"), str)
            and isinstance(metadata, dict)
            and isinstance(metadata.get("name"), str)
        ):
            problems.add("not a Kubernetes object (it needs apiVersion, kind and metadata.name)", where)
            continue
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and any(str(k).startswith(ANNOTATION_PREFIX) for k in annotations):
            problems.add(
                f"{ANNOTATION_PREFIX}* annotations are fanout's own and never rendered, so this object cannot"
                " be imported as it is",
                doc.location("/metadata/annotations"),
            )
            continue
        namespace = metadata.get("namespace")
        key = Key(
            group_of(data["apiVersion"]),
            data["kind"],
            namespace if isinstance(namespace, str) else "",
            metadata["name"],
            data["apiVersion"],
        )
        found.append((key, Copy(cluster.name, data, where)))
    return found


def read_fleet(folders: Sequence[ClusterFolder], namespace: str | None = None) -> tuple[Fleet, list[Problem]]:
    """Every object of every folder. Problems are returned, not raised, so that all are reported.

    ``namespace``: where an object of a namespaced kind written without a namespace is (``kubectl apply
    -n``, an Argo CD Application's destination): it is read as written there. Without it, such an object
    is a problem, since a fanout template names its namespace."""
    problems = Problems()
    read: list[tuple[ClusterFolder, list[Document]]] = []
    counts = [0, 0, 0]
    for cluster in folders:
        files = {f for f in cluster.tree.list_files("") if not any(p.startswith(".") for p in f.split("/"))}
        problems.extend(
            Problem(why, Location(f"{cluster.shown}/{path}")) for path, why in cluster.tree.refused("")
        )
        docs: list[Document] = []
        for path in _listed(cluster, files, "", problems, set()):
            content = cluster.tree.read(path) or b""
            counts[0] += 1
            counts[1] += len(content)
            counts[2] += content.count(b"\n")
            found, wrong = load_documents(f"{cluster.shown}/{path}", content)
            problems.extend(wrong)
            docs += expand_lists(found, problems)
        read.append((cluster, docs))
    scopes = _defined_scopes(doc for _, docs in read for doc in docs)
    copies: dict[Key, list[Copy]] = {}
    missing: dict[Key, list[Copy]] = {}
    for cluster, docs in read:
        seen_here: dict[tuple[str, str, str, str], Location] = {}
        for key, copy in _objects(cluster, docs, problems):
            if not key.namespace and _namespaced(key, scopes):
                if namespace is None:
                    missing.setdefault(key, []).append(copy)
                    continue
                key, copy = _placed_in(key, copy, namespace)
            ident = (key.group, key.kind, key.namespace, key.name)
            if ident in seen_here:
                problems.add(
                    f"{key.kind} {key.name} is also at {seen_here[ident]} in this cluster", copy.location
                )
                continue
            seen_here[ident] = copy.location
            copies.setdefault(key, []).append(copy)
    for key, lacking in missing.items():
        more = f" (and in {len(lacking) - 1} more clusters)" if len(lacking) > 1 else ""
        problems.add(
            f"{key.kind} {key.name} has no namespace{more}: give --namespace NS, the namespace `kubectl apply"
            " -n` or your Argo CD Application's destination puts it in",
            lacking[0].location,
        )
    fleet = Fleet(
        tuple(c.name for c in folders),
        {key: tuple(found) for key, found in sorted(copies.items())},
        *counts,
    )
    return fleet, problems.items


def _defined_scopes(docs: Iterable[Document]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, from the CustomResourceDefinitions among the copies."""
    found: dict[tuple[str, str], bool] = {}
    for doc in docs:
        data = doc.data
        if not isinstance(data, dict) or data.get("kind") != "CustomResourceDefinition":
            continue
        spec = data.get("spec")
        if not isinstance(spec, dict):
            continue
        names, group = spec.get("names"), spec.get("group")
        if isinstance(names, dict) and isinstance(group, str) and isinstance(names.get("kind"), str):
            found[(group, names["kind"])] = spec.get("scope") != "Cluster"
    return found


def _namespaced(key: Key, scopes: Mapping[tuple[str, str], bool]) -> bool:
    """Whether the kind is known to be namespaced; a kind fanout does not know is taken as written."""
    scope = scopes.get((key.group, key.kind))
    if scope is None:
        scope = True if key.kind in NAMESPACED else well_known_scope(key.group, key.kind)
    return bool(scope) and key.kind not in CLUSTER_SCOPED


def _placed_in(key: Key, copy: Copy, namespace: str) -> tuple[Key, Copy]:
    """The copy as it is applied in ``namespace``: with ``metadata.namespace`` written, after the name."""
    data = dict(copy.data)
    metadata: dict[str, Any] = {}
    for field, value in data["metadata"].items():
        if field != "namespace":
            metadata[field] = value
        if field == "name":
            metadata["namespace"] = namespace
    data["metadata"] = metadata
    return key._replace(namespace=namespace), Copy(copy.cluster, data, copy.location)
