"""Karmada's policies: plain manifests propagated as Karmada's controllers would, with no control plane.

A source is read this way when its templates hold a ``policy.karmada.io`` document. Then every plain
manifest is a resource template: a PropagationPolicy (of the object's namespace, first) or a
ClusterPropagationPolicy claims it (``pkg/detector``), its placement picks member clusters
(``pkg/scheduler``), Divided replicas are seated by static weight, OverridePolicies change it per cluster
(``pkg/util/overridemanager``), dependencies follow workloads, and Namespaces go everywhere
(``pkg/controllers/namespace``). The algorithms are in ``karmada_rules`` and ``karmada_override``; every
Karmada file followed is at the commit named there. Fields that need a live control plane (capacity,
spread over regions, preemption of a running claim) are located errors or warnings, never skipped.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fanout.document import Document, escape
from fanout.errors import Location, Problem
from fanout.formats import manifest
from fanout.formats.common import Context
from fanout.formats.karmada_override import OverrideFailure, apply_overriders
from fanout.formats.karmada_rules import (
    PRIORITY_MISMATCH,
    PRIORITY_WORDS,
    ClusterFacts,
    best_priority,
    cluster_matches,
    dependencies,
    divide,
    static_weights,
    untolerated_taint,
)
from fanout.kinds import group_of
from fanout.model import Cluster, Patch, PatchOp, Placement, Template
from fanout.validate import check

POLICY_GROUP = "policy.karmada.io"
CLUSTER_API = "cluster.karmada.io/v1alpha1"
PROPAGATION, CLUSTER_PROPAGATION = "PropagationPolicy", "ClusterPropagationPolicy"
OVERRIDE, CLUSTER_OVERRIDE = "OverridePolicy", "ClusterOverridePolicy"
POLICY_KINDS = (PROPAGATION, CLUSTER_PROPAGATION, OVERRIDE, CLUSTER_OVERRIDE)
# Karmada's own APIs and what its detector never propagates (pkg/util/apigroup.go).
KARMADA_GROUPS = {
    f"{name}.karmada.io"
    for name in ("cluster", "policy", "work", "config", "networking", "autoscaling", "remedy", "apps")
}
NOT_PROPAGATED = {("events.k8s.io", None), ("", "Event"), ("coordination.k8s.io", None)}
DEFAULT_NAMESPACE = "default"
SKIP_LABEL = "namespace.karmada.io/skip-auto-propagation"
# Labels and annotations Karmada writes on resource templates for its own bookkeeping.
BOOKKEEPING = re.compile(
    r"^(karmada\.io/managed$|[a-z.]*karmada\.io/permanent-id$|(resourcetemplate|resourcebinding|"
    r"clusterresourcebinding|work|propagationpolicy|clusterpropagationpolicy)\.karmada\.io/)"
)
# What Karmada's kube-apiserver defaults and its interpreter reads as replicas (pkg/resourceinterpreter/
# default/native/replica.go, revisereplica.go): (apiVersion, kind) -> the field ReviseReplica sets.
REPLICA_FIELDS = {
    ("apps/v1", "Deployment"): "replicas",
    ("apps/v1", "ReplicaSet"): "replicas",
    ("apps/v1", "StatefulSet"): "replicas",
    ("batch/v1", "Job"): "parallelism",
}
# Fields of a placement that need what only a running control plane knows.
LIVE_ONLY = {
    "spreadConstraints": "spreading over regions and zones needs each cluster's live capacity",
    "workloadAffinity": "it places by where other workloads run now, which only the control plane knows",
}


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def is_karmada(doc: Document) -> bool:
    data = doc.data
    return isinstance(data, dict) and group_of(str(data.get("apiVersion", ""))) in KARMADA_GROUPS


@dataclass(frozen=True)
class Policy:
    doc: Document
    kind: str
    name: str
    namespace: str  # "" for the cluster-wide kinds
    spec: Mapping[str, Any]

    @property
    def title(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    @property
    def priority(self) -> int:
        return int(self.spec.get("priority") or 0)


@dataclass
class _Binding:
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


def _policies(docs: Sequence[Document], ctx: Context) -> list[Policy]:
    found = []
    for doc in docs:
        kind = str(doc.data.get("kind"))
        if (doc.data.get("apiVersion"), kind) == (CLUSTER_API, "Cluster"):
            ctx.problems.add(
                "a Karmada Cluster is a member of the inventory: move it to the clusters folder",
                doc.location("/kind"),
            )
            continue
        if doc.data.get("apiVersion") != f"{POLICY_GROUP}/v1alpha1" or kind not in POLICY_KINDS:
            ctx.problems.add(
                f"{doc.data.get('apiVersion')} {kind} is a Karmada control-plane object that fanout cannot"
                " honour"
                " offline; it reads PropagationPolicy, ClusterPropagationPolicy, OverridePolicy and"
                " ClusterOverridePolicy (policy.karmada.io/v1alpha1)",
                doc.location("/kind"),
            )
            continue
        problems = check(doc, "karmada")
        if problems:
            ctx.problems.extend(problems)
            continue
        metadata = doc.data["metadata"]
        namespaced = kind in (PROPAGATION, OVERRIDE)
        namespace = str(metadata.get("namespace") or DEFAULT_NAMESPACE) if namespaced else ""
        policy = Policy(doc, kind, str(metadata["name"]), namespace, doc.data.get("spec") or {})
        _refuse_live_fields(policy, ctx)
        found.append(policy)
    seen: dict[tuple[str, str, str], Policy] = {}
    for policy in found:
        first = seen.setdefault((policy.kind, policy.namespace, policy.name), policy)
        if first is not policy:
            ctx.problems.add(
                f"{policy.title} is defined twice (first at {first.doc.location()})",
                policy.doc.location("/metadata/name"),
            )
    return found


def _refuse_live_fields(policy: Policy, ctx: Context) -> None:
    placement = policy.spec.get("placement")
    if not isinstance(placement, dict):
        return
    for key, why in LIVE_ONLY.items():
        if placement.get(key):
            ctx.problems.add(
                f"{policy.title}: placement.{key} cannot be honoured offline ({why}); fanout renders static"
                " placements only",
                policy.doc.location(f"/spec/placement/{key}"),
            )
    for index, term in enumerate(placement.get("clusterAffinities") or []):
        if isinstance(term, dict) and term.get("overflowAffinities"):
            ctx.problems.add(
                f"{policy.title}: overflowAffinities send replicas elsewhere when a member runs out of"
                " capacity, which fanout cannot know; remove them to render the primary affinity",
                policy.doc.location(f"/spec/placement/clusterAffinities/{index}/overflowAffinities"),
            )
    scheduler = policy.spec.get("schedulerName")
    if scheduler not in (None, "", "default-scheduler"):
        ctx.problems.add(
            f"{policy.title}: schedulerName {scheduler!r} is a scheduler of your own, whose decisions fanout"
            " cannot reproduce; it renders Karmada's default-scheduler",
            policy.doc.location("/spec/schedulerName"),
        )
    scheduling = placement.get("replicaScheduling")
    if isinstance(scheduling, dict) and scheduling.get("replicaSchedulingType") == "Divided":
        if scheduling.get("replicaDivisionPreference") == "Aggregated":
            ctx.problems.add(
                f"{policy.title}: replicaDivisionPreference Aggregated packs replicas by each cluster's live"
                " capacity, which fanout cannot know; use Weighted with a staticWeightList",
                policy.doc.location("/spec/placement/replicaScheduling/replicaDivisionPreference"),
            )
        preference = scheduling.get("weightPreference")
        if isinstance(preference, dict) and preference.get("dynamicWeight"):
            ctx.problems.add(
                f"{policy.title}: weightPreference.dynamicWeight divides by each cluster's live available"
                " replicas, which fanout cannot know; use a staticWeightList",
                policy.doc.location("/spec/placement/replicaScheduling/weightPreference/dynamicWeight"),
            )
    if policy.spec.get("preemption") == "Always":
        ctx.warnings.append(
            Problem(
                f"{policy.title}: preemption is behind Karmada's PropagationPolicyPreemption feature gate,"
                " off"
                " by default; fanout renders every claim fresh, as if no policy had claimed anything before",
                policy.doc.location("/spec/preemption"),
            )
        )


# --- which policy claims a resource -------------------------------------------------------------


def _resource_key(template: Template) -> tuple[str, str, str, str, Mapping[str, str]]:
    metadata = template.obj.get("metadata") or {}
    labels = _map(metadata.get("labels"))
    ident = template.ident
    return template.api_version, ident.kind, ident.namespace, ident.name, labels


def _claim(template: Template, policies: Sequence[Policy]) -> tuple[Policy | None, str]:
    """``getHighestPriorityPropagationPolicy`` over the namespace's PropagationPolicies, then the same over
    ClusterPropagationPolicies (``pkg/detector/compare.go``); also why each other candidate lost."""
    key = _resource_key(template)
    for kind in (PROPAGATION, CLUSTER_PROPAGATION):
        candidates = [
            (p, best_priority(*key, p.spec.get("resourceSelectors") or []))
            for p in policies
            if p.kind == kind and (kind == CLUSTER_PROPAGATION or p.namespace == template.ident.namespace)
        ]
        candidates = [(p, implicit) for p, implicit in candidates if implicit > PRIORITY_MISMATCH]
        if not candidates:
            continue
        winner, implicit = min(candidates, key=lambda c: (-c[0].priority, -c[1], c[0].name))
        why = f"{winner.title} claims it (priority {winner.priority}, matched by {PRIORITY_WORDS[implicit]})"
        losers = []
        for other, other_implicit in sorted(candidates, key=lambda c: c[0].name):
            if other is winner:
                continue
            if other.priority != winner.priority:
                reason = f"priority {other.priority} < {winner.priority}"
            elif other_implicit != implicit:
                reason = (
                    f"matched by {PRIORITY_WORDS[other_implicit]},"
                    f" less specific than {PRIORITY_WORDS[implicit]}"
                )
            else:
                reason = f"equal priority, and {winner.name!r} sorts before {other.name!r}"
            losers.append(f"{other.title} lost ({reason})")
        if kind == PROPAGATION:
            others = [p.title for p in policies if p.kind == CLUSTER_PROPAGATION]
            if any(
                best_priority(*key, p.spec.get("resourceSelectors") or [])
                for p in policies
                if p.title in others
            ):
                losers.append(
                    "ClusterPropagationPolicies are consulted only when no PropagationPolicy matches"
                )
        return winner, "; ".join([why, *losers])
    return None, ""


# --- placement and replicas -----------------------------------------------------------------------


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
    spec = _map(template.obj.get("spec"))
    key = (template.api_version, template.ident.kind)
    if key == ("v1", "Pod"):
        return None, 1, True
    field_name = REPLICA_FIELDS.get(key)
    if field_name is None:
        return None, 0, False
    if field_name == "replicas":
        replicas = spec.get("replicas", 1)
    else:
        parallelism = spec.get("parallelism", 1)
        completions = spec.get("completions", 1 if "parallelism" not in spec else parallelism)
        replicas = min(parallelism, completions) if isinstance(completions, int) else parallelism
    replicas = replicas if isinstance(replicas, int) else 0
    return field_name, replicas, replicas > 0 or _has_requirements(template.obj, key[1])


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


def _bind(template: Template, policy: Policy, clusters: Sequence[ClusterFacts], ctx: Context) -> _Binding:
    placement = policy.spec.get("placement") or {}
    binding = _Binding(template, policy)
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


def _suspend(binding: _Binding, policy: Policy, ctx: Context) -> None:
    """``suspension``: a suspended Work reaches no member, so its cluster gets nothing (and is told)."""
    suspension = _map(policy.spec.get("suspension"))
    named = _map(suspension.get("dispatchingOnClusters")).get("clusterNames") or []
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


def _divide_completions(binding: _Binding, template: Template, replicas: int) -> None:
    """``divideReplicasByJobCompletions``: a divided Job's completions follow its clusters' replicas."""
    if template.ident.kind != "Job" or replicas <= 0:
        return
    spec = template.obj.get("spec") or {}
    completions = spec.get("completions", 1 if "parallelism" not in spec else None)
    if isinstance(completions, int):
        seats, _tie = divide(completions, {n: r for n, r in binding.clusters.items()})
        binding.completions = {n: seats.get(n, 0) for n in binding.clusters}


# --- the per-cluster patches --------------------------------------------------------------------


class _Patches:
    """Interns patches, so that clusters with the same steps share them (and the render's memo)."""

    def __init__(self) -> None:
        self.made: dict[str, Patch] = {}

    def make(
        self, doc: Document, name: str, ops: Sequence[PatchOp], because: str, pointer: str = ""
    ) -> Patch:
        body = json.dumps([(o.op, o.path, o.pointer, o.value) for o in ops], sort_keys=True, default=str)
        key = f"{doc.label}{pointer}@{hashlib.sha256(body.encode()).hexdigest()[:16]}"
        found = self.made.get(key)
        if found is None:
            found = self.made[key] = Patch(key, f"{doc.label} ({name})", doc, tuple(ops), because=because)
        return found


def _spec_value(obj: Mapping[str, Any], name: str) -> Any:
    spec = obj.get("spec")
    return spec.get(name) if isinstance(spec, dict) else None


def _revise_ops(binding: _Binding, cluster: str, obj: Mapping[str, Any]) -> list[PatchOp]:
    ops = []
    pointer = "/spec/placement/replicaScheduling"
    wanted = [(binding.revise, binding.clusters[cluster])] if binding.revise else []
    if binding.completions is not None:
        wanted.append(("completions", binding.completions[cluster]))
    for name, value in wanted:
        current = _spec_value(obj, name)
        default = 1 if name != "completions" or _spec_value(obj, "parallelism") is None else None
        if current is None and (default is None or value == default):
            continue  # left to the API server's default, which is this value (or the field stays unset)
        if current != value:
            ops.append(
                PatchOp("replace" if current is not None else "add", f"/spec/{name}", pointer, value, True)
            )
    return ops


def _override_policies(template: Template, policies: Sequence[Policy]) -> list[tuple[Policy, int]]:
    """Every matching ClusterOverridePolicy, then the OverridePolicies of the object's namespace, each group
    by implicit priority then name (``getOverridersFromOverridePolicies``)."""
    key = _resource_key(template)
    ordered: list[tuple[Policy, int]] = []
    for kind in (CLUSTER_OVERRIDE, OVERRIDE):
        if kind == OVERRIDE and not template.ident.namespace:
            continue
        matching = []
        for policy in policies:
            if policy.kind != kind or (kind == OVERRIDE and policy.namespace != template.ident.namespace):
                continue
            selectors = policy.spec.get("resourceSelectors") or []
            implicit = best_priority(*key, selectors) if selectors else 1
            if implicit > PRIORITY_MISMATCH:
                matching.append((policy, implicit))
        ordered += sorted(matching, key=lambda m: (m[1], m[0].name))
    return ordered


def _rules(policy: Policy) -> list[tuple[str, Mapping[str, Any] | None, Mapping[str, Any]]]:
    rules = policy.spec.get("overrideRules")
    if rules:
        return [
            (f"/spec/overrideRules/{i}", r.get("targetCluster"), r.get("overriders") or {})
            for i, r in enumerate(rules)
        ]
    return [("/spec", policy.spec.get("targetCluster"), policy.spec.get("overriders") or {})]


PRUNED = (
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "managedFields",
    "resourceVersion",
    "selfLink",
    "uid",
    "ownerReferences",
    "finalizers",
)


def _prune_ops(obj: Mapping[str, Any], kind: str) -> list[PatchOp]:
    """``prune.RemoveIrrelevantFields`` with ``RemoveJobTTLSeconds``, as the Work is made."""
    metadata = _map(obj.get("metadata"))
    paths = [f"/metadata/{name}" for name in PRUNED if name in metadata]
    if "status" in obj:
        paths.append("/status")
    annotations = _map(metadata.get("annotations"))
    spec = _map(obj.get("spec"))
    if kind == "Deployment":
        for name in ("deployment.kubernetes.io/revision", "deployment.kubernetes.io/revision-history"):
            if name in annotations:
                paths.append("/metadata/annotations/" + escape(name))
    if kind == "Service" and "clusterIP" in spec and spec["clusterIP"] != "None":
        paths += ["/spec/clusterIP"] + (["/spec/clusterIPs"] if "clusterIPs" in spec else [])
    if kind == "Job":
        if "ttlSecondsAfterFinished" in spec:
            paths.append("/spec/ttlSecondsAfterFinished")
        if not spec.get("manualSelector"):
            for base, names in (
                ("/spec/selector/matchLabels", ("controller-uid", "batch.kubernetes.io/controller-uid")),
                (
                    "/spec/template/metadata/labels",
                    (
                        "controller-uid",
                        "job-name",
                        "batch.kubernetes.io/controller-uid",
                        "batch.kubernetes.io/job-name",
                    ),
                ),
            ):
                node: Any = obj
                for token in base.strip("/").split("/"):
                    node = node.get(token) if isinstance(node, dict) else None
                if isinstance(node, dict):
                    paths += [f"{base}/{escape(n)}" for n in names if n in node]
    if kind == "PersistentVolumeClaim" and annotations.get("volume.kubernetes.io/selected-node"):
        paths.append("/metadata/annotations/volume.kubernetes.io~1selected-node")
    is_token = kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token"
    if is_token and "kubernetes.io/service-account.uid" in annotations:
        paths.append("/metadata/annotations/kubernetes.io~1service-account.uid")
    ops = [PatchOp("remove", path, "") for path in paths]
    if kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        ops.append(PatchOp("add", "/data", "", None, True))  # SetNestedField(nil): data: null
    secrets = obj.get("secrets")
    if kind == "ServiceAccount" and isinstance(secrets, list) and secrets:
        # removeServiceAccountIrrelevantField removes while it walks forward, so the secret after each
        # removed token secret is not looked at; kept as Karmada does it.
        kept, index, prefix = list(secrets), 0, f"{metadata.get('name')}-token-"
        while index < len(kept):
            item = kept[index]
            if isinstance(item, dict) and str(item.get("name", "")).startswith(prefix):
                del kept[index]
            index += 1
        if kept != secrets:
            ops.append(PatchOp("replace", "/secrets", "", kept, True))
    return ops


def _strip_bookkeeping(obj: dict[str, Any]) -> dict[str, Any]:
    """The template without Karmada's own labels and annotations (an object exported from a live Karmada
    carries them)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return obj
    changed = dict(metadata)
    for name in ("labels", "annotations"):
        values = metadata.get(name)
        if isinstance(values, dict) and any(BOOKKEEPING.match(str(k)) for k in values):
            kept = {k: v for k, v in values.items() if not BOOKKEEPING.match(str(k))}
            if kept:
                changed[name] = kept
            else:
                del changed[name]
    return {**obj, "metadata": changed} if changed != metadata else obj


# --- the front end ----------------------------------------------------------------------------------


def _skipped_namespace(namespace: str, ctx: Context) -> bool:
    """``names.IsReservedNamespace`` or ``--skipped-propagating-namespaces`` (anchored regexps)."""
    if namespace in ("karmada-system", "karmada-cluster") or namespace.startswith("karmada-es-"):
        return True
    return any(re.fullmatch(p, namespace) for p in ctx.config.karmada_skipped_namespaces)


def _syncs_namespace(template: Template, ctx: Context) -> bool:
    """``namespaceShouldBeSynced`` and the skip-auto-propagation label."""
    name = template.ident.name
    labels = (template.obj.get("metadata") or {}).get("labels") or {}
    if name == DEFAULT_NAMESPACE or _skipped_namespace(name, ctx):
        return False
    return str(labels.get(SKIP_LABEL, "")).lower() != "true"


def _not_propagated(template: Template) -> str | None:
    ident = template.ident
    if (ident.group, None) in NOT_PROPAGATED or (ident.group, ident.kind) in NOT_PROPAGATED:
        return f"Karmada's detector never propagates {template.api_version} {ident.kind}"
    return None


def build(policy_docs: Sequence[Document], manifest_docs: Sequence[Document], ctx: Context) -> list[Template]:
    """Every resource template of a Karmada source, placed and patched per cluster as Karmada would."""
    policies = _policies(policy_docs, ctx)
    if ctx.config.default_namespace is None:  # what kubectl apply gives an object written without one
        ctx = replace(ctx, config=replace(ctx.config, default_namespace=DEFAULT_NAMESPACE))
    members = [facts(c) for c in ctx.clusters]
    templates: list[Template] = []
    for doc in manifest_docs:
        if manifest.has_placement_annotations(doc):
            ctx.problems.add(
                "in a Karmada source its policies place every object: fanout.dev/clusters and"
                " fanout.dev/placement would be ignored, so they are refused; place it with a"
                " PropagationPolicy",
                doc.location("/metadata/annotations"),
            )
            continue
        built = manifest.build(doc, ctx, where=Placement("/metadata"))
        if built is not None:
            templates.append(
                replace(built, obj=_strip_bookkeeping(dict(built.obj)), refs={}, escapes=False, uses={})
            )
    # CustomResourceDefinitions first: a member serves a CRD's API once Karmada has propagated it there
    # (its status then lists it), so the custom resources are scheduled against the converged state.
    crds = [t for t in templates if t.ident.kind == "CustomResourceDefinition"]
    bound = {id(t): _binding_of(t, policies, members, ctx) for t in crds}
    members = [_with_crd_apis(m, [bound[id(t)] for t in crds]) for m in members]
    bindings = [bound.get(id(t)) or _binding_of(t, policies, members, ctx) for t in templates]
    _follow_dependencies(bindings, ctx)
    patches = _Patches()
    return [_finish(b, policies, members, patches, ctx) for b in bindings]


def _binding_of(
    template: Template, policies: Sequence[Policy], members: Sequence[ClusterFacts], ctx: Context
) -> _Binding:
    ident = template.ident
    where = template.doc.location()
    skipped = _not_propagated(template)
    if skipped is None and ident.namespace and _skipped_namespace(ident.namespace, ctx):
        skipped = f"Karmada does not propagate objects in namespace {ident.namespace!r} (reserved or skipped)"
    if skipped is not None:
        ctx.warnings.append(Problem(f"{ident} is not rendered: {skipped}", where))
        return _Binding(template, None, note=skipped, skipped=True)
    policy, note = _claim(template, policies)
    binding = _bind(template, policy, members, ctx) if policy is not None else _Binding(template, None)
    binding.note = "; ".join(n for n in (note, binding.note) if n)
    if ident.kind == "Namespace" and not ident.group and _syncs_namespace(template, ctx):
        # The namespace sync controller sends it to every member, taints and APIs notwithstanding.
        for cluster in members:
            binding.clusters.setdefault(cluster.name, 0)
            binding.reasons[cluster.name] = (
                "Karmada's namespace sync controller sends Namespaces to every member"
            )
        binding.note = binding.note or "Karmada's namespace sync controller sends Namespaces to every member"
    elif policy is None:
        why = "no PropagationPolicy or ClusterPropagationPolicy claims it, so Karmada does not propagate it"
        if ident.kind == "Namespace":
            why = (
                f"namespace {ident.name!r} is not synced (default, reserved, skipped or labelled"
                f" {SKIP_LABEL})"
            )
            why += " and no ClusterPropagationPolicy claims it"
        binding.note = why  # said in a warning unless a workload takes it along (propagateDeps)
    return binding


def _with_crd_apis(member: ClusterFacts, crds: Sequence[_Binding]) -> ClusterFacts:
    if member.apis is None:
        return member
    served = set(member.apis)
    for binding in crds:
        if member.name not in binding.clusters:
            continue
        spec = _map(binding.template.obj.get("spec"))
        group, kind = str(spec.get("group", "")), str(_map(spec.get("names")).get("kind", ""))
        for version in spec.get("versions") or []:
            if isinstance(version, dict) and version.get("served", True):
                served.add((f"{group}/{version.get('name')}", kind))
    return member._replace(apis=frozenset(served))


def _follow_dependencies(bindings: Sequence[_Binding], ctx: Context) -> None:
    """``propagateDeps``: what a workload references follows it to the clusters that got it."""
    by_ref = {
        (b.template.ident.namespace, b.template.ident.kind, b.template.ident.name): b
        for b in bindings
        if b.template.api_version == "v1" or b.template.ident.kind == "Ingress"
    }
    for binding in bindings:
        policy = binding.policy
        if policy is None or not policy.spec.get("propagateDeps") or not binding.clusters:
            continue
        template = binding.template
        for kind, name in dependencies(template.api_version, template.ident.kind, template.obj):
            target = by_ref.get((template.ident.namespace, kind, name))
            if target is None or target.template.api_version != "v1":
                ctx.warnings.append(
                    Problem(
                        f"{template.ident} references {kind} {template.ident.namespace}/{name}, which is not"
                        f" among the templates: {policy.title} propagates dependencies, but there is none to"
                        " propagate",
                        template.doc.location(),
                    )
                )
                continue
            for cluster in binding.clusters:
                if cluster not in target.clusters:
                    target.required_by.setdefault(cluster, str(template.ident))


def _finish(
    binding: _Binding,
    policies: Sequence[Policy],
    members: Sequence[ClusterFacts],
    patches: _Patches,
    ctx: Context,
) -> Template:
    template = binding.template
    clusters = dict(binding.clusters)
    reasons = dict(binding.reasons)
    for cluster, workload in binding.required_by.items():
        clusters.setdefault(cluster, 0)
        reasons[cluster] = f"a dependency of {workload}, which propagateDeps sends here"
    steps: dict[str, tuple[Patch, ...]] = {}
    facts_of = {c.name: c for c in members}
    failures: dict[tuple[Location, str], list[str]] = {}
    for cluster in sorted(clusters):
        obj = copy.deepcopy(dict(template.obj))
        chosen: list[Patch] = []
        if binding.policy is not None and cluster in binding.clusters:
            revised = _revise_ops(binding, cluster, obj)
            if revised:
                chosen.append(
                    patches.make(
                        binding.policy.doc,
                        "replicas for this cluster",
                        revised,
                        f"{binding.policy.title}: {binding.mode} replicas,"
                        f" {binding.clusters[cluster]} of {binding.total} to this cluster",
                        "#replicas",
                    )
                )
                obj = _apply(obj, revised)
        try:
            for policy, _implicit in _override_policies(template, policies):
                for pointer, target, overriders in _rules(policy):
                    if target is not None and not cluster_matches(facts_of[cluster], target):
                        continue
                    obj, rule_ops = apply_overriders(obj, template.ident.kind, overriders, pointer)
                    _keep_identity(template, obj, pointer)
                    if rule_ops:
                        because = f"{policy.title}, rule at {pointer.removeprefix('/spec/') or 'spec'}"
                        chosen.append(patches.make(policy.doc, because, rule_ops, because, pointer))
        except OverrideFailure as exc:
            message = f"{policy.title} cannot be applied to {template.ident}: {exc.message}"
            failures.setdefault((policy.doc.location(exc.pointer), message), []).append(cluster)
            continue
        pruned = _prune_ops(obj, template.ident.kind)
        if pruned:
            chosen.append(
                patches.make(
                    template.doc,
                    "fields Karmada prunes before applying",
                    pruned,
                    "Karmada removes these fields before it applies the object",
                    "#prune",
                )
            )
        steps[cluster] = tuple(chosen)
    if not clusters and binding.policy is None and not binding.skipped:
        ctx.warnings.append(
            Problem(f"{template.ident} is not rendered: {binding.note}", template.doc.location())
        )
    for (where, message), names in failures.items():
        shown = ", ".join(names)
        ctx.problems.add(f"{message} (in cluster{'s' if len(names) > 1 else ''} {shown})", where)
    doc = binding.policy.doc if binding.policy is not None else None
    pointer = "/spec/placement" if doc is not None else "/metadata"
    placement = Placement(
        pointer, names=tuple(sorted(clusters)), names_decide=True, doc=doc, note=binding.note, reasons=reasons
    )
    return replace(template, placement=placement, steps=steps)


def _apply(obj: dict[str, Any], ops: Sequence[PatchOp]) -> dict[str, Any]:
    for op in ops:
        node: Any = obj
        tokens = op.path.strip("/").split("/")
        for token in tokens[:-1]:
            node = node[token]
        node[tokens[-1]] = op.value
    return obj


def _keep_identity(template: Template, obj: Mapping[str, Any], pointer: str) -> None:
    metadata = _map(obj.get("metadata"))
    written = template.obj["metadata"]
    if (
        obj.get("apiVersion") != template.api_version
        or obj.get("kind") != template.ident.kind
        or metadata.get("name") != written.get("name")
        or metadata.get("namespace") != written.get("namespace")
    ):
        raise OverrideFailure(
            pointer,
            "it changes the object's apiVersion, kind, name or namespace, which fanout"
            " does not follow (the rendered file is named by them)",
        )
