"""Replica scheduling: one workload's replicas divided across clusters, whatever format asked for it.

A ``Schedule`` comes from a KubeFed ``ReplicaSchedulingPreference`` or from a Federation v1
``*-preferences`` annotation (see ``fanout.formats``); both run the one planner in
``fanout.formats.replicas``.
What differs between the two systems is a parameter of the schedule, never a second planner:

- which clusters are eligible: every cluster (KubeFed), the target's own placement (Federation v1),
  or the target's cluster selector within its namespace (KubeFed's ``intersectWithClusterSelector``);
- which fields are divided and from what total (KubeFed: ``totalReplicas`` into ``spec.replicas``;
  Federation v1: the object's own ``spec.replicas``, or a Job's ``parallelism`` and ``completions``);
- where the object goes: every eligible cluster, 0 replicas included (both, for workloads), or only where
  the first field is above 0 (Federation v1's Jobs).

The plan replaces the target's placement and sets the fields with a patch applied after the target's
inline overrides; inline overrides of a scheduled field are dropped, as KubeFed's scheduler rewrote them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fanout.core.document import Document
from fanout.core.errors import Problem, Problems
from fanout.core.model import Cluster, Patch, PatchOp, Template
from fanout.formats.replicas import ClusterPreference, Plan, distribute

ALL_CLUSTERS = "all"  # KubeFed: the plan decides the placement
PLACED = "placed"  # Federation v1: within the target's own placement
SELECTOR = "selector"  # KubeFed with intersectWithClusterSelector: the target's selector within its namespace

EVERY_PLANNED = "every"  # the object goes to every eligible cluster, with 0 where the plan says so
ABOVE_ZERO = "above-zero"  # only where the first field's share is above 0


@dataclass(frozen=True)
class Divided:
    """A field the plan sets, and the total it divides."""

    path: str  # a JSON Pointer, e.g. /spec/replicas
    total: int


@dataclass(frozen=True, eq=False)
class Schedule:
    doc: Document
    pointer: str  # where the schedule is written in ``doc``
    label: str  # for people: "ReplicaSchedulingPreference shop/web"
    target: tuple[str, str, str]  # the rendered object: kind, namespace ("" if cluster-scoped), name
    fields: tuple[Divided, ...]
    preferences: Mapping[str, ClusterPreference]  # by cluster name or "*"; empty means {"*": weight 1}
    eligible: str = ALL_CLUSTERS
    placed_where: str = EVERY_PLANNED

    @property
    def key(self) -> str:
        """The planner's tie-break salt: ``namespace/name``, as both systems' qualified names read."""
        _, namespace, name = self.target
        return f"{namespace}/{name}" if namespace else name

    def targets(self, template: Template) -> bool:
        ident = template.ident
        return (ident.kind, ident.namespace, ident.name) == self.target


@dataclass(frozen=True, eq=False)
class Scheduled:
    """A schedule applied to its target: the plans, and where the target is among the templates."""

    schedule: Schedule
    plans: tuple[Plan, ...]  # one per field
    index: int  # of the target among the templates


def _patch(schedule: Schedule, cluster: str, shares: Sequence[tuple[Divided, int]]) -> Patch:
    ops = tuple(PatchOp("add", f.path, schedule.pointer, n, True) for f, n in shares)
    detail = ", ".join(
        f"{n} of {f.total}" if len(shares) == 1 else f"{f.path.rsplit('/', 1)[-1]} {n} of {f.total}"
        for f, n in shares
    )
    label = f"{schedule.doc.label} (replica scheduling: {detail})"
    return Patch(f"{schedule.doc.label}{schedule.pointer}@{cluster}", label, schedule.doc, ops)


def eligible(
    schedule: Schedule, template: Template, clusters: Sequence[Cluster], reach: Mapping[str, frozenset[str]]
) -> list[str]:
    """The clusters the plan is made over, in inventory order."""
    if schedule.eligible == ALL_CLUSTERS:
        return [c.name for c in clusters]
    if schedule.eligible == PLACED:
        return [c.name for c in clusters if template.placement.selects(c)]
    # KubeFed's GetResourceClusters(selectorOnly): the selector alone (none selects nothing), and
    # within the namespace's placement for a namespaced target.
    selector = template.placement.selector
    if selector is None:
        return []
    within = reach.get(template.ident.namespace) if template.namespace_rule else None
    return [c.name for c in clusters if selector.matches(c.labels) and (within is None or c.name in within)]


def apply_schedules(
    templates: Sequence[Template],
    clusters: Sequence[Cluster],
    schedules: Sequence[Schedule],
    reach: Mapping[str, frozenset[str]],
    problems: Problems,
    warnings: list[Problem],
) -> tuple[list[Template], list[Scheduled]]:
    """Templates with each schedule applied, and what was applied. ``reach``: namespace -> its clusters."""
    result = list(templates)
    applied: list[Scheduled] = []
    seen: dict[tuple[str, str, str], Schedule] = {}
    for schedule in schedules:
        first = seen.setdefault(schedule.target, schedule)
        if first is not schedule:
            problems.add(
                f"{schedule.label} schedules {'/'.join(p for p in schedule.target if p)}, which"
                f" {first.label} at {first.doc.location(first.pointer)} schedules already",
                schedule.doc.location(schedule.pointer),
            )
            continue
        index = next((i for i, t in enumerate(result) if schedule.targets(t)), None)
        if index is None:
            continue  # the front end reported a missing target
        template = result[index]
        names = eligible(schedule, template, clusters, reach)
        if not names and schedule.eligible == SELECTOR:
            warnings.append(
                Problem(
                    f"{schedule.label} does nothing: with intersectWithClusterSelector, KubeFed planned over"
                    f" the clusters {template.ident} selects with its clusterSelector (within its"
                    " namespace's placement), and there are none; the object keeps its own placement",
                    schedule.doc.location(schedule.pointer),
                )
            )
            continue
        plans = tuple(distribute(schedule.preferences, f.total, names, schedule.key) for f in schedule.fields)
        main = plans[0]
        chosen = tuple(c for c, n in main.replicas.items() if schedule.placed_where == EVERY_PLANNED or n > 0)
        paths = {f.path for f in schedule.fields}
        inline = _without_scheduled_fields(template, paths, schedule, warnings)
        where = {
            ALL_CLUSTERS: "its plan includes",
            PLACED: "its plan includes (within the object's own placement)",
            SELECTOR: "its plan includes (the object's clusterSelector, within its namespace)",
        }[schedule.eligible]
        result[index] = dataclasses.replace(
            template,
            placement=template.placement.narrowed(
                chosen,
                f"{schedule.label} places it on the clusters {where}",
                schedule.doc.location(schedule.pointer),
            ),
            inline=inline,
            scheduled={
                c: _patch(
                    schedule, c, [(f, p.replicas[c]) for f, p in zip(schedule.fields, plans, strict=True)]
                )
                for c in chosen
            },
        )
        applied.append(Scheduled(schedule, plans, index))
        if main.unassigned:
            why = (
                "each cluster that takes part is at its maxReplicas or has weight 0"
                if main.order
                else 'no eligible cluster has an entry in the preferences, nor does "*"'
            )
            warnings.append(
                Problem(
                    f"{schedule.label}: {main.unassigned} of {schedule.fields[0].total} replicas are not"
                    f" placed: {why}",
                    schedule.doc.location(schedule.pointer),
                )
            )
    return result, applied


def _without_scheduled_fields(
    template: Template, paths: set[str], schedule: Schedule, warnings: list[Problem]
) -> dict[str, Patch]:
    """The inline overrides minus their ops on scheduled fields: the plan replaced them in KubeFed."""
    inline: dict[str, Patch] = {}
    for cluster, patch in template.inline.items():
        kept = tuple(op for op in patch.ops if op.path not in paths)
        for op in patch.ops:
            if op.path in paths:
                warnings.append(
                    Problem(
                        f"this override of {op.path} for {cluster!r} has no effect: {schedule.label} sets"
                        " it from its plan, as KubeFed's scheduler replaced such overrides",
                        patch.doc.location(op.pointer + "/path"),
                    )
                )
        inline[cluster] = patch if len(kept) == len(patch.ops) else dataclasses.replace(patch, ops=kept)
    return inline


def warn_lost_replicas(
    applied: Sequence[Scheduled],
    final: Sequence[Template],
    clusters: Sequence[Cluster],
    warnings: list[Problem],
) -> None:
    """Replicas planned for clusters the workload's namespace does not reach run nowhere (as in KubeFed)."""
    for entry in applied:
        template = final[entry.index]
        reached = {c.name for c in clusters if template.placement.selects(c)}
        lost = {c: n for c, n in entry.plans[0].replicas.items() if n and c not in reached}
        if lost:
            where = ", ".join(f"{c} ({n})" for c, n in lost.items())
            warnings.append(
                Problem(
                    f"{entry.schedule.label}: {sum(lost.values())} replicas are planned for clusters outside"
                    f" the placement of namespace {template.ident.namespace!r} and run nowhere: {where}",
                    entry.schedule.doc.location(entry.schedule.pointer),
                )
            )
