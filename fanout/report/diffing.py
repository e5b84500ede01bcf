"""Compare rendered objects: two clusters of one rendering, or every cluster of two renderings.

Pure: renderings in, frozen data out. Objects are matched by identity (group, kind, namespace, name),
compared by value, and shown as a unified diff of their YAML (without fanout's header comment, which
names the inputs rather than the object). Clusters whose changes are identical are grouped, so a change
that reaches forty clusters is read once. Secret values never reach a diff.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fanout.core.errors import visible
from fanout.core.fielddiff import FieldChange, ObjectStatus, canonical, field_changes
from fanout.core.model import ObjectId
from fanout.render.emit import dump
from fanout.render.pipeline import ClusterOutput, RenderedObject, Rendering

ClusterStatus = Literal["added", "removed", "changed", "unchanged"]

SECRET_KIND = "Secret"
SECRET_FIELDS = ("data", "stringData")
HIDDEN = "<hidden>"
CHANGED = "<changed>"
CONTEXT_LINES = 3


@dataclass(frozen=True)
class Side:
    """One side of a comparison, as people and machines should be told about it."""

    label: str  # "HEAD", "working tree", "prod-1"
    ref: str | None = None  # the git revision asked for, if any
    commit: str | None = None  # the commit read, if any
    cluster: str | None = None  # in cluster-to-cluster mode, the cluster on this side


@dataclass(frozen=True)
class ObjectChange:
    ident: ObjectId
    api_version: str
    path: str  # in the cluster's output folder
    status: ObjectStatus
    diff: tuple[str, ...]  # unified diff lines, without line ends
    fields: tuple[FieldChange, ...]  # for a changed object, every value that differs (Secret values masked)
    # What makes two clusters' changes "the same change": the field changes, or the whole object when it
    # is added or removed. Context lines and line numbers of the diff may differ between clusters.
    signature: str = field(repr=False, default="")


@dataclass(frozen=True)
class ClusterDiff:
    name: str  # for people: "prod-1", or "dev-1 → prod-1" between two clusters
    base: str | None  # the cluster on the base side; None when it exists only on the head side
    head: str | None
    changes: tuple[ObjectChange, ...]

    @property
    def status(self) -> ClusterStatus:
        if self.base is None:
            return "added"
        if self.head is None:
            return "removed"
        return "changed" if self.changes else "unchanged"

    def count(self, status: ObjectStatus) -> int:
        return sum(1 for c in self.changes if c.status == status)


@dataclass(frozen=True)
class Group:
    """Object changes that happen alike in exactly these clusters; ``changes`` are the first cluster's."""

    clusters: tuple[ClusterDiff, ...]
    changes: tuple[ObjectChange, ...]
    # False when the clusters' diffs differ in their unchanged (context) lines, so the one shown is the
    # first cluster's.
    same_diff: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.clusters)


@dataclass(frozen=True)
class Comparison:
    mode: Literal["clusters", "refs"]
    base: Side
    head: Side
    clusters: tuple[ClusterDiff, ...]  # every cluster compared, in name order, unchanged ones included
    groups: tuple[Group, ...]  # the clusters that differ, grouped by identical changes

    @property
    def differs(self) -> bool:
        return any(c.status != "unchanged" for c in self.clusters)

    @property
    def changed_clusters(self) -> tuple[ClusterDiff, ...]:
        return tuple(c for c in self.clusters if c.status != "unchanged")

    def total(self, status: ObjectStatus) -> int:
        return sum(c.count(status) for c in self.clusters)


def is_secret(ident: ObjectId) -> bool:
    return ident.secret


def _mask_field(value: Any, other: Any, changed_marker: bool) -> Any:
    if not isinstance(value, dict):
        if value is None:
            return None
        return CHANGED if changed_marker and other is not None and other != value else HIDDEN
    masked = {}
    for key, item in value.items():
        differs = isinstance(other, dict) and key in other and other[key] != item
        masked[key] = CHANGED if changed_marker and differs else HIDDEN
    return masked


def mask_secret(
    base: Mapping[str, Any] | None, head: Mapping[str, Any] | None
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """Both sides of a Secret with every data/stringData value replaced; a value that differs reads
    ``<changed>`` on the head side, every other value ``<hidden>``."""

    def masked(obj: Mapping[str, Any] | None, other: Mapping[str, Any] | None, marker: bool) -> Any:
        if obj is None:
            return None
        result = dict(obj)
        for name in SECRET_FIELDS:
            if name in result:
                result[name] = _mask_field(result[name], (other or {}).get(name), marker)
        return result

    return masked(base, head, False), masked(head, base, True)


def _yaml_lines(obj: Mapping[str, Any] | None) -> list[str]:
    # Shown to people (terminal, pull-request comment): bidirectional controls and the like as escapes, so
    # that a line reads as what it is (YAML's own quoting leaves U+202E and friends raw). split("\n"), not
    # splitlines(): a U+2028 in a value is not a line break of the YAML.
    return [] if obj is None else [visible(line, tabs=True) for line in dump(obj).split("\n")[:-1]]


def object_change(
    ident: ObjectId,
    api_version: str,
    path: str,
    base: Mapping[str, Any] | None,
    head: Mapping[str, Any] | None,
    base_prefix: str,
    head_prefix: str,
) -> ObjectChange:
    """The change between two versions of one object (None: absent), Secret values masked throughout."""
    if is_secret(ident):
        base, head = mask_secret(base, head)
    lines = difflib.unified_diff(
        _yaml_lines(base),
        _yaml_lines(head),
        fromfile=visible(f"{base_prefix}/{path}") if base is not None else "/dev/null",
        tofile=visible(f"{head_prefix}/{path}") if head is not None else "/dev/null",
        n=CONTEXT_LINES,
        lineterm="",
    )
    if base is None or head is None:
        status: ObjectStatus = "added" if base is None else "removed"
        fields: tuple[FieldChange, ...] = ()
        signature = canonical(head if head is not None else base)
    else:
        status = "changed"
        fields = tuple(field_changes(base, head))
        signature = json.dumps([[f.path, f.op, f.before, f.after] for f in fields], sort_keys=True)
    return ObjectChange(ident, api_version, path, status, tuple(lines), fields, signature)


def compare_objects(
    base: Sequence[RenderedObject], head: Sequence[RenderedObject], base_prefix: str, head_prefix: str
) -> tuple[ObjectChange, ...]:
    """Added, removed and changed objects, in apply order; ``*_prefix`` starts the diff's file names."""
    before = {o.ident: o for o in base}
    after = {o.ident: o for o in head}
    found: list[tuple[tuple[int, str], ObjectChange]] = []
    for ident in [*after, *(i for i in before if i not in after)]:
        old, new = before.get(ident), after.get(ident)
        if (
            old is not None
            and new is not None
            # The same file (header included) is the same object: no need to compare them field by field.
            and (old.content == new.content or canonical(old.obj) == canonical(new.obj))
        ):
            continue
        shown = new if new is not None else old
        assert shown is not None
        change = object_change(
            ident,
            str(shown.obj.get("apiVersion", "")),
            shown.path,
            old.obj if old is not None else None,
            new.obj if new is not None else None,
            base_prefix,
            head_prefix,
        )
        found.append(((shown.order, shown.path), change))
    found.sort(key=lambda item: item[0])
    return tuple(change for _, change in found)


def _key(change: ObjectChange) -> str:
    return f"{change.ident}|{change.status}|{change.signature}"


def group(clusters: Sequence[ClusterDiff]) -> tuple[Group, ...]:
    """Sections for reading: each object change goes with the exact set of clusters it happens in, and
    changes with the same set of clusters share a section. One edited override gives one section however
    many clusters it reaches; a change of its own in one cluster gets a section of its own. Sections come
    in the order their first change is met, clusters in name order and objects in apply order."""
    seen: dict[str, list[tuple[ClusterDiff, ObjectChange]]] = {}
    empty: dict[str, list[ClusterDiff]] = {}  # clusters added or removed without any object
    for cluster in clusters:
        if cluster.status == "unchanged":
            continue
        if not cluster.changes:
            empty.setdefault(cluster.status, []).append(cluster)
        for change in cluster.changes:
            seen.setdefault(_key(change), []).append((cluster, change))
    sections: dict[tuple[str, ...], list[list[tuple[ClusterDiff, ObjectChange]]]] = {}
    for members in seen.values():
        sections.setdefault(tuple(c.name for c, _ in members), []).append(members)
    groups = [
        Group(
            tuple(c for c, _ in changes[0]),
            tuple(members[0][1] for members in changes),
            all(len({change.diff for _, change in members}) == 1 for members in changes),
        )
        for changes in sections.values()
    ]
    groups.extend(Group(tuple(members), ()) for members in empty.values())
    return tuple(groups)


def compare_clusters(rendering: Rendering, base: str, head: str, side: Side | None = None) -> Comparison:
    """How cluster ``head``'s objects differ from cluster ``base``'s, in one rendering."""
    outputs = {c.cluster.name: c for c in rendering.clusters}
    changes = compare_objects(outputs[base].objects, outputs[head].objects, base, head)
    where = side or Side("")
    diff = ClusterDiff(f"{base} → {head}", base, head, changes)
    return Comparison(
        "clusters",
        Side(base, where.ref, where.commit, base),
        Side(head, where.ref, where.commit, head),
        (diff,),
        group([diff]),
    )


def compare_renderings(
    base: Rendering, head: Rendering, base_side: Side, head_side: Side, only: Collection[str] | None = None
) -> Comparison:
    """For every cluster on either side (or those in ``only``), what changed from ``base`` to ``head``."""
    before = {c.cluster.name: c for c in base.clusters}
    after = {c.cluster.name: c for c in head.clusters}
    names = sorted(n for n in before.keys() | after.keys() if only is None or n in only)
    diffs = [cluster_diff(name, before.get(name), after.get(name)) for name in names]
    return refs_comparison(diffs, base_side, head_side)


def cluster_diff(name: str, old: ClusterOutput | None, new: ClusterOutput | None) -> ClusterDiff:
    """What changed in cluster ``name`` from ``old`` to ``new`` (None: not rendered on that side)."""
    changes = compare_objects(
        old.objects if old is not None else (), new.objects if new is not None else (), "a", "b"
    )
    return ClusterDiff(name, name if old is not None else None, name if new is not None else None, changes)


def refs_comparison(diffs: Sequence[ClusterDiff], base_side: Side, head_side: Side) -> Comparison:
    """Every cluster's diff between two revisions (in name order), grouped."""
    return Comparison("refs", base_side, head_side, tuple(diffs), group(diffs))
