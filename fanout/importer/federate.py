"""Turn a plain Kubernetes object into its KubeFed ``Federated<Kind>``, as ``kubefedctl federate`` did.

Pure functions on JSON-like data. The template keeps what the user wrote and drops what a cluster
writes back (status, uid, resourceVersion, allocated IPs and ports, token secrets), so that a
manifest exported from a live cluster federates into something that renders back cleanly.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

FEDERATED_API_VERSION = "types.kubefed.io/v1beta1"
FEDERATED_GROUP = "types.kubefed.io"

# Of an object's own metadata only labels reach the template, as in kubefedctl: KubeFed's sync
# controller did not propagate template annotations, and fanout renders KubeFed objects as KubeFed did.
# Nested metadata (a Deployment's pod template) is the user's and stays as written, as in kubefedctl.
KEPT_METADATA = ("labels",)


# In a template, "${cluster.…}" is substituted and "$${" writes "${"; text exported from a cluster means
# neither, so such a "${" gets one more "$" and renders back exactly as it was.
_SUBSTITUTED = re.compile(r"(?<=\$)\$\{|\$\{(?=cluster(?:\.[^}]*)?\})")


class Issue(NamedTuple):
    """Why an object cannot be federated; ``pointer`` is a JSON Pointer into the object."""

    pointer: str
    message: str


def check(obj: Any) -> list[Issue]:
    """Everything that keeps ``obj`` from being federated (empty when ``federate`` may be called)."""
    if not isinstance(obj, Mapping):
        return [Issue("", "a manifest must be a mapping with apiVersion, kind and metadata")]
    issues: list[Issue] = []
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if not isinstance(api_version, str) or not api_version:
        issues.append(Issue("", "missing apiVersion"))
    if not isinstance(kind, str) or not kind:
        issues.append(Issue("", "missing kind"))
    elif isinstance(api_version, str) and api_version.split("/")[0] == FEDERATED_GROUP:
        issues.append(Issue("/kind", f"{kind} is already a KubeFed federated object"))
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        issues.append(Issue("", "missing metadata"))
        return issues
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        hint = (
            " (generateName cannot be federated: give the object a name)"
            if "generateName" in metadata
            else ""
        )
        issues.append(Issue("/metadata", f"missing metadata.name{hint}"))
    namespace = metadata.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        issues.append(Issue("/metadata/namespace", "metadata.namespace must be a string"))
    return issues


def dropped_annotations(obj: Mapping[str, Any]) -> list[str]:
    """The object's own annotations, which its Federated<Kind> does not carry (say so to the user)."""
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return sorted(annotations) if isinstance(annotations, Mapping) else []


def federated_kind(kind: str) -> str:
    return f"Federated{kind}"


def federate(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Federated<Kind>`` for ``obj``, placed on every cluster. ``obj`` is not modified.

    Call ``check`` first; this assumes a well-formed object.
    """
    kind: str = obj["kind"]
    metadata: Mapping[str, Any] = obj["metadata"]
    name: str = metadata["name"]
    # KubeFed keeps a FederatedNamespace inside the namespace it federates.
    namespace = name if kind == "Namespace" and obj["apiVersion"] == "v1" else metadata.get("namespace")

    fed_metadata: dict[str, Any] = {"name": name}
    if namespace:
        fed_metadata["namespace"] = namespace
    return {
        "apiVersion": FEDERATED_API_VERSION,
        "kind": federated_kind(kind),
        "metadata": fed_metadata,
        "spec": {"template": template_of(obj), "placement": {"clusterSelector": {}}},
    }


def template_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``spec.template`` for ``obj``: the object minus identity, status and cluster-written fields."""
    template: dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata":
            kept = {k: escape_substitution(v) for k, v in value.items() if k in KEPT_METADATA}
            if kept:
                template["metadata"] = kept
            continue
        template[key] = escape_substitution(value)
    if obj["apiVersion"] == "v1":
        _drop_cluster_written(obj["kind"], template)
    return template


def escape_substitution(value: Any) -> Any:
    """A copy of ``value`` whose strings render back unchanged through fanout's substitution."""
    if isinstance(value, str):
        return _SUBSTITUTED.sub("$${", value) if "${" in value else value
    if isinstance(value, dict):
        return {key: escape_substitution(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escape_substitution(item) for item in value]
    return copy.deepcopy(value)


def _drop_cluster_written(kind: str, template: dict[str, Any]) -> None:
    """Fields a member cluster fills in; copying one cluster's value to every cluster would break them."""
    spec = template.get("spec")
    if kind == "Service" and isinstance(spec, dict):
        # A headless Service's ``clusterIP: None`` is the user's choice, not an allocation: keep it.
        if spec.get("clusterIP") != "None" and spec.get("clusterIPs") != ["None"]:
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.pop("nodePort", None)
    elif kind == "ServiceAccount":
        template.pop("secrets", None)
    elif kind == "Namespace" and isinstance(spec, dict):
        spec.pop("finalizers", None)
        if not spec:
            del template["spec"]
