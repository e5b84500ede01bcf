"""FederatedNamespace placement: a namespaced federated object only goes where its namespace goes.

KubeFed propagated a namespaced object to the clusters in both its own placement and the placement
of the ``FederatedNamespace`` of its namespace, and nowhere when that namespace had none.
``namespacePlacement`` in fanout.yaml chooses what happens without one: ``kubefed`` (KubeFed's rule,
the default once any FederatedNamespace exists) or ``own`` (the object's own placement decides).
Plain manifests keep fanout's own placement rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from fanout.errors import Problem, Problems
from fanout.model import Cluster, Placement, Template

KUBEFED = "kubefed"
OWN = "own"


def _is_federated_namespace(template: Template) -> bool:
    return template.federated and template.ident.kind == "Namespace" and template.ident.group == ""


def namespace_mode(configured: str | None, templates: Sequence[Template]) -> str:
    if configured is not None:
        return configured
    return KUBEFED if any(_is_federated_namespace(t) for t in templates) else OWN


def restrict_to_namespaces(
    templates: Sequence[Template],
    clusters: Sequence[Cluster],
    configured: str | None,
    problems: Problems,
    warnings: list[Problem],
) -> list[Template]:
    mode = namespace_mode(configured, templates)
    reach: dict[str, frozenset[str]] = {}
    where: dict[str, Template] = {}
    for template in templates:
        if not _is_federated_namespace(template):
            continue
        name = template.ident.name
        written = template.doc.data["metadata"].get("namespace")
        if written is not None and written != name:
            # KubeFed looked a namespace's FederatedNamespace up inside that namespace only.
            problems.add(
                f"the FederatedNamespace {name!r} must be in namespace {name!r}, not {written!r}",
                template.doc.location("/metadata/namespace"),
            )
        reach[name] = frozenset(c.name for c in clusters if template.placement.selects(c))
        where[name] = template

    result = []
    for template in templates:
        if not (template.federated and template.namespaced):
            result.append(template)
            continue
        own = [c.name for c in clusters if template.placement.selects(c)]
        namespace = template.ident.namespace
        allowed = reach.get(namespace)
        if allowed is None and mode == KUBEFED:
            if own:
                warnings.append(
                    Problem(
                        f"{template.ident} is not rendered anywhere: namespace {namespace!r} has no"
                        " FederatedNamespace (namespacePlacement: kubefed). Add one, or set"
                        " namespacePlacement: own in fanout.yaml",
                        template.doc.location(),
                    )
                )
            # Its inline overrides reach no cluster either; the warning above says why.
            nowhere = Placement(
                template.placement.pointer,
                names=(),
                replaced=template.placement,
                because=f"namespace {namespace!r} has no FederatedNamespace (namespacePlacement: kubefed)",
            )
            result.append(dataclasses.replace(template, placement=nowhere, inline={}))
            continue
        if allowed is None or set(own) <= allowed:
            result.append(template)
            continue
        kept = tuple(c for c in own if c in allowed)
        narrowed = Placement(
            template.placement.pointer,
            names=kept,
            replaced=template.placement,
            because=f"only where the FederatedNamespace {namespace!r} goes",
            because_at=where[namespace].doc.location(),
        )
        result.append(dataclasses.replace(template, placement=narrowed))
    return result
