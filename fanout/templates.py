"""Validate stage, templates: KubeFed ``Federated<Kind>`` objects and plain manifests into ``Template``s."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fanout.errors import Problems
from fanout.kinds import CLUSTER_SCOPED, FEDERATED_TYPES, NAMESPACED, TargetType, group_of
from fanout.load import Document
from fanout.model import ObjectId, Patch, Placement, Template
from fanout.selectors import SelectorSyntaxError, parse
from fanout.substitute import Scan
from fanout.validate import (
    ANNOTATION_PREFIX,
    CLUSTERS_ANNOTATION,
    FANOUT_API,
    KUBEFED_TYPES_API,
    PLACEMENT_ANNOTATION,
    check,
    check_names,
    check_ops,
    is_dns_label,
    is_dns_subdomain,
    make_ops,
    make_patch,
    make_selector,
    not_a_mapping,
)


def crd_scopes(docs: Iterable[Document]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for every CustomResourceDefinition among the templates."""
    scopes: dict[tuple[str, str], bool] = {}
    for doc in docs:
        data = doc.data
        if isinstance(data, dict) and data.get("kind") == "CustomResourceDefinition":
            spec = data.get("spec")
            if isinstance(spec, dict) and isinstance(spec.get("names"), dict):
                scopes[(str(spec.get("group", "")), str(spec["names"].get("kind", "")))] = (
                    spec.get("scope") != "Cluster"
                )
    return scopes


def _strip_fanout_annotations(metadata: dict[str, Any]) -> None:
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        kept = {k: v for k, v in annotations.items() if not k.startswith(ANNOTATION_PREFIX)}
        if kept:
            metadata["annotations"] = kept
        else:
            del metadata["annotations"]


class _TemplateBuilder:
    def __init__(
        self,
        known: set[str],
        scopes: Mapping[tuple[str, str], bool],
        types: Mapping[str, TargetType],
        problems: Problems,
    ):
        self.known = known
        self.scopes = scopes
        self.types = types
        self.problems = problems

    def build(self, doc: Document) -> Template | None:
        if not_a_mapping(doc, self.problems):
            return None
        api, kind = str(doc.data.get("apiVersion", "")), str(doc.data.get("kind", ""))
        if api == FANOUT_API:
            self.problems.add(
                f"a {kind or 'fanout'} document does not belong among the templates", doc.location("/kind")
            )
            return None
        if api == KUBEFED_TYPES_API and kind.startswith("Federated"):
            return self.federated(doc, kind)
        return self.plain(doc)

    def _namespaced(self, api_version: str, kind: str, namespace: str | None) -> bool:
        scope = self.scopes.get((group_of(api_version), kind))
        if scope is not None:
            return scope
        if kind in CLUSTER_SCOPED:
            return False
        if kind in NAMESPACED:
            return True
        return namespace is not None  # a kind fanout does not know: trust the manifest

    def _identity(
        self,
        doc: Document,
        api: str,
        kind: str,
        name: str,
        namespace: str | None,
        namespaced: bool,
        ns_pointer: str,
    ) -> ObjectId | None:
        ok = True
        if "${" in name or not is_dns_subdomain(name):
            self.problems.add(
                f"object name {name!r} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')",
                doc.location("/metadata/name"),
            )
            ok = False
        if namespaced:
            if namespace is None:
                self.problems.add(
                    f"{kind} {name!r} is namespaced but has no namespace", doc.location("/metadata")
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

    def _finish(
        self,
        doc: Document,
        obj: dict[str, Any],
        ident: ObjectId,
        api: str,
        namespaced: bool,
        placement: Placement,
        federated: bool,
        inline: dict[str, Patch],
    ) -> Template:
        scan = Scan().walk(obj, "")
        return Template(
            doc, obj, ident, api, namespaced, placement, federated, inline, scan.refs, scan.escapes
        )

    def federated(self, doc: Document, federated_kind: str) -> Template | None:
        found = check(doc, "federated")
        if found:
            self.problems.extend(found)
            return None
        target_kind = federated_kind[len("Federated") :]
        target = self.types.get(target_kind)
        if target is None:
            self.problems.add(
                f"unknown federated type {federated_kind}: register {target_kind} with a FederatedTypeConfig"
                " (core.kubefed.io/v1beta1) among the templates",
                doc.location("/kind"),
            )
            return None
        data = doc.data
        name = data["metadata"]["name"]
        namespace = data["metadata"].get("namespace")
        spec = data["spec"]
        if target.namespaced:
            ident = self._identity(
                doc, target.api_version, target.kind, name, namespace, True, "/metadata/namespace"
            )
        else:  # a FederatedNamespace lives in its own namespace; the Namespace it renders has none
            ident = self._identity(doc, target.api_version, target.kind, name, None, False, "")
        template = dict(spec.get("template") or {})
        metadata: dict[str, Any] = {"name": name}
        if target.namespaced:
            metadata["namespace"] = namespace
        # KubeFed set these itself from the federated object; values in the template are not used.
        for key, value in (template.pop("metadata", None) or {}).items():
            if key not in ("name", "namespace", "generateName"):
                metadata[key] = value
        template.pop("apiVersion", None)
        template.pop("kind", None)
        _strip_fanout_annotations(metadata)
        obj = {"apiVersion": target.api_version, "kind": target.kind, "metadata": metadata, **template}

        placement_data = spec.get("placement")
        if placement_data is None:
            placement = Placement("/spec")
        elif "clusters" in placement_data:  # a list decides, even when empty (KubeFed's rule)
            names = tuple(c["name"] for c in placement_data["clusters"])
            check_names(
                ((n, f"/spec/placement/clusters/{i}/name") for i, n in enumerate(names)),
                self.known,
                doc,
                self.problems,
            )
            placement = Placement("/spec/placement/clusters", names=names)
        elif "clusterSelector" in placement_data:
            selector = make_selector(
                placement_data["clusterSelector"], doc, "/spec/placement/clusterSelector", self.problems
            )
            placement = Placement("/spec/placement/clusterSelector", selector=selector)
        else:
            placement = Placement("/spec/placement")

        inline: dict[str, Patch] = {}
        for index, entry in enumerate(spec.get("overrides") or []):
            cluster = entry["clusterName"]
            pointer = f"/spec/overrides/{index}"
            check_names([(cluster, pointer + "/clusterName")], self.known, doc, self.problems)
            if cluster in inline:
                self.problems.add(
                    f"cluster {cluster!r} has two override entries in this object",
                    doc.location(pointer + "/clusterName"),
                )
                continue
            ops = make_ops(entry.get("clusterOverrides") or [], pointer + "/clusterOverrides", "replace")
            check_ops(ops, doc, self.problems)
            seen: set[str] = set()
            for op in ops:
                if op.path in seen:
                    self.problems.add(
                        f"path {op.path} is overridden twice for cluster {cluster!r}",
                        doc.location(op.pointer + "/path"),
                    )
                seen.add(op.path)
            inline[cluster] = make_patch(
                f"{doc.label}@{cluster}", f"{doc.label} (inline override for {cluster})", doc, ops, None, None
            )
        if ident is None:
            return None
        return self._finish(doc, obj, ident, target.api_version, target.namespaced, placement, True, inline)

    def plain(self, doc: Document) -> Template | None:
        found = check(doc, "manifest")
        if found:
            self.problems.extend(found)
            return None
        data = doc.data
        api, kind = data["apiVersion"], data["kind"]
        name = data["metadata"]["name"]
        namespace = data["metadata"].get("namespace")
        namespaced = self._namespaced(api, kind, namespace)
        ident = self._identity(doc, api, kind, name, namespace, namespaced, "/metadata/namespace")
        annotations = data["metadata"].get("annotations") or {}

        names: tuple[str, ...] | None = None
        selector = None
        if CLUSTERS_ANNOTATION in annotations:
            pointer = f"/metadata/annotations/{CLUSTERS_ANNOTATION.replace('/', '~1')}"
            names = tuple(n.strip() for n in annotations[CLUSTERS_ANNOTATION].split(",") if n.strip())
            check_names(((n, pointer) for n in names), self.known, doc, self.problems)
        if PLACEMENT_ANNOTATION in annotations:
            pointer = f"/metadata/annotations/{PLACEMENT_ANNOTATION.replace('/', '~1')}"
            try:
                selector = parse(annotations[PLACEMENT_ANNOTATION])
            except SelectorSyntaxError as exc:
                self.problems.add(f"invalid {PLACEMENT_ANNOTATION}: {exc}", doc.location(pointer))
        if names is None and selector is None and PLACEMENT_ANNOTATION not in annotations:
            placement = Placement("/metadata", everywhere=True)
        else:
            placement = Placement("/metadata/annotations", names=names, selector=selector)

        metadata = dict(data["metadata"])
        if not namespaced:
            metadata.pop("namespace", None)  # as kubectl does for cluster-scoped kinds
        _strip_fanout_annotations(metadata)
        obj = {**data, "metadata": metadata}
        if ident is None:
            return None
        return self._finish(doc, obj, ident, api, namespaced, placement, False, {})


def build_templates(
    docs: Iterable[Document],
    known: set[str],
    problems: Problems,
    types: Mapping[str, TargetType] = FEDERATED_TYPES,
) -> tuple[Template, ...]:
    docs = list(docs)
    builder = _TemplateBuilder(known, crd_scopes(docs), types, problems)
    templates = (builder.build(doc) for doc in docs)
    return tuple(t for t in templates if t is not None)
