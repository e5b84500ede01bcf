"""Sorting KubeFed's control-plane documents out of the templates, and unpacking exported lists.

A KubeFed repository keeps ``FederatedTypeConfig`` and ``ReplicaSchedulingPreference`` objects next
to the federated resources. They configure the render and are never rendered themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fanout.load import Document
from fanout.validate import KUBEFED_CORE_API

KUBEFED_SCHEDULING_API = "scheduling.kubefed.io/v1alpha1"
TYPE_CONFIG = (KUBEFED_CORE_API, "FederatedTypeConfig")
REPLICA_SCHEDULING = (KUBEFED_SCHEDULING_API, "ReplicaSchedulingPreference")
KUBEFED_CLUSTER = (KUBEFED_CORE_API, "KubeFedCluster")

# What `kubectl get ... -o yaml` writes for several objects: a list whose items are the objects.
_LIST_KINDS = {("v1", "List"), (KUBEFED_CORE_API, "KubeFedClusterList")}


def api_kind(doc: Document) -> tuple[str, str]:
    data = doc.data
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("apiVersion", "")), str(data.get("kind", ""))


@dataclass(frozen=True)
class TemplateDocuments:
    """The templates folder's documents by role."""

    templates: tuple[Document, ...]
    type_configs: tuple[Document, ...]
    schedules: tuple[Document, ...]


def split_templates(docs: Iterable[Document]) -> TemplateDocuments:
    templates, type_configs, schedules = [], [], []
    for doc in docs:
        role = api_kind(doc)
        if role == TYPE_CONFIG:
            type_configs.append(doc)
        elif role == REPLICA_SCHEDULING:
            schedules.append(doc)
        else:
            templates.append(doc)
    return TemplateDocuments(tuple(templates), tuple(type_configs), tuple(schedules))


def expand_lists(docs: Iterable[Document]) -> tuple[Document, ...]:
    """Each item of a ``List`` document as a document of its own, keeping its positions in the file."""
    expanded: list[Document] = []
    for doc in docs:
        items = doc.data.get("items") if api_kind(doc) in _LIST_KINDS else None
        if not isinstance(items, list):
            expanded.append(doc)
            continue
        for index, item in enumerate(items):
            prefix = f"/items/{index}"
            positions = {
                pointer[len(prefix) :]: position
                for pointer, position in doc.positions.items()
                if pointer == prefix or pointer.startswith(prefix + "/")
            }
            expanded.append(Document(doc.path, doc.index, item, positions))
    return tuple(expanded)
