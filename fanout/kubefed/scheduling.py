"""``ReplicaSchedulingPreference``: per-cluster replicas of a federated Deployment or ReplicaSet.

As in KubeFed, the preference decides both where the workload goes (every cluster that takes part
in the plan, 0 replicas included) and how many replicas each copy runs. The replicas are set by a
patch applied before the template's inline overrides and the Override documents.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from fanout.errors import Problem, Problems
from fanout.kubefed.documents import api_kind
from fanout.kubefed.rsp import WILDCARD, ClusterPreference, Plan, PlanRequest, plan
from fanout.load import Document, escape
from fanout.model import Cluster, Patch, PatchOp, Placement, Template
from fanout.validate import check, did_you_mean, not_a_mapping

REPLICAS_PATH = "/spec/replicas"


@dataclass(frozen=True, eq=False)
class Schedule:
    doc: Document
    target_kind: str  # the federated kind, e.g. FederatedDeployment
    namespace: str
    name: str
    total: int
    preferences: Mapping[str, ClusterPreference]
    intersect: bool

    @property
    def kind(self) -> str:
        """The kind of the rendered objects, e.g. Deployment."""
        return self.target_kind[len("Federated") :]

    def targets(self, template: Template) -> bool:
        ident = template.ident
        return template.federated and (ident.kind, ident.namespace, ident.name) == (
            self.kind,
            self.namespace,
            self.name,
        )

    def __str__(self) -> str:
        return f"ReplicaSchedulingPreference {self.namespace}/{self.name}"


@dataclass(frozen=True, eq=False)
class Scheduled:
    """A schedule applied to its target: the plan, and where the target is among the templates."""

    schedule: Schedule
    plan: Plan
    index: int  # of the target among the templates


def read_schedules(docs: Iterable[Document], known: set[str], problems: Problems) -> tuple[Schedule, ...]:
    schedules: list[Schedule] = []
    seen: dict[tuple[str, str, str], Schedule] = {}
    for doc in docs:
        if not_a_mapping(doc, problems):
            continue
        found = check(doc, "replicaschedulingpreference")
        if found:
            problems.extend(found)
            continue
        metadata, spec = doc.data["metadata"], doc.data["spec"]
        ok = True
        preferences: dict[str, ClusterPreference] = {}
        for cluster, raw in (spec.get("clusters") or {}).items():
            pointer = f"/spec/clusters/{escape(cluster)}"
            if cluster != WILDCARD and cluster not in known:
                # KubeFed skipped such entries silently; a typo here would quietly starve a cluster.
                problems.add(
                    f"unknown cluster {cluster!r}{did_you_mean(cluster, known)}", doc.location(pointer)
                )
                ok = False
            low, high = raw.get("minReplicas", 0), raw.get("maxReplicas")
            if high is not None and low > high:
                problems.add(f"minReplicas {low} is greater than maxReplicas {high}", doc.location(pointer))
                ok = False
            preferences[cluster] = ClusterPreference(raw.get("weight", 0), low, high)
        schedule = Schedule(
            doc,
            spec["targetKind"],
            metadata["namespace"],
            metadata["name"],
            spec["totalReplicas"],
            preferences,
            bool(spec.get("intersectWithClusterSelector", False)),
        )
        key = (schedule.target_kind, schedule.namespace, schedule.name)
        if key in seen:
            first = seen[key].doc.location()
            problems.add(f"a second {schedule} (first at {first})", doc.location("/metadata/name"))
            continue
        seen[key] = schedule
        if ok:
            schedules.append(schedule)
    return tuple(schedules)


def _written(docs: Iterable[Document], schedule: Schedule) -> bool:
    """Whether the target is among the template documents, built or not (its own errors are reported)."""
    for doc in docs:
        metadata = doc.data.get("metadata") if isinstance(doc.data, dict) else None
        if (
            api_kind(doc)[1] == schedule.target_kind
            and isinstance(metadata, dict)
            and (metadata.get("namespace"), metadata.get("name")) == (schedule.namespace, schedule.name)
        ):
            return True
    return False


def _replicas_patch(schedule: Schedule, cluster: str, replicas: int) -> Patch:
    op = PatchOp("add", REPLICAS_PATH, "/spec/totalReplicas", replicas, True)
    label = f"{schedule.doc.label} (replica scheduling: {replicas} of {schedule.total})"
    return Patch(f"{schedule.doc.label}@{cluster}", label, schedule.doc, (op,))


def apply_schedules(
    templates: Sequence[Template],
    template_docs: Sequence[Document],
    clusters: Sequence[Cluster],
    schedules: Iterable[Schedule],
    problems: Problems,
    warnings: list[Problem],
) -> tuple[list[Template], list[Scheduled]]:
    """Templates with each schedule applied, and what was applied."""
    result = list(templates)
    applied: list[Scheduled] = []
    for schedule in schedules:
        index = next((i for i, t in enumerate(result) if schedule.targets(t)), None)
        if index is None:
            if not _written(template_docs, schedule):
                problems.add(
                    f"{schedule} schedules {schedule.target_kind} {schedule.namespace}/{schedule.name},"
                    " which is not among the templates",
                    schedule.doc.location("/metadata/name"),
                )
            continue
        template = result[index]
        # Without intersectWithClusterSelector KubeFed overwrote the target's placement with the plan.
        eligible = [c.name for c in clusters if not schedule.intersect or template.placement.selects(c)]
        planned = plan(
            PlanRequest(
                schedule.total, tuple(eligible), schedule.preferences, schedule.namespace, schedule.name
            )
        )
        participants = tuple(planned.replicas)
        result[index] = dataclasses.replace(
            template,
            placement=Placement(
                template.placement.pointer,
                names=participants,
                replaced=template.placement,
                because=f"{schedule} places it on the clusters its plan includes"
                + (" (within the template's placement)" if schedule.intersect else ""),
                because_at=schedule.doc.location("/spec"),
            ),
            scheduled={c: _replicas_patch(schedule, c, n) for c, n in planned.replicas.items()},
        )
        applied.append(Scheduled(schedule, planned, index))
        if planned.unassigned:
            why = (
                "each cluster that takes part is at its maxReplicas or has weight 0"
                if participants
                else 'no eligible cluster has an entry in spec.clusters, nor does "*"'
            )
            warnings.append(
                Problem(
                    f"{schedule}: {planned.unassigned} of {schedule.total} replicas are not placed: {why}",
                    schedule.doc.location("/spec/totalReplicas"),
                )
            )
        _warn_replaced_overrides(template, participants, schedule, warnings)
    return result, applied


def _warn_replaced_overrides(
    template: Template, participants: Iterable[str], schedule: Schedule, warnings: list[Problem]
) -> None:
    """KubeFed's scheduler overwrote a replicas override; in fanout the inline override wins."""
    for cluster in participants:
        patch = template.inline.get(cluster)
        for op in patch.ops if patch is not None else ():
            if op.path == REPLICAS_PATH:
                warnings.append(
                    Problem(
                        f"this override of {REPLICAS_PATH} for {cluster!r} is applied after {schedule}"
                        " and wins; KubeFed's scheduler replaced it",
                        template.doc.location(op.pointer + "/path"),
                    )
                )


def warn_lost_replicas(
    applied: Iterable[Scheduled],
    final: Sequence[Template],
    clusters: Sequence[Cluster],
    warnings: list[Problem],
) -> None:
    """Replicas planned for clusters the workload's namespace does not reach run nowhere (as in KubeFed)."""
    for entry in applied:
        template = final[entry.index]
        reached = {c.name for c in clusters if template.placement.selects(c)}
        lost = {c: n for c, n in entry.plan.replicas.items() if n and c not in reached}
        if lost:
            where = ", ".join(f"{c} ({n})" for c, n in lost.items())
            warnings.append(
                Problem(
                    f"{entry.schedule}: {sum(lost.values())} replicas are planned for clusters outside the"
                    f" placement of namespace {entry.schedule.namespace!r} and run nowhere: {where}",
                    entry.schedule.doc.location("/spec/totalReplicas"),
                )
            )
