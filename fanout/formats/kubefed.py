"""KubeFed's ``Federated<Kind>`` objects and ``ReplicaSchedulingPreference``s, as KubeFed ran them.

Read: ``types.kubefed.io/v1beta1`` (KubeFed 0.1.0 to 0.8.1) and ``types.kubefed.k8s.io/v1beta1`` (the
0.1.0 release candidates, whose override paths could still be dotted). Checked against KubeFed's
``pkg/controller/sync/resource.go`` (``ObjectForCluster``) and ``pkg/controller/util`` at v0.8.1:

- The object is ``spec.template`` with the federated object's name and namespace and the target kind of
  its type config; ``spec.template.apiVersion``, when written, wins over the type config's version
  (``types.kubefed.io``; the release candidates always used the type config's).
- ``spec.template.metadata.annotations`` and ``.finalizers`` were not propagated (KubeFed recorded an
  ``AnnotationsNotSupported`` event): they are dropped, with a warning.
- Placement: ``clusters`` decides when present, even empty; otherwise ``clusterSelector``; neither
  places nowhere. A namespaced object also needs its namespace's ``FederatedNamespace``.
- Overrides: JSON Patch ops (``replace`` by default, which adds a missing key as KubeFed's JSON Patch
  library did); ``retainReplicas`` only mattered against live state and is accepted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fanout.core.document import Document, escape
from fanout.core.errors import Problem
from fanout.core.model import NS_KUBEFED, Placement, Template
from fanout.core.validate import check, did_you_mean, make_selector
from fanout.formats.common import (
    Context,
    federated_target,
    inline_overrides,
    outdated_template,
    strip_fanout_annotations,
    template,
)
from fanout.formats.replicas import WILDCARD, ClusterPreference
from fanout.formats.scheduling import ALL_CLUSTERS, SELECTOR, Divided, Schedule

GROUPS = ("types.kubefed.io", "types.kubefed.k8s.io")
CURRENT = "types.kubefed.io"  # its override paths must be JSON Pointers
SCHEDULING_APIS = (
    "scheduling.kubefed.io/v1alpha1",
    "scheduling.kubefed.k8s.io/v1alpha1",
    "scheduling.federation.k8s.io/v1alpha1",  # federation-v2 0.0.2 to 0.0.10: the same object
)
NOWHERE_NOTE = "a federated object without spec.placement goes to no cluster"
# Template metadata KubeFed set itself, or refused to propagate.
IDENTITY = ("name", "namespace", "generateName")
NOT_PROPAGATED = ("annotations", "finalizers")


def target_metadata(doc: Document, written: Any, body: str, ctx: Context) -> dict[str, Any]:
    """The template's metadata as KubeFed propagated it (identity is added by the caller)."""
    metadata: dict[str, Any] = {}
    for key, value in (written if isinstance(written, dict) else {}).items():
        if key in IDENTITY:
            continue  # KubeFed set these from the federated object; values in the template are not used
        if key in NOT_PROPAGATED:
            ctx.warnings.append(
                Problem(
                    f"spec.template.metadata.{key} is not rendered: KubeFed did not propagate it (it recorded"
                    " AnnotationsNotSupported / FinalizersNotSupported). Set it with an override instead",
                    doc.location(f"{body}/metadata/{key}"),
                )
            )
            continue
        metadata[key] = value
    return metadata


def placement(
    doc: Document, data: Any, ctx: Context, names_key: str, base: str = "/spec/placement"
) -> Placement:
    """Names (``clusters: [{name}]`` or ``clusterNames: [...]``) decide when written, else the selector.

    ``data`` is the placement written at ``base`` in ``doc``; None places nowhere.
    """
    if data is None:
        return Placement(base.rsplit("/", 1)[0] or "/", names=(), names_decide=True, note=NOWHERE_NOTE)
    selector = None
    if data.get("clusterSelector") is not None:
        selector = make_selector(data["clusterSelector"], doc, f"{base}/clusterSelector", ctx.problems)
    if data.get(names_key) is not None:
        written = [c["name"] if isinstance(c, dict) else c for c in data[names_key]]
        item = "/name" if names_key == "clusters" else ""  # KubeFed wrote [{name: ...}]
        names = ctx.names(written, doc, lambda i: f"{base}/{names_key}/{i}{item}")
        return Placement(f"{base}/{names_key}", names=names, selector=selector, names_decide=True, doc=doc)
    if selector is not None:
        return Placement(f"{base}/clusterSelector", selector=selector, doc=doc)
    return Placement(base, doc=doc, note="a placement with neither cluster names nor a selector goes nowhere")


def disabled(template_: Template, ctx: Context, config: Document) -> Template:
    """An object of a type whose propagation is Disabled goes nowhere, as in KubeFed."""
    kind = template_.doc.data.get("kind")
    written = "propagationEnabled" if "propagationEnabled" in config.data["spec"] else "propagation"
    at = config.location(f"/spec/{written}")
    ctx.warnings.append(
        Problem(
            f"{template_.ident} is not rendered: propagation of {kind} is Disabled by the"
            f" FederatedTypeConfig at {at}",
            template_.doc.location(),
        )
    )
    nowhere = template_.placement.narrowed(
        (), f"propagation of {kind} is Disabled by its FederatedTypeConfig", at
    )
    # Its inline overrides reach no cluster either; the warning says why.
    return dataclasses.replace(template_, placement=nowhere, inline={})


def build(doc: Document, ctx: Context, disabled_by: dict[str, Document]) -> Template | None:
    """One ``Federated<Kind>`` object of KubeFed."""
    found = check(doc, "federated")
    if found:
        ctx.problems.extend(found)
        return None
    data = doc.data
    group = data["apiVersion"].split("/")[0]
    federated_kind = data["kind"]
    target = federated_target(doc, ctx, federated_kind, "core.kubefed.io/v1beta1")
    if target is None:
        return None
    spec = data["spec"]
    body = dict(spec.get("template") or {})
    name = data["metadata"]["name"]
    namespace = ctx.namespace_of(data["metadata"].get("namespace"))
    is_namespace = target.kind == "Namespace" and target.api_version == "v1"
    if is_namespace and namespace is not None and namespace != name:
        # KubeFed looked a namespace's FederatedNamespace up inside that namespace only.
        ctx.problems.add(
            f"the FederatedNamespace {name!r} must be in namespace {name!r}, not {namespace!r}",
            doc.location("/metadata/namespace"),
        )
    api_version = target.api_version
    written_api = body.pop("apiVersion", None)
    if isinstance(written_api, str) and written_api and group == CURRENT:
        api_version = written_api  # ObjectForCluster defaulted apiVersion only when the template had none
    outdated_template(doc, ctx, federated_kind, target, api_version, body, "/spec/template")
    written_kind = body.pop("kind", None)
    if written_kind not in (None, target.kind):
        ctx.warnings.append(
            Problem(
                f"spec.template.kind {written_kind!r} is ignored: KubeFed rendered the type config's kind"
                f" {target.kind}",
                doc.location("/spec/template/kind"),
            )
        )
    ident = ctx.identity(
        doc, api_version, target.kind, name, namespace if target.namespaced else None, target.namespaced
    )
    metadata: dict[str, Any] = {"name": name}
    if target.namespaced:
        metadata["namespace"] = namespace
    metadata.update(target_metadata(doc, body.pop("metadata", None), "/spec/template", ctx))
    strip_fanout_annotations(metadata)
    obj = {"apiVersion": api_version, "kind": target.kind, "metadata": metadata, **body}
    where = placement(doc, spec.get("placement"), ctx, "clusters")
    overrides = spec.get("overrides") or []
    for index, entry in enumerate(overrides):
        for op_index, op in enumerate(entry.get("clusterOverrides") or []):
            if group == CURRENT and not str(op["path"]).startswith("/"):
                ctx.problems.add(
                    f"override path {op['path']!r} is not a JSON Pointer: {CURRENT} overrides are written"
                    " /spec/replicas (dotted paths were federation-v2's)",
                    doc.location(f"/spec/overrides/{index}/clusterOverrides/{op_index}/path"),
                )
    inline = inline_overrides(overrides, "/spec/overrides", ctx, doc)
    if ident is None:
        return None
    built = template(
        doc,
        obj,
        ident,
        api_version,
        target.namespaced,
        where,
        inline,
        body_pointer="/spec/template",
        namespace_rule=NS_KUBEFED if target.namespaced else "",
        defines_namespace=is_namespace,
    )
    config = disabled_by.get(federated_kind[len("Federated") :])
    return disabled(built, ctx, config) if config is not None else built


# --- ReplicaSchedulingPreference -------------------------------------------------------------


def read_schedules(
    docs: list[Document], ctx: Context, templates: list[Template], written: list[Document]
) -> None:
    """ReplicaSchedulingPreferences, as schedules of their targets (KubeFed's ``pkg/schedulingtypes``)."""
    seen: dict[tuple[str, str, str], Document] = {}
    for doc in docs:
        found = check(doc, "replicaschedulingpreference")
        if found:
            ctx.problems.extend(found)
            continue
        metadata, spec = doc.data["metadata"], doc.data["spec"]
        key = (spec["targetKind"], metadata["namespace"], metadata["name"])
        first = seen.setdefault(key, doc)
        if first is not doc:
            label = f"ReplicaSchedulingPreference {key[1]}/{key[2]}"
            ctx.problems.add(
                f"a second {label} (first at {first.location()})", doc.location("/metadata/name")
            )
            continue
        _read_schedule(doc, ctx, templates, written)


def _read_schedule(doc: Document, ctx: Context, templates: list[Template], docs: list[Document]) -> None:
    metadata, spec = doc.data["metadata"], doc.data["spec"]
    ok = True
    preferences: dict[str, ClusterPreference] = {}
    known = ctx.known
    for cluster, raw in (spec.get("clusters") or {}).items():
        pointer = f"/spec/clusters/{escape(cluster)}"
        if cluster != WILDCARD and cluster not in known:
            # KubeFed skipped such entries silently; a typo here would quietly starve a cluster.
            ctx.problems.add(
                f"unknown cluster {cluster!r}{did_you_mean(cluster, known)}", doc.location(pointer)
            )
            ok = False
        low, high = raw.get("minReplicas", 0), raw.get("maxReplicas")
        if high is not None and low > high:
            ctx.problems.add(f"minReplicas {low} is greater than maxReplicas {high}", doc.location(pointer))
            ok = False
        preferences[cluster] = ClusterPreference(raw.get("weight", 0), low, high)
    source_kind = spec["targetKind"]
    kind = source_kind.removeprefix("Federated")
    namespace, name = metadata["namespace"], metadata["name"]
    label = f"ReplicaSchedulingPreference {namespace}/{name}"
    target = next(
        (
            t
            for t in templates
            if (t.ident.kind, t.ident.namespace, t.ident.name) == (kind, namespace, name)
            and t.doc.data.get("kind") == source_kind
        ),
        None,
    )
    if target is None:
        if not any(_written(d, source_kind, namespace, name, ctx) for d in docs):
            ctx.problems.add(
                f"{label} schedules {source_kind} {namespace}/{name}, which is not among the templates",
                doc.location("/metadata/name"),
            )
        return
    if not ok:
        return
    eligible = SELECTOR if spec.get("intersectWithClusterSelector") else ALL_CLUSTERS
    divided = (Divided("/spec/replicas", spec["totalReplicas"]),)
    target_id = (kind, namespace, name)
    ctx.schedules.append(
        Schedule(doc, "/spec/totalReplicas", label, target_id, divided, preferences, eligible)
    )


def _written(doc: Document, kind: str, namespace: str, name: str, ctx: Context) -> bool:
    """Whether the target is among the template documents, built or not (its own errors are reported)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    metadata = data.get("metadata")
    return (
        data.get("kind") == kind
        and isinstance(metadata, dict)
        and (ctx.namespace_of(metadata.get("namespace")), metadata.get("name")) == (namespace, name)
    )
