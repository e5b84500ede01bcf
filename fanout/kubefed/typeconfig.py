"""``FederatedTypeConfig``: which target type a ``Federated<Kind>`` renders into.

fanout knows the types ``kubefedctl enable`` set up out of the box; a type config in the source adds
a type (a custom resource, say) or changes the version of a built-in one, as it did in KubeFed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fanout.errors import Problems
from fanout.kinds import FEDERATED_TYPES, TargetType
from fanout.load import Document
from fanout.validate import KUBEFED_TYPES_API, check, not_a_mapping

FEDERATED_GROUP = KUBEFED_TYPES_API.split("/")[0]


@dataclass(frozen=True)
class FederatedTypes:
    """The target type of each federated kind (keyed by target kind) and the type configs that say so."""

    types: Mapping[str, TargetType]
    disabled: Mapping[str, Document]  # target kind -> the type config that turned propagation off


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def federated_types(
    docs: Iterable[Document], problems: Problems, builtin: Mapping[str, TargetType] = FEDERATED_TYPES
) -> FederatedTypes:
    types = dict(builtin)
    disabled: dict[str, Document] = {}
    registered: dict[str, Document] = {}
    for doc in docs:
        if not_a_mapping(doc, problems):
            continue
        found = check(doc, "federatedtypeconfig")
        if found:
            problems.extend(found)
            continue
        spec = doc.data["spec"]
        target, federated = spec["targetType"], spec["federatedType"]
        kind = target["kind"]
        expected = f"Federated{kind}"
        if federated["kind"] != expected or federated.get("group", "") != FEDERATED_GROUP:
            # fanout finds the target type from the federated kind's name, as kubefedctl named them.
            problems.add(
                f"fanout renders federated types named {expected} in group {FEDERATED_GROUP};"
                f" this type config declares {federated['kind']} in group {federated.get('group', '')!r}",
                doc.location("/spec/federatedType"),
            )
            continue
        if federated["scope"] != target["scope"]:
            problems.add(
                f"{expected} is {federated['scope']} but {kind} is {target['scope']}: a federated type has"
                " the scope of its target type",
                doc.location("/spec/federatedType/scope"),
            )
            continue
        if kind in registered:
            first = registered[kind].location()
            problems.add(f"{kind} is registered twice (first at {first})", doc.location("/spec/targetType"))
            continue
        registered[kind] = doc
        types[kind] = TargetType(
            _api_version(target.get("group", ""), target["version"]), kind, target["scope"] == "Namespaced"
        )
        if spec.get("propagation") == "Disabled":
            disabled[kind] = doc
    return FederatedTypes(types, disabled)
