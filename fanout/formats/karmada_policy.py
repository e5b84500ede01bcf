"""Karmada's policies read: which PropagationPolicy claims a resource, which OverridePolicies change it.

``pkg/detector`` and ``pkg/util/overridemanager`` at the commit ``karmada_rules`` names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fanout.core.document import Document
from fanout.core.errors import Problem
from fanout.core.model import Template
from fanout.core.validate import check
from fanout.formats.common import Context
from fanout.formats.karmada_rules import PRIORITY_MISMATCH, PRIORITY_WORDS, as_map, best_priority

POLICY_GROUP = "policy.karmada.io"
CLUSTER_API = "cluster.karmada.io/v1alpha1"
PROPAGATION, CLUSTER_PROPAGATION = "PropagationPolicy", "ClusterPropagationPolicy"
OVERRIDE, CLUSTER_OVERRIDE = "OverridePolicy", "ClusterOverridePolicy"
POLICY_KINDS = (PROPAGATION, CLUSTER_PROPAGATION, OVERRIDE, CLUSTER_OVERRIDE)
DEFAULT_NAMESPACE = "default"
# Fields of a placement that need what only a running control plane knows.
LIVE_ONLY = {
    "spreadConstraints": "spreading over regions and zones needs each cluster's live capacity",
    "workloadAffinity": "it places by where other workloads run now, which only the control plane knows",
}


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


def read_policies(docs: Sequence[Document], ctx: Context) -> list[Policy]:
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
                " offline; it reads PropagationPolicy, ClusterPropagationPolicy, OverridePolicy,"
                " ClusterOverridePolicy and FederatedResourceQuota (policy.karmada.io/v1alpha1)",
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
    placement = as_map(policy.spec.get("placement"))  # preemption and schedulerName apply without one too
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


def resource_key(template: Template) -> tuple[str, str, str, str, Mapping[str, str]]:
    metadata = template.obj.get("metadata") or {}
    labels = as_map(metadata.get("labels"))
    ident = template.ident
    return template.api_version, ident.kind, ident.namespace, ident.name, labels


def claim(template: Template, policies: Sequence[Policy]) -> tuple[Policy | None, str]:
    """``getHighestPriorityPropagationPolicy`` over the namespace's PropagationPolicies, then the same over
    ClusterPropagationPolicies (``pkg/detector/compare.go``); also why each other candidate lost."""
    key = resource_key(template)
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
        if kind == PROPAGATION and any(
            p.kind == CLUSTER_PROPAGATION and best_priority(*key, p.spec.get("resourceSelectors") or [])
            for p in policies
        ):
            losers.append("ClusterPropagationPolicies are consulted only when no PropagationPolicy matches")
        return winner, "; ".join([why, *losers])
    return None, ""


def override_policies(template: Template, policies: Sequence[Policy]) -> list[tuple[Policy, int]]:
    """Every matching ClusterOverridePolicy, then the OverridePolicies of the object's namespace, each group
    by implicit priority then name (``getOverridersFromOverridePolicies``)."""
    key = resource_key(template)
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


def rules_of(policy: Policy) -> list[tuple[str, Mapping[str, Any] | None, Mapping[str, Any]]]:
    rules = policy.spec.get("overrideRules")
    if rules:
        return [
            (f"/spec/overrideRules/{i}", r.get("targetCluster"), r.get("overriders") or {})
            for i, r in enumerate(rules)
        ]
    return [("/spec", policy.spec.get("targetCluster"), policy.spec.get("overriders") or {})]
