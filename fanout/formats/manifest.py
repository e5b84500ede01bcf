"""fanout's own format: a plain Kubernetes manifest, placed by ``fanout.dev/*`` annotations.

A manifest goes to every cluster unless ``fanout.dev/clusters`` (names) or ``fanout.dev/placement``
(a kubectl-style selector) says otherwise; with both, a cluster is chosen when either matches. The
annotations never reach the output. Federation v1's replica preference annotations divide the
replicas of a Deployment or ReplicaSet here too (see ``federation_v1.preferences``).
"""

from __future__ import annotations

from typing import Any

from fanout.core.document import Document
from fanout.core.model import Placement, Template
from fanout.core.selectors import SelectorSyntaxError, parse
from fanout.core.validate import CLUSTERS_ANNOTATION, PLACEMENT_ANNOTATION, check
from fanout.formats.common import Context, strip_fanout_annotations, template

EVERYWHERE_NOTE = "a plain manifest without fanout.dev/placement or fanout.dev/clusters goes everywhere"


def has_placement_annotations(doc: Document) -> bool:
    metadata = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return isinstance(annotations, dict) and bool(
        {CLUSTERS_ANNOTATION, PLACEMENT_ANNOTATION} & set(annotations)
    )


def annotation_pointer(key: str) -> str:
    return "/metadata/annotations/" + key.replace("~", "~0").replace("/", "~1")


def placement(doc: Document, ctx: Context) -> Placement:
    annotations = doc.data["metadata"].get("annotations") or {}
    names: tuple[str, ...] | None = None
    selector = None
    if CLUSTERS_ANNOTATION in annotations:
        pointer = annotation_pointer(CLUSTERS_ANNOTATION)
        written = [n.strip() for n in annotations[CLUSTERS_ANNOTATION].split(",") if n.strip()]
        names = ctx.names(written, doc, lambda _i: pointer)
    if PLACEMENT_ANNOTATION in annotations:
        try:
            selector = parse(annotations[PLACEMENT_ANNOTATION])
        except SelectorSyntaxError as exc:
            ctx.problems.add(
                f"invalid {PLACEMENT_ANNOTATION}: {exc}",
                doc.location(annotation_pointer(PLACEMENT_ANNOTATION)),
            )
    if names is None and selector is None and PLACEMENT_ANNOTATION not in annotations:
        return Placement("/metadata", everywhere=True, note=EVERYWHERE_NOTE)
    return Placement("/metadata/annotations", names=names, selector=selector)


def with_namespace(metadata: dict[str, Any], namespace: str | None, namespaced: bool) -> dict[str, Any]:
    """``metadata`` with the namespace it renders in: the default filled in, or none when cluster-scoped."""
    rest = {k: v for k, v in metadata.items() if k != "namespace"}
    if not namespaced or namespace is None:
        return rest  # kubectl drops a namespace written on a cluster-scoped object too
    ordered: dict[str, Any] = {}
    for key, value in rest.items():
        ordered[key] = value
        if key == "name":
            ordered["namespace"] = namespace
    ordered.setdefault("namespace", namespace)
    return ordered


def build(doc: Document, ctx: Context, where: Placement | None = None) -> Template | None:
    """The template of one manifest; ``where`` replaces fanout's annotations (another format's rule)."""
    found = check(doc, "manifest")
    if found:
        ctx.problems.extend(found)
        return None
    data = doc.data
    api, kind = data["apiVersion"], data["kind"]
    name = data["metadata"]["name"]
    namespace = ctx.namespace_of(data["metadata"].get("namespace"))
    namespaced = ctx.namespaced(api, kind, namespace)
    if namespace is not None and "namespace" not in data["metadata"] and ctx.scope(api, kind) is None:
        ctx.guessed_scope(name, api, kind, f"the default namespace {namespace}", doc.location("/metadata"))
    ident = ctx.identity(doc, api, kind, name, namespace, namespaced)
    chosen = where if where is not None else placement(doc, ctx)
    metadata = with_namespace(dict(data["metadata"]), namespace, namespaced)
    strip_fanout_annotations(metadata)
    obj = {**data, "metadata": metadata}
    if ident is None:
        return None
    return template(doc, obj, ident, api, namespaced, chosen)
