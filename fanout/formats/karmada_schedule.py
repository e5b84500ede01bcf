"""Where Karmada's scheduler sends a resource and with how many replicas (``pkg/scheduler``), offline.

The filters (cluster affinity, taints, API enablement), then Duplicated or Divided by static weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fanout.core.errors import Problem
from fanout.core.model import Cluster, Template
from fanout.formats.common import Context
from fanout.formats.karmada_policy import Policy
from fanout.formats.karmada_rules import (
    ClusterFacts,
    cluster_matches,
    divide,
    static_weights,
    untolerated_taint,
)

# What Karmada's kube-apiserver defaults and its interpreter reads as replicas (pkg/resourceinterpreter/
# default/native/replica.go, revisereplica.go): (apiVersion, kind) -> the field ReviseReplica sets.
REPLICA_FIELDS = {
    ("apps/v1", "Deployment"): "replicas",
    ("apps/v1", "ReplicaSet"): "replicas",
    ("apps/v1", "StatefulSet"): "replicas",
    ("batch/v1", "Job"): "parallelism",
}


def as_map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class Binding:
    """What a propagation policy (or the namespace sync) decided for one resource."""

    template: Template
    policy: Policy | None
    clusters: dict[str, int] = field(default_factory=dict)  # cluster -> replicas
    reasons: dict[str, str] = field(default_factory=dict)
    note: str = ""
    revise: str | None = None  # the replica field set per cluster
    completions: dict[str, int] | None = None
    required_by: dict[str, str] = field(default_factory=dict)  # cluster -> the workload it follows
    total: int = 0  # the replicas Karmada reads from the template
    mode: str = "Duplicated"
    skipped: bool = False  # Karmada never propagates it, whatever claims it


def facts(cluster: Cluster) -> ClusterFacts:
    f = cluster.facts
    apis = f.get("apis")
    return ClusterFacts(
        cluster.name,
        cluster.labels,
        str(f.get("provider", "")),
        str(f.get("region", "")),
        tuple(f.get("zones", ())),
        tuple(f.get("taints", ())),
        frozenset(apis) if apis is not None else None,
    )


def _affinity_terms(placement: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    if isinstance(placement.get("clusterAffinity"), dict):
        return [("/spec/placement/clusterAffinity", placement["clusterAffinity"])]
    terms = placement.get("clusterAffinities")
    if isinstance(terms, list) and terms:
        return [
            (f"/spec/placement/clusterAffinities/{i}", t) for i, t in enumerate(terms) if isinstance(t, dict)
        ]
    return [("/spec/placement", {})]


def _feasible(
    template: Template, placement: Mapping[str, Any], clusters: Sequence[ClusterFacts]
) -> tuple[list[ClusterFacts], dict[str, str], str]:
    """The clusters the scheduler's filters keep (affinity, taints, API enablement), the reason for each
    cluster, and which affinity term chose them (the first that yields clusters, offline)."""
    tolerations = placement.get("clusterTolerations") or []
    gvk = (template.api_version, template.ident.kind)
    reasons: dict[str, str] = {}
    for pointer, affinity in _affinity_terms(placement):
        kept = []
        for cluster in clusters:
            if not cluster_matches(cluster, affinity):
                reasons[cluster.name] = (
                    f"excluded by the cluster affinity at {pointer.removeprefix('/spec/')}"
                )
                continue
            taint = untolerated_taint(cluster, tolerations)
            if taint is not None:
                reasons[cluster.name] = f"has taint {taint}, which clusterTolerations do not tolerate"
                continue
            if cluster.apis is not None and gvk not in cluster.apis:
                reasons[cluster.name] = f"does not list {gvk[0]} {gvk[1]} in status.apiEnablements"
                continue
            reasons[cluster.name] = "passes the cluster affinity, taints and API enablement"
            kept.append(cluster)
        if kept:
            return kept, reasons, pointer
    return [], reasons, ""


def _replica_total(template: Template) -> tuple[str | None, int, bool]:
    """(field ReviseReplica sets, replicas Karmada reads, whether it is a workload), with the API
    server's defaults (replicas 1; a Job's parallelism 1 and completions 1 when neither is written)."""
    spec = as_map(template.obj.get("spec"))
    key = (template.api_version, template.ident.kind)
    if key == ("v1", "Pod"):
        return None, 1, True
    field_name = REPLICA_FIELDS.get(key)
    if field_name is None:
        return None, 0, False
    if field_name == "replicas":
        replicas = spec.get("replicas", 1)
    else:
        parallelism, completions = job_counts(spec)
        # jobReplica: completions defaults to parallelism there (ptr.Deref), not to the API server's 1
        replicas = min(parallelism, completions) if isinstance(completions, int) else parallelism
    replicas = replicas if isinstance(replicas, int) else 0
    return field_name, replicas, replicas > 0 or _has_requirements(template.obj, key[1])


def job_counts(spec: Mapping[str, Any]) -> tuple[Any, Any]:
    """A Job's parallelism and completions as the API server defaults them: parallelism 1; completions 1 when
    neither is written, else as written (None: unset, a work queue)."""
    return spec.get("parallelism", 1), spec.get("completions", 1 if "parallelism" not in spec else None)


def _has_requirements(obj: Mapping[str, Any], kind: str) -> bool:
    """``GenerateReplicaRequirements`` is not nil: resource requests (or limits, which default them), a node
    selector, node affinity or tolerations in the pod template."""
    spec: Any = obj.get("spec")
    for token in ("template", "spec"):
        spec = spec.get(token) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return False
    if (
        spec.get("nodeSelector")
        or spec.get("tolerations")
        or (spec.get("affinity") or {}).get("nodeAffinity")
    ):
        return True
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    return any(
        isinstance(c, dict)
        and isinstance(c.get("resources"), dict)
        and (c["resources"].get("requests") or c["resources"].get("limits"))
        for c in containers
    )


def bind(template: Template, policy: Policy, clusters: Sequence[ClusterFacts], ctx: Context) -> Binding:
    placement = policy.spec.get("placement") or {}
    binding = Binding(template, policy)
    candidates, binding.reasons, term = _feasible(template, placement, clusters)
    if not candidates:
        ctx.warnings.append(
            Problem(
                f"{template.ident}: no member cluster fits the placement of {policy.title}, so Karmada"
                " schedules it nowhere",
                policy.doc.location("/spec/placement"),
            )
        )
        return binding
    field_name, total, workload = _replica_total(template)
    scheduling = placement.get("replicaScheduling") or {}
    divided = scheduling.get("replicaSchedulingType") == "Divided"
    binding.total, binding.mode = total, "Divided" if divided else "Duplicated"
    where = term.removeprefix("/spec/") or "every cluster"
    binding.note = f"{'Divided' if divided else 'Duplicated'} over {where}"
    if not workload:  # nothing to divide: every selected member gets it (AssignReplicas)
        binding.note = f"no replicas to divide, so to every member {where} selects"
        binding.clusters = {c.name: 0 for c in candidates}
        _suspend(binding, policy, ctx)
        return binding
    if divided:
        preference = scheduling.get("weightPreference")
        rules = preference.get("staticWeightList") if isinstance(preference, dict) else None
        weights = static_weights(candidates, rules)
        seats, tie = divide(total, weights)
        if tie:
            ctx.warnings.append(
                Problem(
                    f"{template.ident}: dividing {total} replicas by weight tied, and Karmada breaks"
                    " such ties by the resource's UID, which only a live API server assigns; fanout"
                    " seats them as Karmada does for an empty UID (by cluster name). Make the weights"
                    " or the replicas divide evenly",
                    policy.doc.location("/spec/placement/replicaScheduling"),
                )
            )
        assigned = seats
    else:
        assigned = {c.name: total for c in candidates}
    # removeZeroReplicasCluster, then attachZeroReplicasCluster when empty workloads propagate
    # (pkg/scheduler/core/common.go, generic_scheduler.go): a member given 0 replicas gets nothing by default.
    binding.clusters = {n: r for n, r in sorted(assigned.items()) if r > 0}
    if ctx.config.karmada_empty_workloads:
        binding.clusters = {c.name: assigned.get(c.name, 0) for c in candidates}
    for cluster in candidates:
        if cluster.name not in binding.clusters:
            binding.reasons[cluster.name] = f"gets 0 of the {total} replicas, so nothing is propagated to it"
    if divided:
        _divide_completions(binding, template, total)
    binding.revise = field_name
    _suspend(binding, policy, ctx)
    return binding


def _suspend(binding: Binding, policy: Policy, ctx: Context) -> None:
    """``suspension``: a suspended Work reaches no member, so its cluster gets nothing (and is told)."""
    suspension = as_map(policy.spec.get("suspension"))
    named = as_map(suspension.get("dispatchingOnClusters")).get("clusterNames") or []
    held = [c for c in binding.clusters if suspension.get("dispatching") or c in named]
    for cluster in held:
        del binding.clusters[cluster]
        binding.reasons[cluster] = f"is suspended by {policy.title}'s suspension, so nothing is dispatched"
    if held:
        ctx.warnings.append(
            Problem(
                f"{binding.template.ident} is not rendered for {', '.join(held)}: {policy.title} suspends"
                " dispatching there",
                policy.doc.location("/spec/suspension"),
            )
        )


def _divide_completions(binding: Binding, template: Template, replicas: int) -> None:
    """``divideReplicasByJobCompletions``: a divided Job's completions follow its clusters' replicas."""
    if template.ident.kind != "Job" or replicas <= 0:
        return
    spec = template.obj.get("spec") or {}
    _parallelism, completions = job_counts(spec)
    if isinstance(completions, int):
        seats, _tie = divide(completions, {n: r for n, r in binding.clusters.items()})
        binding.completions = {n: seats.get(n, 0) for n in binding.clusters}


def with_crd_apis(member: ClusterFacts, crds: Sequence[Binding]) -> ClusterFacts:
    if member.apis is None:
        return member
    served = set(member.apis)
    for binding in crds:
        if member.name not in binding.clusters:
            continue
        spec = as_map(binding.template.obj.get("spec"))
        group, kind = str(spec.get("group", "")), str(as_map(spec.get("names")).get("kind", ""))
        for version in spec.get("versions") or []:
            if isinstance(version, dict) and version.get("served", True):
                served.add((f"{group}/{version.get('name')}", kind))
    return member._replace(apis=frozenset(served))
