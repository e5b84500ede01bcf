"""Stage 4, place: which templates go to which cluster, and which overrides apply, in which order."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from fanout.core.errors import Problem, Problems
from fanout.core.images import ImageRule, matches, updated
from fanout.core.model import Cluster, Inputs, LabelGroups, ObjectId, Override, Patch, Template
from fanout.kube.kinds import REMOVED_APIS
from fanout.render.images import image_fields


@dataclass(frozen=True, eq=False)
class Job:
    """One object to render in one cluster: its template and the patches to apply, in order."""

    template: Template
    patches: tuple[Patch, ...]


@dataclass(frozen=True, eq=False)
class ClusterPlan:
    cluster: Cluster
    jobs: tuple[Job, ...]


def _matching_overrides(
    inputs: Inputs, groups: LabelGroups
) -> dict[int, list[tuple[Override, frozenset[str]]]]:
    """For each template (by index), the overrides that name it, with the clusters each selects."""
    selected = {id(o): o.selected(groups) for o in inputs.overrides}
    result: dict[int, list[tuple[Override, frozenset[str]]]] = {}
    for index, template in enumerate(inputs.templates):
        result[index] = [
            (o, selected[id(o)])
            for o in inputs.overrides
            if any(ref.matches(template) for ref in o.resources)
        ]
    return result


def _one_namespace(
    override: Override,
    templates: Sequence[Template],
    placements: Sequence[frozenset[str]],
    overrides_of: Mapping[int, list[tuple[Override, frozenset[str]]]],
    problems: Problems,
) -> None:
    """A strategic patch that names its object without a namespace must find one object in a cluster.

    kustomize takes a patch without ``target:`` for exactly one object, and a patch without a namespace
    for the one in ``default`` (api/resource/resource.go ``CurId``, resid ``IsNsEquals``). fanout takes it
    for the object of that name in whatever namespace its template has (in kustomize the overlay's
    namespace comes after the patches); where two namespaces hold one, it refuses to guess.
    """
    patch = override.patch
    if patch.strategic is None or patch.targeted or override.resources[0].namespace is not None:
        return
    namespaces_in: dict[str, set[str]] = {}
    for index, template in enumerate(templates):
        for candidate, clusters in overrides_of[index]:
            if candidate is override:
                for cluster in clusters & placements[index]:
                    namespaces_in.setdefault(cluster, set()).add(template.ident.namespace or "")
    clashes = {cluster: found for cluster, found in namespaces_in.items() if len(found) > 1}
    if clashes:
        ref = override.resources[0]
        found = sorted(set().union(*clashes.values()))  # only where it clashes
        named = sorted(clashes)
        listed = ", ".join(named[:3]) + (", ..." if len(named) > 3 else "")
        who = f"cluster {named[0]} has" if len(named) == 1 else f"{len(named)} clusters ({listed}) each have"
        each = "each of" if len(named) == 1 else "two or more of"
        problems.add(
            f"the strategic patch names {ref.kind} {ref.name} without a namespace, but {who} one in {each}"
            f" {', '.join(found)}: add metadata.namespace to say which (kubectl kustomize takes the one in"
            " default), or resources: to patch them all",
            override.doc.location("/spec/strategic/metadata"),
        )


def plan(inputs: Inputs, only: Collection[str] | None = None) -> tuple[ClusterPlan, ...]:
    """The render plan for every cluster (or those in ``only``); raises on placement problems."""
    problems = Problems()
    groups = LabelGroups(inputs.clusters)
    placements = [t.placement.selected(groups) for t in inputs.templates]
    overrides_of = _matching_overrides(inputs, groups)

    # An override that reaches no rendered object anywhere is almost always a typo.
    used: set[int] = set()
    for index, candidates in overrides_of.items():
        for override, clusters in candidates:
            if clusters & placements[index]:
                used.add(id(override))
    for override in inputs.overrides:
        if id(override) not in used:
            wanted = ", ".join(
                "every object"
                if (r.kind, r.name) == ("*", "*")
                else f"{r.kind} {r.namespace + '/' if r.namespace else ''}{r.name}"
                for r in override.resources
            )
            problems.add(
                f"override {override.name!r} matches no rendered object in the clusters it selects"
                f" (resources: {wanted})",
                override.doc.location("/spec/resources"),
            )

    for override in inputs.overrides:
        _one_namespace(override, inputs.templates, placements, overrides_of, problems)

    plans = []
    duplicates: dict[tuple[int, int], list[str]] = {}
    shared_jobs: dict[tuple[int, tuple[Patch, ...]], Job] = {}
    # Only templates that share their identity with another can clash in a cluster; this loop runs once
    # per cluster and template (100,000 times at 1,000 clusters), so everything else is worked out here.
    by_ident: dict[ObjectId, list[int]] = {}
    for index, template in enumerate(inputs.templates):
        by_ident.setdefault(template.ident, []).append(index)
    contested = {index for group in by_ident.values() if len(group) > 1 for index in group}
    indexed = [
        (index, template, placements[index], overrides_of[index], template.inline, template.scheduled)
        for index, template in enumerate(inputs.templates)
    ]
    steps_of = {index: template.steps for index, template in enumerate(inputs.templates) if template.steps}
    for cluster in inputs.clusters:
        name = cluster.name
        if only is not None and name not in only:
            continue
        jobs = []
        owner: dict[ObjectId, Template] = {}
        for index, template, placed, candidates, inline, scheduled in indexed:
            if name not in placed:
                continue
            if index in contested:
                first = owner.setdefault(template.ident, template)
                if first is not template:
                    duplicates.setdefault((id(first), index), []).append(name)
                    continue
            applicable = [o for o, clusters in candidates if name in clusters] if candidates else []
            if len(applicable) > 1:
                applicable.sort(key=lambda o: o.sort_key(cluster))
            # The inline overrides, then the replica plan (which replaced inline overrides of its fields).
            patches: tuple[Patch, ...] = ()
            if inline or scheduled:
                first_patches = (inline.get(name), scheduled.get(name))
                patches = tuple(p for p in first_patches if p is not None)
            if index in steps_of:
                patches += steps_of[index].get(name, ())
            if applicable:
                patches += tuple(o.patch for o in applicable)
            # Clusters with the same patches share one Job (at 100,000 jobs, building them shows).
            key = (index, patches)
            job = shared_jobs.get(key)
            if job is None:
                job = shared_jobs[key] = Job(template, patches)
            jobs.append(job)
        plans.append(ClusterPlan(cluster, tuple(jobs)))
    by_id = {id(t): t for t in inputs.templates}
    for (first_id, index), names in duplicates.items():
        template, first = inputs.templates[index], by_id[first_id]
        where = (
            names[0]
            if len(names) == 1
            else f"{len(names)} clusters ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
        )
        this, other = template.placement, first.placement
        same_file = first.doc.location() == template.doc.location()
        one_rendering = (this.because, this.because_at) == (other.because, other.because_at)
        if same_file and this.because_at and one_rendering:
            # One chart rendering that holds the object twice: `helm install` would fail on the second.
            message = (
                f"{template.ident} is rendered twice for the {this.because} at {this.because_at}:"
                f" two documents of this chart template name the same object, in {where}"
            )
        elif same_file and this.because_at and other.because_at:
            # One file twice (a chart that two HelmCharts render): the file alone would name neither.
            message = (
                f"{template.ident}, rendered for the {this.because} at {this.because_at}, is also rendered"
                f" for the {other.because} at {other.because_at}, in {where}"
            )
        else:
            message = f"{template.ident} is also rendered by {first.doc.location()}, in {where}"
        problems.add(message, template.doc.location())
    problems.raise_if_any()
    return tuple(plans)


def warnings(inputs: Inputs) -> list[Problem]:
    """Things that are legal but probably not meant: they do not stop a render, ``validate`` prints them."""
    found = []
    groups = LabelGroups(inputs.clusters)
    for template in inputs.templates:
        placement = template.placement
        # A selector that matches no cluster renders the object nowhere, with exit 0: a typo in a label
        # (env=prdo) would drop it from every cluster unseen. Placements a format's rules set (KubeFed's
        # replica plan, a namespace's reach) say why in `fanout explain`; names that are not clusters are
        # errors already.
        if (
            placement.selector is not None
            and not placement.names_decide
            and placement.replaced is None
            and not placement.selected(groups)
        ):
            found.append(
                Problem(
                    f"{template.ident} is rendered in no cluster: {placement} matches none of the clusters"
                    f" ({len(groups.names)} in the inventory; `fanout clusters` lists their labels)",
                    placement.location(template.doc),
                )
            )
        removal = REMOVED_APIS.get((template.api_version, template.ident.kind))
        if removal is not None:
            found.append(
                Problem(
                    f"{template.ident}: Kubernetes has not served {template.api_version} since"
                    f" {removal.release}, so clusters of today refuse it; render it as {removal.use}"
                    " (`fanout validate --kubernetes` lists what else that version needs)",
                    template.location_of("/apiVersion"),
                )
            )
        for name, patch in template.inline.items():
            cluster = next(c for c in inputs.clusters if c.name == name)
            if not template.placement.selects(cluster):
                found.append(
                    Problem(
                        f"inline override for cluster {name!r} has no effect:"
                        f" {template.ident} is not placed there",
                        patch.location,
                    )
                )
    for override in inputs.overrides:
        found += _unmatched_images(override, inputs.templates)
    return found


_REFERENCE = re.compile(r"\$\{[^}]*\}")


def _unmatched_images(override: Override, templates: Sequence[Template]) -> list[Problem]:
    """An ``images:`` entry that names no image of the templates its Override reaches changes nothing
    (kustomize says nothing either): almost always a misspelt name. Judged on the templates as written,
    entry after entry; an image with a ``${cluster.…}`` reference could become anything, so then nothing
    is said."""
    entries = override.patch.images
    if not isinstance(entries, list):
        return []
    images: set[str] = set()
    for template in templates:
        if any(ref.matches(template) for ref in override.resources):
            for _, value in image_fields(template.obj):
                if isinstance(value, str):
                    images.add(value)
    if any("${" in image for image in images):
        return []
    found = []
    for index, entry in enumerate(entries):
        # A reference in a tag, digest or suffix is some valid tag text; in a name, anything.
        texts = {
            k: v if k in ("name", "newName") else _REFERENCE.sub("x", v)
            for k, v in entry.items()
            if isinstance(v, str)
        }
        rule = ImageRule.of(texts)
        if "${" in rule.name:
            break
        if not any(matches(image, rule.name) for image in images):
            found.append(
                Problem(
                    f"images: {rule.name!r} matches no image of the objects this Override reaches, so it"
                    " changes nothing (kubectl kustomize says nothing either)",
                    override.doc.location(f"/spec/images/{index}/name"),
                )
            )
        if "${" in rule.new_name:
            break
        images = {updated(image, rule) for image in images}
    return found
