"""Federation v1 (2016-2018): plain objects sent to a federation API server, steered by annotations.

Read when fanout.yaml says ``format: federation-v1``. What the Federation v1 controllers did, from
kubernetes/federation (``pkg/federation-controller/sync``, ``.../job``, ``pkg/federatedtypes``):

- Only these kinds were federated: ConfigMap, DaemonSet, Deployment, Ingress, Job, Namespace,
  ReplicaSet, Secret, Service. Another kind was refused by the federation API server; here it is an
  error unless fanout's own ``fanout.dev/*`` annotations say where it goes.
- Every object went to every cluster; ``federation.alpha.kubernetes.io/cluster-selector`` (a JSON
  list of ``{key, operator, values}``) narrowed that. The Job controller ignored the annotation.
- Deployments and ReplicaSets divided ``spec.replicas`` across the selected clusters with the planner
  (``federation.kubernetes.io/deployment-preferences`` / ``replica-set-preferences``; without one,
  evenly: ``{"*": {"weight": 1}}``); every selected cluster got the object, with 0 replicas included.
  Jobs divided ``parallelism`` and ``completions`` (``federation.kubernetes.io/job-preferences``) and
  were created only where their parallelism share was above 0.
- An object without a namespace was in ``default``, the federation API server's default.

Differences and what cannot be reproduced (DNS, global load balancers, HPA, live state) are listed
in docs/migrating-from-kubefed.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fanout.core.document import Document
from fanout.core.errors import Problem
from fanout.core.model import Placement, Template
from fanout.core.selectors import Requirement, Selector
from fanout.core.validate import did_you_mean
from fanout.formats import manifest
from fanout.formats.common import Context
from fanout.formats.replicas import ClusterPreference
from fanout.formats.scheduling import ABOVE_ZERO, ALL_CLUSTERS, EVERY_PLANNED, PLACED, Divided, Schedule

FORMAT = "federation-v1"
SELECTOR_ANNOTATION = "federation.alpha.kubernetes.io/cluster-selector"
PREFERENCES = {
    "Deployment": "federation.kubernetes.io/deployment-preferences",
    "ReplicaSet": "federation.kubernetes.io/replica-set-preferences",
    "Job": "federation.kubernetes.io/job-preferences",
}
# (group, kind) of what Federation v1 federated; any version of the group.
FEDERATED = {
    ("", "ConfigMap"),
    ("", "Namespace"),
    ("", "Secret"),
    ("", "Service"),
    ("extensions", "DaemonSet"),
    ("extensions", "Deployment"),
    ("extensions", "Ingress"),
    ("extensions", "ReplicaSet"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("networking.k8s.io", "Ingress"),
    ("batch", "Job"),
}
NOT_REPRODUCIBLE = {
    "HorizontalPodAutoscaler": "Federation v1 divided an autoscaler's min and max replicas across clusters"
    " from live metrics, which a renderer cannot know",
}
HPA_TARGET = "federation.kubernetes.io/hpa-target-cluster-list"
DEFAULT_NAMESPACE = "default"  # the federation API server's, unless fanout.yaml sets defaultNamespace

# Federation v1's ConvertOperator: the operators its cluster selector accepted, and their meaning.
_OPERATORS = {
    "in": "In",
    "In": "In",
    "=": "In",
    "==": "In",
    "notin": "NotIn",
    "NotIn": "NotIn",
    "!=": "NotIn",
    "exists": "Exists",
    "Exists": "Exists",
    "!": "DoesNotExist",
    "DoesNotExist": "DoesNotExist",
    "gt": "Gt",
    "Gt": "Gt",
    ">": "Gt",
    "lt": "Lt",
    "Lt": "Lt",
    "<": "Lt",
}


def _annotations(doc: Document) -> Mapping[str, Any]:
    annotations = doc.data["metadata"].get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def _selector(doc: Document, ctx: Context) -> Selector | None:
    """The cluster-selector annotation, or None (and a problem) when Federation v1 could not read it."""
    pointer = manifest.annotation_pointer(SELECTOR_ANNOTATION)
    text = _annotations(doc)[SELECTOR_ANNOTATION]

    def bad(why: str) -> None:
        ctx.problems.add(f"{SELECTOR_ANNOTATION}: {why}", doc.location(pointer))

    try:
        written = json.loads(text)
    except (ValueError, TypeError) as exc:
        bad(f"not JSON ({exc})")
        return None
    if not isinstance(written, list):
        bad('expected a JSON list of {"key", "operator", "values"}')
        return None
    requirements = []
    for index, raw in enumerate(written):
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str) or not raw.get("key"):
            bad(f"entry {index} needs a key")
            return None
        operator = _OPERATORS.get(str(raw.get("operator", "")))
        values = raw.get("values") or []
        if operator is None:
            bad(
                f"entry {index}: unknown operator {raw.get('operator')!r}"
                " (in, notin, exists, !, =, !=, gt, lt)"
            )
            return None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            bad(f"entry {index}: values must be a list of strings")
            return None
        # The checks of Kubernetes' labels.NewRequirement, which Federation v1 called.
        if operator in ("In", "NotIn") and not values:
            bad(f"entry {index}: operator {raw['operator']!r} needs values")
            return None
        if str(raw.get("operator")) in ("=", "==", "!=") and len(values) != 1:
            bad(f"entry {index}: operator {raw['operator']!r} needs exactly one value")
            return None
        if operator in ("Exists", "DoesNotExist") and values:
            bad(f"entry {index}: operator {raw['operator']!r} takes no values")
            return None
        if operator in ("Gt", "Lt") and (len(values) != 1 or not _is_int(values[0])):
            bad(f"entry {index}: operator {raw['operator']!r} needs exactly one integer value")
            return None
        requirements.append(Requirement(raw["key"], operator, tuple(values)))
    return Selector(tuple(requirements))


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def preferences(
    doc: Document, ctx: Context, annotation: str
) -> tuple[bool, Mapping[str, ClusterPreference]] | None:
    """A ``*-preferences`` annotation: whether it is present, and its cluster preferences.

    Federation v1 decoded it into a Go struct, whose field names match case-insensitively, and fell back
    to the default when it could not; here a preference that does not read is an error.
    """
    if annotation not in _annotations(doc):
        return False, {}
    pointer = manifest.annotation_pointer(annotation)

    def bad(why: str) -> None:
        ctx.problems.add(f"{annotation}: {why}", doc.location(pointer))

    try:
        written = json.loads(_annotations(doc)[annotation])
    except (ValueError, TypeError) as exc:
        bad(f"not JSON ({exc})")
        return None
    if not isinstance(written, dict):
        bad('expected a JSON object {"rebalance": ..., "clusters": {...}}')
        return None
    top = {k.lower(): v for k, v in written.items()}
    unknown = sorted(set(top) - {"rebalance", "clusters"})
    if unknown:
        bad(f"unknown field {unknown[0]!r} (allowed: clusters, rebalance)")
        return None
    clusters = top.get("clusters") or {}
    if not isinstance(clusters, dict):
        bad("clusters must be an object of cluster name -> {weight, minReplicas, maxReplicas}")
        return None
    result: dict[str, ClusterPreference] = {}
    known = ctx.known
    for cluster, raw in clusters.items():
        if cluster != "*" and cluster not in known:
            bad(f"unknown cluster {cluster!r}{did_you_mean(cluster, known)}")
            return None
        fields = {k.lower(): v for k, v in raw.items()} if isinstance(raw, dict) else None
        if fields is None or set(fields) - {"weight", "minreplicas", "maxreplicas"}:
            bad(f"cluster {cluster!r}: expected {{weight, minReplicas, maxReplicas}}")
            return None
        numbers = {k: v for k, v in fields.items() if v is not None}
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in numbers.values()):
            bad(f"cluster {cluster!r}: weight, minReplicas and maxReplicas must be whole numbers >= 0")
            return None
        low, high = numbers.get("minreplicas", 0), numbers.get("maxreplicas")
        if high is not None and low > high:
            bad(f"cluster {cluster!r}: minReplicas {low} is greater than maxReplicas {high}")
            return None
        result[cluster] = ClusterPreference(numbers.get("weight", 0), low, high)
    return True, result


def _count(spec: Mapping[str, Any], key: str, default: int | None, doc: Document, ctx: Context) -> int | None:
    value = spec.get(key, default)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    ctx.problems.add(
        f"spec.{key} must be a whole number to be divided across clusters, not {value!r}",
        doc.location(f"/spec/{key}"),
    )
    return None


def schedule(doc: Document, template: Template, ctx: Context, annotated_only: bool = False) -> None:
    """Add the replica schedule Federation v1 ran for a Deployment, ReplicaSet or Job template.

    ``annotated_only``: only when the object has a preferences annotation (fanout's own format, where
    no annotation means no division).
    """
    kind = template.ident.kind
    annotation = PREFERENCES.get(kind)
    if annotation is None:
        return
    read = preferences(doc, ctx, annotation)
    if read is None:
        return
    present, prefs = read
    if annotated_only and not present:
        return
    spec = doc.data.get("spec") if isinstance(doc.data.get("spec"), dict) else {}
    target = (kind, template.ident.namespace, template.ident.name)
    where = manifest.annotation_pointer(annotation) if present else "/metadata"
    label = (
        f"{annotation} of {template.ident}" if present else f"Federation v1's even split of {template.ident}"
    )
    if kind == "Job":
        parallelism = _count(spec, "parallelism", 1, doc, ctx)
        completions = _count(spec, "completions", None, doc, ctx)
        if parallelism is None:
            return
        fields = [Divided("/spec/parallelism", parallelism)]
        if completions is not None:
            fields.append(Divided("/spec/completions", completions))
        ctx.schedules.append(
            Schedule(doc, where, label, target, tuple(fields), prefs, ALL_CLUSTERS, ABOVE_ZERO)
        )
        return
    replicas = _count(spec, "replicas", 1, doc, ctx)  # the API server defaulted replicas to 1
    if replicas is not None:
        divided = (Divided("/spec/replicas", replicas),)
        ctx.schedules.append(Schedule(doc, where, label, target, divided, prefs, PLACED, EVERY_PLANNED))


def build(doc: Document, ctx: Context) -> Template | None:
    """One object of a Federation v1 source."""
    data = doc.data
    if not isinstance(data.get("metadata"), dict):
        return manifest.build(doc, ctx)  # reports the missing metadata
    api, kind = str(data.get("apiVersion", "")), str(data.get("kind", ""))
    group = api.rsplit("/", 1)[0] if "/" in api else ""
    if kind in NOT_REPRODUCIBLE:
        ctx.problems.add(
            f"{kind} cannot be rendered as Federation v1 ran it: {NOT_REPRODUCIBLE[kind]}",
            doc.location("/kind"),
        )
        return None
    if (group, kind) not in FEDERATED:
        if manifest.has_placement_annotations(doc):
            return manifest.build(doc, ctx)
        ctx.problems.add(
            f"Federation v1 did not federate {kind} ({api}): its API server refused it. To send it to"
            " clusters with fanout's own rules, add a fanout.dev/clusters or fanout.dev/placement annotation",
            doc.location("/kind"),
        )
        return None
    annotations = _annotations(doc)
    if manifest.has_placement_annotations(doc):
        ctx.problems.add(
            f"a federation-v1 source places {kind} with {SELECTOR_ANNOTATION}, not fanout.dev annotations",
            doc.location("/metadata/annotations"),
        )
        return None
    if HPA_TARGET in annotations:
        ctx.problems.add(
            f"{HPA_TARGET} was written by Federation v1's autoscaler controller from live state;"
            " fanout cannot reproduce it: remove the annotation",
            doc.location(manifest.annotation_pointer(HPA_TARGET)),
        )
        return None
    where = Placement("/metadata", everywhere=True, note="Federation v1 sent every object to every cluster")
    if SELECTOR_ANNOTATION in annotations:
        selector = _selector(doc, ctx)
        if selector is None:
            return None
        where = Placement(manifest.annotation_pointer(SELECTOR_ANNOTATION), selector=selector)
        if kind == "Job":
            ctx.warnings.append(
                Problem(
                    f"Federation v1's Job controller ignored {SELECTOR_ANNOTATION}: the Job goes to every"
                    " cluster its plan gives parallelism",
                    doc.location(manifest.annotation_pointer(SELECTOR_ANNOTATION)),
                )
            )
    built = manifest.build(doc, ctx, where)
    if built is not None:
        schedule(doc, built, ctx)
    return built
