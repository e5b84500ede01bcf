"""Karmada's policies: plain manifests propagated as Karmada's controllers would, with no control plane.

A source is read this way when its templates hold a ``policy.karmada.io`` document. Then every plain
manifest is a resource template: a PropagationPolicy (of the object's namespace, first) or a
ClusterPropagationPolicy claims it (``pkg/detector``), its placement picks member clusters
(``pkg/scheduler``), Divided replicas are seated by static weight, OverridePolicies change it per cluster
(``pkg/util/overridemanager``), dependencies follow workloads, and Namespaces go everywhere
(``pkg/controllers/namespace``). The parts: ``karmada_policy`` (reading policies, claims),
``karmada_schedule`` (placement, replicas), ``karmada_override`` (overriders, pruning), ``karmada_rules``
(Karmada's algorithms as pure functions) and ``karmada_serial`` (its YAML and JSON writers); every Karmada
file followed is at the commit ``karmada_rules`` names. Fields that need a live control plane (capacity,
spread over regions, preemption of a running claim) are located errors or warnings, never skipped.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from fanout.core.document import Document
from fanout.core.errors import Location, Problem
from fanout.core.model import Patch, PatchOp, Placement, Template
from fanout.formats import karmada_quota, manifest
from fanout.formats.common import Context
from fanout.formats.karmada_override import (
    OverrideFailure,
    apply_ops,
    apply_overriders,
    prune_ops,
    strip_bookkeeping,
)
from fanout.formats.karmada_policy import (
    CLUSTER_API,
    DEFAULT_NAMESPACE,
    POLICY_GROUP,
    Policy,
    claim,
    override_policies,
    read_policies,
    rules_of,
)
from fanout.formats.karmada_rules import ClusterFacts, as_map, cluster_matches, dependencies
from fanout.formats.karmada_schedule import Binding, bind, facts, job_counts, with_crd_apis
from fanout.kube.kinds import group_of

# Karmada's own APIs, and what its detector never propagates (pkg/util/apigroup.go).
KARMADA_GROUPS = {
    f"{name}.karmada.io"
    for name in ("cluster", "policy", "work", "config", "networking", "autoscaling", "remedy", "apps")
}
NOT_PROPAGATED = {("events.k8s.io", None), ("", "Event"), ("coordination.k8s.io", None)}
SKIP_LABEL = "namespace.karmada.io/skip-auto-propagation"
__all__ = ["CLUSTER_API", "KARMADA_GROUPS", "POLICY_GROUP", "build", "is_karmada"]


def is_karmada(doc: Document) -> bool:
    data = doc.data
    return isinstance(data, dict) and group_of(str(data.get("apiVersion", ""))) in KARMADA_GROUPS


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


def _revise_ops(binding: Binding, cluster: str, obj: Mapping[str, Any]) -> list[PatchOp]:
    ops = []
    pointer = "/spec/placement/replicaScheduling"
    wanted = [(binding.revise, binding.clusters[cluster])] if binding.revise else []
    if binding.completions is not None:
        wanted.append(("completions", binding.completions[cluster]))
    spec = as_map(obj.get("spec"))
    for name, value in wanted:
        current = spec.get(name)
        default = job_counts(spec)[1] if name == "completions" else 1
        if current is None and (default is None or value == default):
            continue  # left to the API server's default, which is this value (or the field stays unset)
        if current != value:
            ops.append(
                PatchOp("replace" if current is not None else "add", f"/spec/{name}", pointer, value, True)
            )
    return ops


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
    quotas = [d for d in policy_docs if is_quota(d)]
    policies = read_policies([d for d in policy_docs if not is_quota(d)], ctx)
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
                replace(built, obj=strip_bookkeeping(dict(built.obj)), refs={}, escapes=False, uses={})
            )
    # CustomResourceDefinitions first: a member serves a CRD's API once Karmada has propagated it there
    # (its status then lists it), so the custom resources are scheduled against the converged state.
    crds = [t for t in templates if t.ident.kind == "CustomResourceDefinition"]
    bound = {id(t): _binding_of(t, policies, members, ctx) for t in crds}
    members = [with_crd_apis(m, [bound[id(t)] for t in crds]) for m in members]
    bindings = [bound.get(id(t)) or _binding_of(t, policies, members, ctx) for t in templates]
    _follow_dependencies(bindings, ctx)
    patches = _Patches()
    finished = [_finish(b, policies, members, patches, ctx) for b in bindings]
    # Written by Karmada's quota sync controller straight into each member: no policy claims or changes them.
    return finished + karmada_quota.build(quotas, ctx, DEFAULT_NAMESPACE)


def is_quota(doc: Document) -> bool:
    """A FederatedResourceQuota (``fanout.formats.karmada_quota``)."""
    data = doc.data
    return bool(
        data.get("apiVersion") == f"{POLICY_GROUP}/v1alpha1" and data.get("kind") == karmada_quota.KIND
    )


def _binding_of(
    template: Template, policies: Sequence[Policy], members: Sequence[ClusterFacts], ctx: Context
) -> Binding:
    ident = template.ident
    where = template.doc.location()
    skipped = _not_propagated(template)
    if skipped is None and ident.namespace and _skipped_namespace(ident.namespace, ctx):
        skipped = f"Karmada does not propagate objects in namespace {ident.namespace!r} (reserved or skipped)"
    if skipped is not None:
        ctx.warnings.append(Problem(f"{ident} is not rendered: {skipped}", where))
        return Binding(template, None, note=skipped, skipped=True)
    policy, note = claim(template, policies)
    binding = bind(template, policy, members, ctx) if policy is not None else Binding(template, None)
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


def _follow_dependencies(bindings: Sequence[Binding], ctx: Context) -> None:
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
    binding: Binding,
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
        culprit = binding.policy  # whose step failed, for the error
        try:
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
                    obj = apply_ops(obj, revised, revised[0].pointer, "replicas")
            for policy, _implicit in override_policies(template, policies):
                culprit = policy
                for pointer, target, overriders in rules_of(policy):
                    if target is not None and not cluster_matches(facts_of[cluster], target):
                        continue
                    obj, rule_ops = apply_overriders(obj, template.ident.kind, overriders, pointer)
                    _keep_identity(template, obj, pointer)
                    if rule_ops:
                        because = f"{policy.title}, rule at {pointer.removeprefix('/spec/') or 'spec'}"
                        chosen.append(patches.make(policy.doc, because, rule_ops, because, pointer))
        except OverrideFailure as exc:
            assert culprit is not None  # only a policy's step can fail
            message = f"{culprit.title} cannot be applied to {template.ident}: {exc.message}"
            failures.setdefault((culprit.doc.location(exc.pointer), message), []).append(cluster)
            continue
        pruned = prune_ops(obj, template.ident.kind)
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


def _keep_identity(template: Template, obj: Mapping[str, Any], pointer: str) -> None:
    metadata = as_map(obj.get("metadata"))
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
