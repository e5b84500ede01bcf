"""The story of one object in one cluster: its template, why it was placed, each patch, a field's values.

Pure: inputs in, frozen data out (``fanout.report.explainview`` tells it as text or JSON). The field's
history is computed by replaying what ``patch.render_object`` does, one step at a time, so it cannot
disagree with ``fanout render``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonpointer

from fanout.core.document import split_pointer
from fanout.core.errors import FanoutError, Location
from fanout.core.model import Cluster, Inputs, ObjectId, Override, Patch, Placement, Template
from fanout.core.substitute import Unresolved, resolve, substitute
from fanout.core.validate import did_you_mean
from fanout.render.emit import object_path
from fanout.render.images import is_image_field
from fanout.render.patch import PatchFailure, apply_patch
from fanout.render.place import plan
from fanout.render.strategic import written_at
from fanout.report.diffing import SECRET_FIELDS, is_secret
from fanout.report.provenance import images_entry

# Values longer than this are shortened in a field's history; the rendered file has them whole.
VALUE_WIDTH = 80


@dataclass(frozen=True)
class Target:
    """What the user asked about: ``deployment.apps/pacman`` with an optional namespace."""

    kind: str  # lower case
    group: str | None  # None: any group
    name: str
    namespace: str | None

    def __str__(self) -> str:
        kind = self.kind + (f".{self.group}" if self.group is not None else "")
        return f"{kind}/{self.name}" + (f" in namespace {self.namespace}" if self.namespace else "")


def parse_target(text: str, namespace: str | None) -> Target:
    """``KIND/NAME`` where KIND is ``Deployment``, ``deployment``, ``deployments`` or ``deployment.apps``."""
    kind, slash, name = text.partition("/")
    if not slash or not kind or not name or "/" in name:
        raise FanoutError.at(f"{text!r}: expected KIND/NAME, for example deployment/pacman")
    kind, dot, group = kind.partition(".")
    return Target(kind.lower(), group.lower() if dot else None, name, namespace or None)


# kubectl's short names for the kinds people type most.
SHORT_NAMES = {
    "cj": "cronjob",
    "cm": "configmap",
    "crd": "customresourcedefinition",
    "deploy": "deployment",
    "ds": "daemonset",
    "hpa": "horizontalpodautoscaler",
    "ing": "ingress",
    "netpol": "networkpolicy",
    "ns": "namespace",
    "pc": "priorityclass",
    "pdb": "poddisruptionbudget",
    "pvc": "persistentvolumeclaim",
    "rs": "replicaset",
    "sa": "serviceaccount",
    "sc": "storageclass",
    "sts": "statefulset",
    "svc": "service",
}


def _kind_matches(asked: str, kind: str) -> bool:
    kind = kind.lower()
    asked = SHORT_NAMES.get(asked, asked)
    return asked in (kind, kind + "s", kind + "es") or (kind.endswith("y") and asked == kind[:-1] + "ies")


def matches(target: Target, ident: ObjectId) -> bool:
    return (
        _kind_matches(target.kind, ident.kind)
        and (target.group is None or target.group == ident.group.lower())
        and target.name == ident.name
        and (target.namespace is None or target.namespace == ident.namespace)
    )


def short_location(location: Location) -> str:
    return f"{location.path}:{location.line}"


# --- placement --------------------------------------------------------------------------------


def _labels(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(none)"


@dataclass(frozen=True)
class Narrowing:
    """A KubeFed rule that replaced the written placement with a list of clusters."""

    because: str
    location: Location | None
    names: tuple[str, ...]
    kept: bool  # the cluster is among ``names``


@dataclass(frozen=True)
class PlacementStory:
    placed: bool
    rule: str  # the placement written in the template: "selector env=prod", "every cluster"
    location: Location
    reasons: tuple[str, ...]  # how the written placement treats the cluster
    labels: str  # the cluster's labels, for the reader to compare
    narrowed: tuple[Narrowing, ...] = ()  # then, in order, what KubeFed's rules made of it


def place_story(template: Template, cluster: Cluster) -> PlacementStory:
    replacements: list[Placement] = []
    placement: Placement = template.placement
    while placement.replaced is not None:
        replacements.append(placement)
        placement = placement.replaced
    narrowed = tuple(
        Narrowing(p.because, p.because_at, p.names or (), p.selects(cluster)) for p in reversed(replacements)
    )
    placed = template.placement.selects(cluster)
    reasons: list[str] = []
    if placement.note:
        reasons.append(placement.note)
    if cluster.name in placement.reasons:  # the source format's own reason replaces the list's
        reasons.append(f"cluster {cluster.name} {placement.reasons[cluster.name]}")
    elif placement.names is not None:
        if cluster.name in placement.names:
            reasons.append(f"cluster {cluster.name} is listed by name")
        elif placement.names:
            reasons.append(f"cluster {cluster.name} is not in the list of names")
        else:
            reasons.append("the list of clusters is empty, which places the object nowhere")
    if placement.selector is not None:
        requirements = placement.selector.requirements
        if not requirements:
            reasons.append("the empty selector {} selects every cluster")
        for requirement in requirements:
            value = cluster.labels.get(requirement.key)
            has = f"{requirement.key}={value}" if value is not None else f"no {requirement.key} label"
            verdict = "matches" if requirement.matches(cluster.labels) else "fails"
            reasons.append(f"{requirement} {verdict} (the cluster has {has})")
    where = placement.location(template.doc)
    return PlacementStory(placed, str(placement), where, tuple(reasons), _labels(cluster.labels), narrowed)


# --- patches and a field's history ------------------------------------------------------------


@dataclass(frozen=True)
class PatchStory:
    label: str  # "overrides/prod.yaml (prod-replicas)"
    location: Location
    why: str  # why this patch applies to this cluster
    steps: tuple[tuple[str, Location], ...]  # "merge", "replace /spec/replicas", with where each is written


@dataclass(frozen=True)
class FieldStep:
    source: str  # "template" or the patch's label
    location: Location
    present: bool
    value: Any
    note: str = ""  # e.g. the reference a substituted value came from


@dataclass(frozen=True)
class Failure:
    step: str
    location: Location | None
    message: str


def _why(patch: Patch, template: Template, cluster: Cluster, override: Override | None) -> str:
    if patch.because:
        return patch.because
    if patch is template.scheduled.get(cluster.name):
        # The label reads "<file> (replica scheduling: 3 of 10)"; the file is shown beside it already.
        detail = patch.label[len(patch.doc.label) :].strip(" ()")
        after = ", applied after the inline overrides" if template.inline.get(cluster.name) else ""
        return f"{patch.doc.data.get('kind', 'schedule')} ({detail}){after}"
    if override is None:
        return f"inline override for cluster {cluster.name} (spec.overrides)"
    how = (
        f"names cluster {cluster.name}"
        if cluster.name in override.names
        else f"its selector {override.selector} matches"
    )
    priority = f", priority {override.priority}" if override.priority else ""
    return f"Override {override.name} ({how}{priority})"


# What explain says of an object that a strategic patch deletes from the cluster.
REMOVED = "$patch: delete removes the object from this cluster"


def patch_story(patch: Patch, why: str) -> PatchStory:
    steps: list[tuple[str, Location]] = []
    if patch.merge is not None and patch.merge_pointer is not None:
        steps.append(("merge patch", patch.doc.location(patch.merge_pointer)))
    if patch.strategic is not None and patch.strategic_pointer is not None:
        mode = f"strategic merge patch ({patch.strategic_mode})"
        steps.append((mode, patch.doc.location(patch.strategic_pointer)))
    if patch.images is not None and patch.images_pointer is not None:
        steps.append(("images (kustomize's images:)", patch.doc.location(patch.images_pointer)))
    for op in patch.ops:
        text = f"{op.op} {op.path}" + (f" from {op.from_}" if op.from_ is not None else "")
        steps.append((text, patch.doc.location(op.pointer)))
    return PatchStory(patch.label, patch.location, why, tuple(steps))


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _merge_touches(merge: Any, pointer: str) -> bool:
    """Whether a merge patch sets ``pointer``, something inside it, or replaces a parent of it."""
    current = merge
    for token in split_pointer(pointer):
        if not isinstance(current, dict):
            return True  # the merge patch replaces a parent with this value
        if token not in current:
            return False
        current = current[token]
    return True


def touches(patch: Patch, pointer: str) -> bool:
    """Whether the patch writes ``pointer`` (or a part or parent of it), whatever the value."""
    if patch.merge is not None and _merge_touches(patch.merge, pointer):
        return True
    if patch.strategic is not None and _merge_touches(patch.strategic_writes, pointer):
        return True
    if patch.images is not None and is_image_field(pointer):
        return True
    return any(
        _related(op.path, pointer) or (op.from_ is not None and _related(op.from_, pointer))
        for op in patch.ops
    )


def field_location(patch: Patch, pointer: str, result: Any = None) -> Location:
    """Where in the patch's document the change to ``pointer`` is written (the last op touching it)."""
    for op in reversed(patch.ops):
        if _related(op.path, pointer) or (op.from_ is not None and _related(op.from_, pointer)):
            return patch.doc.location(op.pointer)
    if patch.merge is not None and patch.merge_pointer is not None:
        # The deepest key of the merge patch on the way to the field.
        return patch.doc.location(patch.merge_pointer + pointer)
    if patch.strategic is not None and patch.strategic_pointer is not None:
        written = written_at(patch.strategic_writes, pointer, result)
        return patch.doc.location(patch.strategic_pointer + (written if written is not None else ""))
    if patch.images_pointer is not None:
        return patch.doc.location(patch.images_pointer + images_entry(patch, result, pointer))
    return patch.location


def _get(obj: Any, pointer: str) -> tuple[bool, Any]:
    try:
        return True, copy.deepcopy(jsonpointer.resolve_pointer(obj, pointer))
    except jsonpointer.JsonPointerException:
        return False, None


def _same(a: tuple[bool, Any], b: tuple[bool, Any]) -> bool:
    return a[0] == b[0] and json.dumps(a[1], sort_keys=True) == json.dumps(b[1], sort_keys=True)


def secret_pointer(ident: ObjectId, pointer: str) -> bool:
    parts = split_pointer(pointer)
    return is_secret(ident) and (not parts or parts[0] in SECRET_FIELDS)


def _refs_note(template: Template, pointer: str) -> str:
    present, raw = _get(template.obj, pointer)
    if present and isinstance(raw, str) and "${cluster." in raw:
        return f"from {raw}"
    return ""


@dataclass(frozen=True)
class Replay:
    history: tuple[FieldStep, ...]  # the template, then each patch that wrote or changed the field
    failure: Failure | None
    result: Mapping[str, Any] | None  # the rendered object, unless rendering failed


def replay(template: Template, patches: Sequence[Patch], cluster: Cluster, pointer: str | None) -> Replay:
    """Render the object step by step, as ``render_object`` does, noting ``pointer``'s value as it goes."""
    resolved: dict[str, Any] = {}
    wanted = [(r, template.location_of(p), "template") for r, p in template.refs.items()]
    for patch in patches:
        wanted += [(r, patch.doc.location(p), patch.label) for r, p in patch.refs.items()]
    for ref, where, step in wanted:
        if ref not in resolved:
            try:
                resolved[ref] = resolve(ref, cluster.name, cluster.labels, cluster.values)
            except Unresolved as exc:
                return Replay((), Failure(step, where, f"${{{ref}}} is undefined: {exc}"), None)
    obj: dict[str, Any] = substitute(dict(template.obj), resolved)
    history: list[FieldStep] = []
    if pointer is not None:
        value = _get(obj, pointer)
        history.append(
            FieldStep("template", template.location_of(pointer), *value, _refs_note(template, pointer))
        )
    for patch in patches:
        before = _get(obj, pointer) if pointer is not None else (False, None)
        try:
            patched = apply_patch(obj, patch, resolved, template.ident.secret)
        except PatchFailure as exc:
            where = exc.patch.doc.location(exc.pointer)
            return Replay(tuple(history), Failure(patch.label, where, exc.message), None)
        if patched is None:
            where = patch.doc.location(f"{patch.strategic_pointer}/$patch")
            return Replay(tuple(history), Failure(patch.label, where, REMOVED), None)
        obj = patched
        if pointer is not None:
            after = _get(obj, pointer)
            # A patch that writes the value it already had still decides it: that is where it comes from.
            if not _same(before, after) or touches(patch, pointer):
                history.append(FieldStep(patch.label, field_location(patch, pointer, obj), *after))
    return Replay(tuple(history), None, obj)


# --- the whole story --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """The object is placed on the cluster; ``replay.failure`` is set when rendering it fails."""

    cluster: Cluster
    template: Template
    placement: PlacementStory
    patches: tuple[PatchStory, ...]
    field: str | None
    replay: Replay
    path: str  # in the cluster's output folder


@dataclass(frozen=True)
class Absent:
    """No template with this identity is placed on the cluster; each candidate says why not."""

    cluster: Cluster
    target: Target
    candidates: tuple[tuple[Template, PlacementStory], ...]


Story = Rendered | Absent


def _find_cluster(inputs: Inputs, name: str) -> Cluster:
    for cluster in inputs.clusters:
        if cluster.name == name:
            return cluster
    known = {c.name for c in inputs.clusters}
    raise FanoutError.at(f"unknown cluster {name!r}{did_you_mean(name, known)}")


def _no_template(inputs: Inputs, target: Target) -> FanoutError:
    known = {f"{t.ident.kind.lower()}/{t.ident.name}": t.ident for t in inputs.templates}
    asked = f"{target.kind}/{target.name}"
    close = did_you_mean(asked, known)
    if not close:  # the name alone may be right with another kind, or the other way round
        close = did_you_mean(target.name, {t.ident.name for t in inputs.templates})
    return FanoutError.at(f"no template renders {target}{close}")


def explain(inputs: Inputs, cluster_name: str, target: Target, field: str | None) -> Story:
    cluster = _find_cluster(inputs, cluster_name)
    if field is not None and field != "" and not field.startswith("/"):
        raise FanoutError.at(f"--field {field!r}: expected a JSON Pointer such as /spec/replicas")
    candidates = [t for t in inputs.templates if matches(target, t.ident)]
    if not candidates:
        raise _no_template(inputs, target)
    placed = [t for t in candidates if t.placement.selects(cluster)]
    pool = placed or candidates
    spaces = sorted({t.ident.namespace for t in pool})
    if target.namespace is None and len(spaces) > 1:
        raise FanoutError.at(f"{target} exists in namespaces {', '.join(spaces)}: choose one with -n")
    if not placed:
        return Absent(cluster, target, tuple((t, place_story(t, cluster)) for t in candidates))
    template = placed[0]
    (cluster_plan,) = plan(inputs, {cluster.name})
    job = next(j for j in cluster_plan.jobs if j.template is template)
    owners = {id(o.patch): o for o in inputs.overrides}
    stories = tuple(patch_story(p, _why(p, template, cluster, owners.get(id(p)))) for p in job.patches)
    return Rendered(
        cluster,
        template,
        place_story(template, cluster),
        stories,
        field,
        replay(template, job.patches, cluster, field),
        object_path(template.ident),
    )
