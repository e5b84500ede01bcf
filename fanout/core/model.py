"""Plain data passed between the stages. Nothing here does I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fanout.core.document import Document
from fanout.core.errors import Location, Problem
from fanout.core.limits import DEFAULT_LIMITS, Limits
from fanout.core.selectors import Selector


@dataclass(frozen=True)
class Config:
    clusters: str = "clusters"
    templates: str = "templates"
    overrides: str = "overrides"
    output: str = "rendered"
    charts: str = "charts"  # where HelmChart templates find their charts
    namespace_placement: str | None = None
    # How plain manifests are read: None (fanout's own rules) or "federation-v1" (its annotations).
    format: str | None = None
    # The namespace of namespaced objects written without one (Federation v1: "default").
    default_namespace: str | None = None
    limits: Limits = DEFAULT_LIMITS
    # How ``strategic`` Overrides merge: "kustomize" (as kubectl kustomize) or "kubernetes" (as kubectl
    # patch).
    strategic_merge: str = "kustomize"
    # Karmada's --skipped-propagating-namespaces (anchored regular expressions) and
    # --enable-empty-workload-propagation, for sources read by the Karmada front end.
    karmada_skipped_namespaces: tuple[str, ...] = ("kube-.*",)
    karmada_empty_workloads: bool = False
    # fanout.yaml's ``scopes``: whether kinds fanout has no CustomResourceDefinition for are namespaced.
    scopes: tuple[KindScope, ...] = ()


class KindScope(NamedTuple):
    """One entry of fanout.yaml's ``scopes``: ``Kind.group: Cluster`` (or ``Namespaced``), and where."""

    group: str
    kind: str
    namespaced: bool
    at: Location


# What identifies an object: KubeFed refused overrides of these, and so does fanout (a patch may repeat them
# with the object's own values, as every kustomize patch does).
IDENTITY_PATHS = ("/metadata/name", "/metadata/namespace", "/metadata/generateName", "/kind", "/apiVersion")
# What a kustomize strategic patch with a ``target:`` takes from each object it patches, whatever it says
# itself (kustomize at 12f9e6391464b3ad9dd3fe8182049dc1b1772990: api/resmap/reswrangler.go ``ApplySmPatch``
# gives the patch the object's apiVersion; api/resource/resource.go ``ApplySmPatch`` puts the kind, name
# and namespace back after the merge). kustomize's own example names such a patch ``not-important``.
TARGET_IDENTITY: tuple[tuple[str, ...], ...] = (
    ("apiVersion",),
    ("kind",),
    ("metadata", "name"),
    ("metadata", "namespace"),
)


@dataclass(frozen=True, eq=False)
class Cluster:
    name: str
    labels: Mapping[str, str]
    values: Mapping[str, Any]
    doc: Document
    # What a source format's placement reads besides labels (Karmada: provider, region, zones, taints, and
    # the APIs the cluster serves); never written into the output.
    facts: Mapping[str, Any] = field(default_factory=dict)


class LabelGroups:
    """The clusters grouped by their labels, so that a selector is asked once per distinct set of labels
    rather than once per cluster (1,000 clusters often have a few dozen)."""

    def __init__(self, clusters: Iterable[Cluster]) -> None:
        found: dict[tuple[tuple[str, str], ...], tuple[Mapping[str, str], set[str]]] = {}
        names: set[str] = set()
        for cluster in clusters:
            names.add(cluster.name)
            key = tuple(sorted(cluster.labels.items()))
            found.setdefault(key, (cluster.labels, set()))[1].add(cluster.name)
        self.names = frozenset(names)
        self.groups = tuple((labels, frozenset(group)) for labels, group in found.values())

    def matching(self, selector: Selector) -> frozenset[str]:
        """The names of the clusters whose labels ``selector`` matches."""
        return frozenset().union(*(names for labels, names in self.groups if selector.matches(labels)))


class ObjectId(NamedTuple):
    """What makes two rendered objects the same object in one cluster."""

    group: str
    kind: str
    namespace: str  # "" for cluster-scoped objects
    name: str

    @property
    def secret(self) -> bool:
        """Whether its values stay out of every message (any group: hiding too much is the safe mistake)."""
        return self.kind == "Secret"

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


@dataclass(frozen=True, eq=False)
class PatchOp:
    op: str
    path: str
    pointer: str  # where the op is written in its document
    value: Any = None
    has_value: bool = False
    from_: str | None = None
    # ``replace`` that adds the key when the parent mapping exists but lacks it (the JSON Patch
    # library KubeFed used, evanphx/json-patch v4, did this).
    upsert: bool = False
    # ``add`` that creates missing parent mappings (federation-v2's dotted override paths).
    parents: bool = False


@dataclass(frozen=True, eq=False)
class Patch:
    """One step applied to a rendered object: an inline KubeFed override or an Override document."""

    key: str  # unique and stable, e.g. "overrides/prod.yaml#2"
    label: str  # for people: "overrides/prod.yaml (prod-replicas)"
    doc: Document
    ops: tuple[PatchOp, ...]
    merge: Any = None
    merge_pointer: str | None = None  # where the merge patch is written, when there is one
    refs: Mapping[str, str] = field(default_factory=dict)  # ${cluster...} reference -> pointer of first use
    escapes: bool = False  # holds a "$${" that substitution must turn into "${"
    uses: Mapping[str, int] = field(default_factory=dict)  # reference -> times written
    # A strategic-merge patch (``Override.spec.strategic``), how it merges, and the list keys of the custom
    # resources whose CustomResourceDefinitions are among the templates ((apiVersion, kind) -> schema).
    strategic: Any = None
    strategic_pointer: str | None = None
    strategic_mode: str = "kustomize"
    custom: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    # The Override names its objects with ``resources:``, as a kustomize patch its ``target:`` (``aimed``).
    targeted: bool = False
    # kustomize's ``images:`` entries as written (``Override.spec.images``; fanout.render.images).
    images: Any = None
    images_pointer: str | None = None
    because: str = ""  # why it applies, for people, when its source format says more than its label

    @property
    def aimed(self) -> bool:
        """A kustomize strategic patch with a target: it takes each object's ``TARGET_IDENTITY``."""
        return self.targeted and self.strategic is not None and self.strategic_mode == "kustomize"

    @property
    def strategic_writes(self) -> Any:
        """The strategic patch as far as it writes fields: an aimed one's identity writes nothing."""
        if not self.aimed or not isinstance(self.strategic, dict):
            return self.strategic
        writes = dict(self.strategic)
        if isinstance(writes.get("metadata"), dict):
            writes["metadata"] = dict(writes["metadata"])
        for *parents, key in TARGET_IDENTITY:
            node = writes.get(parents[0]) if parents else writes
            if isinstance(node, dict):
                node.pop(key, None)
        return writes

    @property
    def body_pointer(self) -> str | None:
        """Where the merge or strategic patch body is written, when there is one."""
        return self.merge_pointer or self.strategic_pointer or self.images_pointer

    @property
    def location(self) -> Location:
        return self.doc.location(self.body_pointer or (self.ops[0].pointer if self.ops else ""))


@dataclass(frozen=True, eq=False)
class Placement:
    """Which clusters a template goes to: listed names or the selector (either matches), or everywhere.

    With ``names_decide`` a written list of names decides alone, even when empty, and the selector is
    kept only for rules that read it on its own (KubeFed's ``intersectWithClusterSelector``).
    """

    pointer: str  # where it is written, in ``doc`` or else in the template's document
    names: tuple[str, ...] | None = None
    selector: Selector | None = None
    everywhere: bool = False
    names_decide: bool = False
    doc: Document | None = None  # set when the placement is written in a document of its own
    note: str = ""  # the source format's rule, for people: "no placement goes to no cluster"
    # Set when KubeFed's rules replaced the placement written in the template (replica scheduling, the
    # namespace's FederatedNamespace, a Disabled type): the placement replaced, and why, so that
    # ``fanout explain`` can tell the whole story rather than only the list of names it ended with.
    replaced: Placement | None = None
    because: str = ""
    because_at: Location | None = None
    reasons: Mapping[str, str] = field(default_factory=dict)  # cluster name -> why it is in or out

    def selects(self, cluster: Cluster) -> bool:
        if self.everywhere:
            return True
        if self.names is not None:
            if cluster.name in self.names:
                return True
            if self.names_decide:
                return False
        return self.selector is not None and self.selector.matches(cluster.labels)

    def selected(self, groups: LabelGroups) -> frozenset[str]:
        """The names of the clusters ``selects`` takes, worked out per distinct set of labels."""
        if self.everywhere:
            return groups.names
        named = groups.names.intersection(self.names) if self.names is not None else frozenset()
        if self.names is not None and self.names_decide:
            return named
        return named | groups.matching(self.selector) if self.selector is not None else named

    def location(self, template_doc: Document) -> Location:
        return (self.doc or template_doc).location(self.pointer)

    def narrowed(self, names: tuple[str, ...], because: str, because_at: Location | None = None) -> Placement:
        """This placement replaced by exactly ``names`` (KubeFed's rules), remembering it and why."""
        return Placement(
            self.pointer,
            names=names,
            names_decide=True,
            doc=self.doc,
            replaced=self,
            because=because,
            because_at=because_at,
        )

    def __str__(self) -> str:
        if self.everywhere:
            return "every cluster"
        if self.names is not None and self.names_decide:
            return "clusters [" + ", ".join(self.names) + "]"
        parts = []
        if self.names is not None:
            parts.append("clusters [" + ", ".join(self.names) + "]")
        if self.selector is not None:
            parts.append(f"selector {self.selector}")
        return " or ".join(parts) or "no cluster"


# How a namespaced template depends on the placement of its namespace (see ``fanout.formats.namespaces``).
NS_FREE = ""  # not at all
NS_KUBEFED = "kubefed"  # only where its namespace goes, and nowhere when the namespace has no placement
NS_OWN = "own"  # only where its namespace goes; its own placement when the namespace has none


@dataclass(frozen=True, eq=False)
class Template:
    """One object to render, whatever source format it was written in (see ``fanout.formats``)."""

    doc: Document
    obj: Mapping[str, Any]  # the target object before substitution; never mutated
    ident: ObjectId
    api_version: str
    namespaced: bool
    placement: Placement
    inline: Mapping[str, Patch]  # cluster name -> its inline overrides
    refs: Mapping[str, str]  # ${cluster...} reference -> pointer (into obj) of first use
    escapes: bool
    # Where the object's body is written in ``doc``: "" for a plain manifest, "/spec/template" for a
    # federated object (whose identity is written in its own metadata and kind).
    body_pointer: str = ""
    namespace_rule: str = NS_FREE
    # Its placement is the placement of the namespace it renders (a FederatedNamespace).
    defines_namespace: bool = False
    # cluster name -> the replica plan's patch, applied after the inline overrides
    # (see fanout.formats.scheduling)
    scheduled: Mapping[str, Patch] = field(default_factory=dict)
    uses: Mapping[str, int] = field(default_factory=dict)  # reference -> times written in obj
    # cluster name -> the source format's own patches for it, in order, after the replica plan (Karmada's
    # replica revision, override rules and pruning)
    steps: Mapping[str, tuple[Patch, ...]] = field(default_factory=dict)

    def source_pointer(self, pointer: str) -> str:
        """Where in the template's document the value at ``pointer`` of the target object is written."""
        if not self.body_pointer:
            return pointer
        if pointer in ("/apiVersion", "/kind"):
            return "/kind"
        if pointer in ("/metadata/name", "/metadata/namespace"):
            return pointer
        return self.body_pointer + pointer

    def location_of(self, pointer: str) -> Location:
        return self.doc.location(self.source_pointer(pointer))


class ResourceRef(NamedTuple):
    kind: str  # "*" for every kind
    name: str  # "*" for every object of the kind
    namespace: str | None
    api_version: str | None

    def matches(self, template: Template) -> bool:
        ident = template.ident
        return (
            self.kind in ("*", ident.kind)
            and self.name in ("*", ident.name)
            and (self.namespace is None or self.namespace == ident.namespace)
            and (self.api_version is None or self.api_version == template.api_version)
        )


@dataclass(frozen=True, eq=False)
class Override:
    doc: Document
    name: str
    names: tuple[str, ...]
    selector: Selector | None
    resources: tuple[ResourceRef, ...]
    priority: int
    patch: Patch

    def selects(self, cluster: Cluster) -> bool:
        return cluster.name in self.names or (
            self.selector is not None and self.selector.matches(cluster.labels)
        )

    def selected(self, groups: LabelGroups) -> frozenset[str]:
        """The names of the clusters ``selects`` takes, worked out per distinct set of labels."""
        named = groups.names.intersection(self.names)
        return named | groups.matching(self.selector) if self.selector is not None else named

    def sort_key(self, cluster: Cluster) -> tuple[int, int, tuple[str, int, int]]:
        """Order of application: priority, then selector-only before naming, then file and document."""
        return (self.priority, int(cluster.name in self.names), self.doc.order)


@dataclass(frozen=True, eq=False)
class Inputs:
    """Everything a render needs, validated."""

    config: Config
    clusters: tuple[Cluster, ...]
    templates: tuple[Template, ...]
    overrides: tuple[Override, ...]
    warnings: tuple[Problem, ...] = ()  # not errors, but worth saying (printed on stderr)
