"""What every source format's front end needs: the context it reads in, and the checks they share.

A front end turns documents of one format into ``Template``s (and ``Schedule``s); it reports
problems into ``Context.problems`` and never raises, so that every mistake in every file is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fanout.core.document import Document, escape
from fanout.core.errors import Location, Problem, Problems
from fanout.core.model import NS_FREE, Cluster, Config, ObjectId, Patch, PatchOp, Placement, Template
from fanout.core.substitute import Scan
from fanout.core.validate import (
    ANNOTATION_PREFIX,
    check_names,
    check_ops,
    is_dns_label,
    make_patch,
    name_problem,
)
from fanout.formats.apishape import outdated_fields
from fanout.formats.scheduling import Schedule
from fanout.kube.kinds import (
    CLUSTER_SCOPED,
    FEDERATED_TYPES,
    NAMESPACED,
    TargetType,
    group_of,
    well_known_scope,
)


@dataclass
class Context:
    """What a front end reads documents against, and where it reports."""

    config: Config
    clusters: Sequence[Cluster]
    scopes: Mapping[tuple[str, str], bool]  # (group, kind) -> namespaced, from CRDs among the templates
    types: Mapping[str, TargetType]  # federated target kind -> its type (built in, or a type config)
    problems: Problems
    warnings: list[Problem] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    # The kinds whose scope was guessed and said so (once per kind: ``guessed_scope``).
    guessed: set[tuple[str, str]] = field(default_factory=set)

    @property
    def known(self) -> set[str]:
        return {c.name for c in self.clusters}

    def scope(self, api_version: str, kind: str) -> bool | None:
        """Whether the kind is namespaced, when fanout knows: from a CustomResourceDefinition among the
        templates (or a chart's), fanout.yaml's ``scopes``, Kubernetes' own kinds, or the well-known custom
        kinds of ``well_known_scopes``."""
        group = group_of(api_version)
        scope = self.scopes.get((group, kind))
        if scope is not None:
            return scope
        for entry in self.config.scopes:
            if (entry.group, entry.kind) == (group, kind):
                return entry.namespaced
        if kind in CLUSTER_SCOPED:
            return False
        if kind in NAMESPACED:
            return True
        return well_known_scope(group, kind)

    def namespaced(self, api_version: str, kind: str, namespace: str | None) -> bool:
        scope = self.scope(api_version, kind)
        if scope is not None:
            return scope
        return namespace is not None  # a kind fanout does not know: trust the manifest

    def guessed_scope(self, name: str, api_version: str, kind: str, where: str, at: Location) -> None:
        """Say (once per kind) that an object of a kind fanout does not know, written without a namespace,
        was put in one (``where``: which and why): if the kind is cluster-scoped, that object is wrong."""
        if (api_version, kind) in self.guessed:
            return
        self.guessed.add((api_version, kind))
        self.warnings.append(
            Problem(
                f"{kind} {name!r} ({api_version}) has no namespace, and fanout does not know whether {kind}"
                " is namespaced (no CustomResourceDefinition among the templates or in a chart): it is"
                f" written in {where}; say which it is in fanout.yaml: `scopes:"
                f" {{{scope_key(api_version, kind)}: Namespaced}}` (or Cluster)",
                at,
            )
        )

    def namespace_of(self, written: Any) -> str | None:
        """The namespace an object is in: the one written, else the configured default."""
        return written if isinstance(written, str) else self.config.default_namespace

    def identity(
        self,
        doc: Document,
        api: str,
        kind: str,
        name: str,
        namespace: str | None,
        namespaced: bool,
        ns_pointer: str = "/metadata/namespace",
    ) -> ObjectId | None:
        """The rendered object's identity, or None (and a problem) when its name or namespace is unusable."""
        ok = True
        wrong = name_problem(group_of(api), kind, name)
        if wrong is None and "${" in name:
            wrong = f"{kind} name {name!r}: object names cannot use ${{...}} references"
        if wrong is not None:
            self.problems.add(wrong, doc.location("/metadata/name"))
            ok = False
        if namespaced:
            if namespace is None:
                self.problems.add(
                    f"{kind} {name!r} is namespaced but has no namespace"
                    " (write metadata.namespace, or set defaultNamespace in fanout.yaml)",
                    doc.location("/metadata"),
                )
                ok = False
            elif "${" in namespace or not is_dns_label(namespace):
                self.problems.add(
                    f"namespace {namespace!r} is not a DNS-1123 label", doc.location(ns_pointer)
                )
                ok = False
        if not ok:
            return None
        return ObjectId(group_of(api), kind, (namespace or "") if namespaced else "", name)

    def names(self, names: Sequence[str], doc: Document, pointer_of: Any) -> tuple[str, ...]:
        """Cluster names written in ``doc`` (``pointer_of(i)`` locates the i-th); unknown ones are errors."""
        check_names(((n, pointer_of(i)) for i, n in enumerate(names)), self.known, doc, self.problems)
        return tuple(names)


def federated_target(
    doc: Document, ctx: Context, federated_kind: str, config_api: str = ""
) -> TargetType | None:
    """The type a ``Federated<Kind>`` renders, or None (and a problem at its kind) when none is registered."""
    target_kind = federated_kind[len("Federated") :]
    target = ctx.types.get(target_kind)
    if target is None:
        which = f" ({config_api})" if config_api else ""
        ctx.problems.add(
            f"unknown federated type {federated_kind}: register {target_kind} with a"
            f" FederatedTypeConfig{which} among the templates",
            doc.location("/kind"),
        )
    return target


def outdated_template(
    doc: Document,
    ctx: Context,
    federated_kind: str,
    target: TargetType,
    api_version: str,
    body: Any,
    body_pointer: str,
) -> None:
    """A problem for each field of an older API version, when fanout chose the version (no type config)."""
    if FEDERATED_TYPES.get(target.kind) is not target or api_version != target.api_version:
        return
    for pointer, message in outdated_fields(target.kind, api_version, body):
        ctx.problems.add(
            f"{message}; {federated_kind} renders as {api_version} because no FederatedTypeConfig among the"
            f" templates names another version: rewrite the template for {api_version}, or add the type"
            " config your control plane used",
            doc.location(body_pointer + pointer),
        )


def strip_fanout_annotations(metadata: dict[str, Any]) -> None:
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        kept = {k: v for k, v in annotations.items() if not k.startswith(ANNOTATION_PREFIX)}
        if kept:
            metadata["annotations"] = kept
        else:
            del metadata["annotations"]


def template(
    doc: Document,
    obj: dict[str, Any],
    ident: ObjectId,
    api: str,
    namespaced: bool,
    placement: Placement,
    inline: Mapping[str, Patch] | None = None,
    body_pointer: str = "",
    namespace_rule: str = NS_FREE,
    defines_namespace: bool = False,
) -> Template:
    scan = Scan().walk(obj, "")
    return Template(
        doc,
        obj,
        ident,
        api,
        namespaced,
        placement,
        dict(inline or {}),
        scan.refs,
        scan.escapes,
        body_pointer,
        namespace_rule,
        defines_namespace,
        uses=scan.uses,
    )


def scope_key(api_version: str, kind: str) -> str:
    """The kind as fanout.yaml's ``scopes`` names it: ``Kind.group``, or ``Kind`` for the core group."""
    group = group_of(api_version)
    return f"{kind}.{group}" if group else kind


def crd_scopes(docs: Iterable[Document]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for every CustomResourceDefinition among the templates."""
    return {key: namespaced for key, namespaced, _ in crd_scope_docs(docs)}


def crd_scope_docs(docs: Iterable[Document]) -> Iterator[tuple[tuple[str, str], bool, Document]]:
    """((group, kind), namespaced, the CustomResourceDefinition) for each one among ``docs``."""
    for doc in docs:
        data = doc.data
        if isinstance(data, dict) and data.get("kind") == "CustomResourceDefinition":
            spec = data.get("spec")
            if isinstance(spec, dict) and isinstance(spec.get("names"), dict):
                key = (str(spec.get("group", "")), str(spec["names"].get("kind", "")))
                yield key, spec.get("scope") != "Cluster", doc


def check_scopes(config: Config, crds: Iterable[Document], problems: Problems) -> None:
    """fanout.yaml's ``scopes`` may only name kinds whose scope fanout does not already know, or agree."""
    defined = {key: (namespaced, doc) for key, namespaced, doc in crd_scope_docs(crds)}
    for entry in config.scopes:
        said = "Namespaced" if entry.namespaced else "Cluster"
        found = defined.get((entry.group, entry.kind))
        if found is not None and found[0] != entry.namespaced:
            problems.add(
                f"{entry.kind} is {said} here, but the CustomResourceDefinition at"
                f" {found[1].location()} defines it {'Namespaced' if found[0] else 'Cluster'}-scoped:"
                " remove this entry",
                entry.at,
            )
        elif found is None and entry.kind in (CLUSTER_SCOPED if entry.namespaced else NAMESPACED):
            known = "cluster-scoped" if entry.namespaced else "namespaced"
            problems.add(
                f"{entry.kind} is a Kubernetes kind, {known}: its scope cannot be changed; remove this entry",
                entry.at,
            )


# --- per-cluster overrides written inside a federated object -----------------------------------


def dotted_pointer(path: str) -> str | None:
    """federation-v2's ``spec.replicas`` as the JSON Pointer ``/spec/replicas``; None if it cannot be one."""
    parts = path.split(".")
    if not path or any(not p for p in parts):
        return None
    return "".join("/" + escape(p) for p in parts)


def override_ops(
    raw_ops: Sequence[Mapping[str, Any]], base: str, ctx: Context, doc: Document
) -> tuple[PatchOp, ...]:
    """One cluster's ``clusterOverrides``, as the federation controllers applied them.

    A path written as a JSON Pointer is a JSON Patch op (``replace`` by default, which also adds a key
    its parent lacks, as KubeFed's JSON Patch library did). A dotted path (``spec.replicas``, federation-v2
    before KubeFed 0.1.0-rc3) set the value, creating missing parent mappings, as ``SetNestedField`` did.
    """
    ops = []
    for index, raw in enumerate(raw_ops):
        pointer = f"{base}/{index}"
        path = str(raw["path"])
        if path.startswith("/"):
            op = str(raw.get("op", "replace"))
            ops.append(PatchOp(op, path, pointer, raw.get("value"), "value" in raw, upsert=op == "replace"))
            continue
        converted = dotted_pointer(path)
        if converted is None or "op" in raw:
            why = "an op needs a JSON Pointer path" if converted is not None else "it is not a dotted path"
            ctx.problems.add(f"override path {path!r} cannot be read: {why}", doc.location(pointer + "/path"))
            continue
        # federation-v2 always set the value; a missing value was JSON null.
        ops.append(PatchOp("add", converted, pointer, raw.get("value"), True, parents=True))
    result = tuple(ops)
    check_ops(result, doc, ctx.problems)
    return result


def inline_overrides(
    entries: Sequence[Mapping[str, Any]], base: str, ctx: Context, doc: Document
) -> dict[str, Patch]:
    """``[{clusterName, clusterOverrides}]`` as one patch per cluster (KubeFed's ``spec.overrides``)."""
    inline: dict[str, Patch] = {}
    for index, entry in enumerate(entries):
        cluster = entry["clusterName"]
        pointer = f"{base}/{index}"
        ctx.names([cluster], doc, lambda _i, p=pointer: p + "/clusterName")
        if cluster in inline:
            ctx.problems.add(
                f"cluster {cluster!r} has two override entries in this object",
                doc.location(pointer + "/clusterName"),
            )
            continue
        ops = override_ops(entry.get("clusterOverrides") or [], pointer + "/clusterOverrides", ctx, doc)
        seen: set[str] = set()
        for op in ops:
            if op.path in seen:  # KubeFed refused an object that overrides a path twice for a cluster
                ctx.problems.add(
                    f"path {op.path} is overridden twice for cluster {cluster!r}",
                    doc.location(op.pointer + "/path"),
                )
            seen.add(op.path)
        inline[cluster] = make_patch(
            f"{doc.label}@{cluster}", f"{doc.label} (inline override for {cluster})", doc, ops, None, None
        )
    return inline
