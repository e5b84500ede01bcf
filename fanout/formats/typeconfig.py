"""``FederatedTypeConfig``: which target type a ``Federated<Kind>`` renders into.

fanout knows the types ``kubefedctl enable`` set up out of the box; a type config in the source adds
a type (a custom resource, say) or changes the version of a built-in one, as it did in KubeFed. Two
shapes are read: KubeFed's (``core.kubefed.io/v1beta1``, and ``core.kubefed.k8s.io/v1beta1`` of the
0.1.0 release candidates: ``targetType``, ``federatedType``, ``propagation``) and federation-v2's
(``core.federation.k8s.io/v1alpha1``: ``target``, ``namespaced``, ``propagationEnabled``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fanout.core.document import Document
from fanout.core.errors import Problems
from fanout.core.validate import check, not_a_mapping
from fanout.kube.kinds import FEDERATED_TYPES, TargetType

# Type config apiVersion -> (its schema, the group of the federated types it registers).
TYPE_CONFIG_APIS = {
    "core.kubefed.io/v1beta1": ("federatedtypeconfig", "types.kubefed.io"),
    "core.kubefed.k8s.io/v1beta1": ("federatedtypeconfig", "types.kubefed.k8s.io"),
    "core.federation.k8s.io/v1alpha1": ("federatedtypeconfig-v1alpha1", "types.federation.k8s.io"),
}
TYPE_CONFIG_KIND = "FederatedTypeConfig"


@dataclass(frozen=True)
class FederatedTypes:
    """The target type of each federated kind (keyed by target kind) and the type configs that say so."""

    types: Mapping[str, TargetType]
    disabled: Mapping[str, Document]  # target kind -> the type config that turned propagation off


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _read(spec: Mapping[str, Any], alpha: bool) -> tuple[Mapping[str, Any], bool, bool, str]:
    """(target, namespaced, disabled, where the scope is written) of either shape."""
    if alpha:
        return spec["target"], bool(spec["namespaced"]), not spec.get("propagationEnabled", True), "/spec"
    target = spec["targetType"]
    return target, target["scope"] == "Namespaced", spec.get("propagation") == "Disabled", "/spec/targetType"


def federated_types(
    docs: Iterable[Document], problems: Problems, builtin: Mapping[str, TargetType] = FEDERATED_TYPES
) -> FederatedTypes:
    types = dict(builtin)
    disabled: dict[str, Document] = {}
    registered: dict[str, Document] = {}
    for doc in docs:
        if not_a_mapping(doc, problems):
            continue
        schema, group = TYPE_CONFIG_APIS[str(doc.data.get("apiVersion"))]
        found = check(doc, schema)
        if found:
            problems.extend(found)
            continue
        spec = doc.data["spec"]
        alpha = schema.endswith("v1alpha1")
        target, namespaced, off, where = _read(spec, alpha)
        federated = spec["federatedType"]
        kind = target["kind"]
        expected = f"Federated{kind}"
        if federated["kind"] != expected or federated.get("group", "") != group:
            # fanout finds the target type from the federated kind's name, as kubefedctl named them.
            problems.add(
                f"fanout renders federated types named {expected} in group {group};"
                f" this type config declares {federated['kind']} in group {federated.get('group', '')!r}",
                doc.location("/spec/federatedType"),
            )
            continue
        # KubeFed's own chart registers FederatedNamespace as Namespaced (it lives in the namespace it
        # federates) for the cluster-scoped Namespace; every other federated type has its target's scope.
        namespace_type = (kind, target.get("group", "")) == ("Namespace", "")
        if not alpha and federated["scope"] != target["scope"] and not namespace_type:
            problems.add(
                f"{expected} is {federated['scope']} but {kind} is {target['scope']}: a federated type has"
                " the scope of its target type",
                doc.location("/spec/federatedType/scope"),
            )
            continue
        if kind in registered:
            first = registered[kind].location()
            problems.add(f"{kind} is registered twice (first at {first})", doc.location(where))
            continue
        registered[kind] = doc
        types[kind] = TargetType(
            _api_version(target.get("group", ""), target.get("version", "")), kind, namespaced
        )
        if off:
            disabled[kind] = doc
    return FederatedTypes(types, disabled)
