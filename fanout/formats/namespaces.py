"""Namespace placement: a namespaced federated object only goes where its namespace goes.

KubeFed propagated a namespaced object to the clusters in both its own placement and the placement
of the ``FederatedNamespace`` of its namespace, and nowhere when that namespace had none; federation-v2's
2018 primitives used the object's own placement when the namespace had no placement. Each template
says which rule it follows (``Template.namespace_rule``, set by its format's front end);
``namespacePlacement`` in fanout.yaml chooses for all of them what happens without a namespace
placement: ``kubefed`` (nowhere) or ``own`` (the object's own placement decides). Left unset, the
front end's rule applies once any namespace placement exists, and ``own`` before that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from fanout.core.errors import Problem, Problems
from fanout.core.model import NS_FREE, NS_KUBEFED, NS_OWN, Cluster, Template

KUBEFED = NS_KUBEFED
OWN = NS_OWN


def namespace_reach(
    templates: Sequence[Template], clusters: Sequence[Cluster], problems: Problems
) -> tuple[dict[str, frozenset[str]], dict[str, Template]]:
    """namespace -> the clusters its namespace placement selects, and the template that says so."""
    reach: dict[str, frozenset[str]] = {}
    where: dict[str, Template] = {}
    for template in templates:
        if not template.defines_namespace:
            continue
        name = template.ident.name
        first = where.setdefault(name, template)
        if first is not template:
            problems.add(
                f"namespace {name!r} has a second namespace placement (first at {first.doc.location()})",
                template.doc.location(),
            )
            continue
        reach[name] = frozenset(c.name for c in clusters if template.placement.selects(c))
    return reach, where


def restrict_to_namespaces(
    templates: Sequence[Template],
    clusters: Sequence[Cluster],
    configured: str | None,
    reach: Mapping[str, frozenset[str]],
    where: Mapping[str, Template],
    warnings: list[Problem],
) -> list[Template]:
    result = []
    for template in templates:
        if template.namespace_rule == NS_FREE or not template.namespaced:
            result.append(template)
            continue
        own = [c.name for c in clusters if template.placement.selects(c)]
        namespace = template.ident.namespace
        allowed = reach.get(namespace)
        mode = configured or (template.namespace_rule if where else OWN)
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
            nowhere = template.placement.narrowed(
                (), f"namespace {namespace!r} has no FederatedNamespace (namespacePlacement: kubefed)"
            )
            result.append(dataclasses.replace(template, placement=nowhere, inline={}, scheduled={}, steps={}))
            continue
        if allowed is None or set(own) <= allowed:
            result.append(template)
            continue
        kept = tuple(c for c in own if c in allowed)
        narrowed = template.placement.narrowed(
            kept,
            f"only where the {where[namespace].doc.data.get('kind')} {namespace!r} goes",
            where[namespace].doc.location(),
        )
        result.append(dataclasses.replace(template, placement=narrowed))
    return result
