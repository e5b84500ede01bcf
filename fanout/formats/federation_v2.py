"""federation-v2 (2018-2019), KubeFed's alpha: two formats, read into the same model as KubeFed's.

- ``primitives.federation.k8s.io/v1alpha1`` (federation-v2 0.0.2 to 0.0.5, the 2018 Pac-Man tutorial):
  three objects joined by name and namespace: ``FederatedX`` (``spec.template``), ``FederatedXPlacement``
  (``spec.clusterNames``, else ``spec.clusterSelector``) and ``FederatedXOverride`` (``spec.overrides``).
  A namespace was federated by a ``FederatedNamespacePlacement`` alone: the Namespace took its name,
  labels and annotations from the Namespace of that name in the host cluster (a plain ``Namespace``
  among the templates, if there is one). A namespaced object whose namespace had no placement used its
  own placement (0.0.4's ``namespacedPlacementPlugin``).
- ``types.federation.k8s.io/v1alpha1`` (0.0.6 to 0.0.10): one object with ``spec.template``,
  ``spec.placement.clusterNames`` / ``clusterSelector`` and ``spec.overrides``; a namespaced object went
  nowhere without its namespace's ``FederatedNamespace`` (0.0.10's ``computeNamespacedPlacement``).

In both, the rendered apiVersion and kind are always the type config's, and an override path is dotted
(``spec.replicas``): the value is set, creating missing parents (``unstructured.SetNestedField``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fanout.core.document import Document
from fanout.core.errors import Problem
from fanout.core.model import NS_KUBEFED, NS_OWN, Patch, Placement, Template
from fanout.core.validate import check
from fanout.formats import kubefed
from fanout.formats.common import Context, federated_target, inline_overrides, outdated_template, template

TYPES_GROUP = "types.federation.k8s.io"
PRIMITIVES_GROUP = "primitives.federation.k8s.io"
NAMESPACE_PLACEMENT = "FederatedNamespacePlacement"


def _overrides_dotted(entries: Sequence[Mapping[str, Any]], doc: Document, ctx: Context) -> bool:
    """federation-v2 split paths on dots; a JSON Pointer there would have set a key named "/spec/..."."""
    ok = True
    for index, entry in enumerate(entries):
        for op_index, op in enumerate(entry.get("clusterOverrides") or []):
            if str(op["path"]).startswith("/"):
                ctx.problems.add(
                    f"override path {op['path']!r}: federation-v2 override paths are dotted (spec.replicas);"
                    " JSON Pointers came with KubeFed (types.kubefed.io)",
                    doc.location(f"/spec/overrides/{index}/clusterOverrides/{op_index}/path"),
                )
                ok = False
    return ok


def _object(
    doc: Document,
    ctx: Context,
    federated_kind: str,
    name: str,
    namespace: str | None,
    body: Mapping[str, Any],
    body_pointer: str,
) -> tuple[dict[str, Any], Any] | None:
    """The rendered object (type config's apiVersion and kind) and its identity, or None."""
    target = federated_target(doc, ctx, federated_kind)
    if target is None:
        return None
    outdated_template(doc, ctx, federated_kind, target, target.api_version, body, body_pointer)
    ident = ctx.identity(
        doc,
        target.api_version,
        target.kind,
        name,
        namespace if target.namespaced else None,
        target.namespaced,
    )
    metadata: dict[str, Any] = {"name": name}
    if target.namespaced:
        metadata["namespace"] = namespace
    written = body.get("metadata")
    for key, value in (written if isinstance(written, dict) else {}).items():
        if key not in kubefed.IDENTITY:
            metadata[key] = value
    rest = {k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata")}
    obj = {"apiVersion": target.api_version, "kind": target.kind, "metadata": metadata, **rest}
    return obj, ident


def build_single(doc: Document, ctx: Context, disabled_by: Mapping[str, Document]) -> Template | None:
    """A ``types.federation.k8s.io/v1alpha1`` Federated<Kind>."""
    found = check(doc, "federated-v1alpha1")
    if found:
        ctx.problems.extend(found)
        return None
    data = doc.data
    spec = data["spec"]
    name = data["metadata"]["name"]
    namespace = ctx.namespace_of(data["metadata"].get("namespace"))
    made = _object(doc, ctx, data["kind"], name, namespace, spec.get("template") or {}, "/spec/template")
    where = kubefed.placement(doc, spec.get("placement"), ctx, "clusterNames")
    entries = spec.get("overrides") or []
    dotted = _overrides_dotted(entries, doc, ctx)
    inline = inline_overrides(entries, "/spec/overrides", ctx, doc) if dotted else {}
    if made is None or made[1] is None:
        return None
    obj, ident = made
    is_namespace = (ident.kind, ident.group) == ("Namespace", "")
    built = template(
        doc,
        obj,
        ident,
        obj["apiVersion"],
        bool(ident.namespace),
        where,
        inline,
        body_pointer="/spec/template",
        namespace_rule=NS_KUBEFED if ident.namespace else "",
        defines_namespace=is_namespace,
    )
    config = disabled_by.get(ident.kind)
    return kubefed.disabled(built, ctx, config) if config is not None else built


# --- primitives: template, placement and override as three objects ----------------------------


@dataclass
class _Parts:
    template: Document | None = None
    placement: Document | None = None
    override: Document | None = None


def _role(kind: str) -> tuple[str, str]:
    """(role, federated kind): FederatedDeploymentPlacement -> (placement, FederatedDeployment)."""
    for role in ("Placement", "Override"):
        if kind.endswith(role) and kind != f"Federated{role}":
            return role.lower(), kind[: -len(role)]
    return "template", kind


def build_primitives(
    docs: Sequence[Document],
    ctx: Context,
    host_namespaces: Mapping[str, Document],
    disabled_by: Mapping[str, Document],
) -> list[Template]:
    """Every primitives object, joined into templates; ``host_namespaces``: plain Namespaces by name."""
    schemas = {
        "template": "primitives-template",
        "placement": "primitives-placement",
        "override": "primitives-override",
    }
    joined: dict[tuple[str, str, str], _Parts] = {}
    for doc in docs:
        role, federated_kind = _role(str(doc.data.get("kind", "")))
        found = check(doc, schemas[role])
        if found:
            ctx.problems.extend(found)
            continue
        metadata = doc.data["metadata"]
        namespace = ctx.namespace_of(metadata.get("namespace"))
        if federated_kind == "FederatedNamespace":
            namespace = metadata["name"]  # a namespace's placement is found by the namespace's name alone
        key = (federated_kind, namespace or "", metadata["name"])
        parts = joined.setdefault(key, _Parts())
        first = getattr(parts, role)
        if first is not None:
            ctx.problems.add(
                f"a second {doc.data['kind']} {metadata['name']!r} (first at {first.location()})",
                doc.location("/metadata/name"),
            )
            continue
        setattr(parts, role, doc)
    templates = []
    for (federated_kind, namespace, name), parts in joined.items():
        built = _join(federated_kind, namespace, name, parts, ctx, host_namespaces)
        if built is not None:
            config = disabled_by.get(built.ident.kind)
            templates.append(kubefed.disabled(built, ctx, config) if config is not None else built)
    return templates


def _placement(doc: Document | None, ctx: Context, kind: str) -> Placement:
    if doc is None:
        note = f"a {kind} without a {kind}Placement goes nowhere"
        return Placement("/", names=(), names_decide=True, note=note)
    return kubefed.placement(doc, doc.data.get("spec") or {}, ctx, "clusterNames", base="/spec")


def _join(
    federated_kind: str,
    namespace: str,
    name: str,
    parts: _Parts,
    ctx: Context,
    host_namespaces: Mapping[str, Document],
) -> Template | None:
    if federated_kind == "FederatedNamespace":
        return _namespace(name, parts, ctx, host_namespaces)
    if parts.template is None:
        orphan = parts.placement or parts.override
        assert orphan is not None
        ctx.problems.add(
            f"{orphan.data['kind']} {name!r} has no {federated_kind} {name!r}"
            f"{f' in namespace {namespace!r}' if namespace else ''} to apply to",
            orphan.location("/metadata/name"),
        )
        return None
    doc = parts.template
    made = _object(
        doc, ctx, federated_kind, name, namespace or None, doc.data["spec"]["template"], "/spec/template"
    )
    inline: dict[str, Patch] = {}
    if parts.override is not None:
        entries = parts.override.data["spec"].get("overrides") or []
        if _overrides_dotted(entries, parts.override, ctx):
            inline = inline_overrides(entries, "/spec/overrides", ctx, parts.override)
    where = _placement(parts.placement, ctx, federated_kind)
    if parts.placement is None:
        ctx.warnings.append(
            Problem(
                f"{federated_kind} {name!r} is not rendered anywhere: it has no {federated_kind}Placement",
                doc.location(),
            )
        )
    if made is None or made[1] is None:
        return None
    obj, ident = made
    return template(
        doc,
        obj,
        ident,
        obj["apiVersion"],
        bool(ident.namespace),
        where,
        inline,
        body_pointer="/spec/template",
        namespace_rule=NS_OWN if ident.namespace else "",
    )


def _namespace(name: str, parts: _Parts, ctx: Context, host: Mapping[str, Document]) -> Template | None:
    """A FederatedNamespacePlacement renders the host cluster's Namespace of that name."""
    doc = parts.placement
    if doc is None:
        orphan = parts.template or parts.override
        assert orphan is not None
        ctx.problems.add(
            f"primitives federate a namespace with a {NAMESPACE_PLACEMENT} alone;"
            f" {orphan.data['kind']} is not read",
            orphan.location("/kind"),
        )
        return None
    metadata: dict[str, Any] = {"name": name}
    source = host.get(name)
    if source is not None:
        written = source.data.get("metadata") or {}
        metadata.update({k: v for k, v in written.items() if k in ("labels", "annotations")})
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
    ident = ctx.identity(doc, "v1", "Namespace", name, None, False)
    if ident is None:
        return None
    where = _placement(doc, ctx, "FederatedNamespace")
    return template(doc, obj, ident, "v1", False, where, defines_namespace=True)
