"""Templates as KubeFed would have propagated them: the entry point the pipeline calls.

Order matters and follows KubeFed: type configs decide what the federated objects render into;
replica scheduling then sets each workload's clusters and replicas from its own placement; finally
the namespace placement limits every namespaced federated object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from fanout.errors import Problem, Problems
from fanout.kubefed.documents import split_templates
from fanout.kubefed.namespaces import restrict_to_namespaces
from fanout.kubefed.scheduling import apply_schedules, read_schedules, warn_lost_replicas
from fanout.kubefed.typeconfig import federated_types
from fanout.load import Document
from fanout.model import Cluster, Config, Placement, Template
from fanout.templates import build_templates


def _disable(
    templates: Iterable[Template], disabled: Mapping[str, Document], warnings: list[Problem]
) -> list[Template]:
    """Objects of a type whose propagation is Disabled go nowhere, as in KubeFed."""
    result = []
    for template in templates:
        config = disabled.get(template.ident.kind) if template.federated else None
        if config is None:
            result.append(template)
            continue
        warnings.append(
            Problem(
                f"{template.ident} is not rendered: propagation of Federated{template.ident.kind} is"
                f" Disabled by the FederatedTypeConfig at {config.location('/spec/propagation')}",
                template.doc.location(),
            )
        )
        # Its inline overrides now reach no cluster; the warning above already says why.
        nowhere = Placement(
            template.placement.pointer,
            names=(),
            replaced=template.placement,
            because=f"propagation of Federated{template.ident.kind} is Disabled by its FederatedTypeConfig",
            because_at=config.location("/spec/propagation"),
        )
        result.append(dataclasses.replace(template, placement=nowhere, inline={}))
    return result


def build_kubefed_templates(
    docs: Iterable[Document], config: Config, clusters: Sequence[Cluster], problems: Problems
) -> tuple[tuple[Template, ...], tuple[Problem, ...]]:
    """Every template, placed and scheduled as KubeFed would have; also the warnings for ``validate``."""
    split = split_templates(docs)
    known = {c.name for c in clusters}
    types = federated_types(split.type_configs, problems)
    warnings: list[Problem] = []
    templates = _disable(
        build_templates(split.templates, known, problems, types.types), types.disabled, warnings
    )
    schedules = read_schedules(split.schedules, known, problems)
    templates, applied = apply_schedules(templates, split.templates, clusters, schedules, problems, warnings)
    templates = restrict_to_namespaces(templates, clusters, config.namespace_placement, problems, warnings)
    warn_lost_replicas(applied, templates, clusters, warnings)
    return tuple(templates), tuple(warnings)
