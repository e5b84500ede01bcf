"""``kind: List`` documents unpacked into their items, in every input folder.

``kubectl get ... -o yaml`` exports several objects as one ``List`` (and the Pac-Man tutorial ships its
files that way). Each item becomes a document of its own that keeps its positions in the file. Items
of an export also carry what the cluster wrote into them; those fields are dropped as ``kubefedctl
federate`` dropped them, so that an export renders as what the user wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fanout.core.document import Document
from fanout.core.errors import Problems

# Written by the API server or by kubectl, never by the user: copying them to other clusters is wrong.
CLUSTER_WRITTEN_METADATA = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "finalizers",
    "selfLink",
)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def api_kind(doc: Document) -> tuple[str, str]:
    data = doc.data
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("apiVersion", "")), str(data.get("kind", ""))


def is_list(doc: Document) -> bool:
    """``v1 List``, or any ``<Kind>List`` (what the API returns for a collection, e.g. KubeFedClusterList)."""
    api, kind = api_kind(doc)
    return bool(api) and (kind == "List" or (kind.endswith("List") and "items" in doc.data))


def exported(item: Any) -> Any:
    """``item`` without the fields a cluster writes; ``item`` itself is not modified."""
    if not isinstance(item, dict):
        return item
    cleaned = {k: v for k, v in item.items() if k != "status"}
    metadata = cleaned.get("metadata")
    if isinstance(metadata, dict):
        metadata = {k: v for k, v in metadata.items() if k not in CLUSTER_WRITTEN_METADATA}
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            kept = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
            if kept:
                metadata["annotations"] = kept
            else:
                del metadata["annotations"]
        cleaned["metadata"] = metadata
    return cleaned


def expand_lists(docs: Iterable[Document], problems: Problems) -> tuple[Document, ...]:
    """Each item of a List document as a document of its own, keeping its positions in the file."""
    expanded: list[Document] = []
    for doc in docs:
        if not is_list(doc):
            expanded.append(doc)
            continue
        items = doc.data.get("items")
        if not isinstance(items, list):
            problems.add(f"a {api_kind(doc)[1]} needs a list of items", doc.location("/items"))
            continue
        for index, item in enumerate(items):
            prefix = f"/items/{index}"
            positions = {
                pointer[len(prefix) :]: position
                for pointer, position in doc.positions.items()
                if pointer == prefix or pointer.startswith(prefix + "/")
            }
            expanded.append(Document(doc.path, doc.index, exported(item), positions, index))
    return tuple(expanded)
