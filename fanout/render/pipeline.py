"""The whole pipeline, source -> load -> validate -> place -> patch -> emit, as two pure-ish calls.

``load_inputs`` reads and validates a source tree; ``render`` turns inputs into per-cluster files.
Objects that come out the same in many clusters (same template, same patches, same referenced
values) are rendered and serialised once and shared.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from fanout.core.errors import Location, Problem, Problems
from fanout.core.limits import DEFAULT_LIMITS, Limits, setting
from fanout.core.model import Cluster, Inputs, ObjectId, Patch, Template
from fanout.core.substitute import Unresolved, resolve
from fanout.core.validate import build_clusters, build_config, build_overrides
from fanout.formats import build_templates
from fanout.formats.lists import expand_lists
from fanout.kube.kinds import apply_order
from fanout.kube.patchmeta import crd_schemas
from fanout.render.emit import KUSTOMIZATION, header, kustomization, object_path, serialize
from fanout.render.patch import PatchFailure, render_object
from fanout.render.place import ClusterPlan, Job, plan
from fanout.source.load import RawSource, read_source
from fanout.source.memo import Memo
from fanout.source.tree import SourceTree


@dataclass(frozen=True, eq=False)
class RenderedObject:
    """One rendered object; shared by every cluster where it comes out the same."""

    ident: ObjectId
    template: Template
    patches: tuple[Patch, ...]
    obj: Mapping[str, Any]
    path: str  # relative to the cluster's folder
    content: bytes
    order: int
    key: bytes = b""  # its key, when the renderer was given a ``Reuse`` (see ``fanout.output.cache``)
    # Set instead of ``content`` when the object was not rendered: the content digest its key had when
    # fanout last wrote its file (``Reuse.known``).
    digest: str = ""


@dataclass(frozen=True, eq=False)
class ClusterOutput:
    cluster: Cluster
    objects: tuple[RenderedObject, ...]  # in apply order

    def files(self) -> dict[str, bytes]:
        files = {o.path: o.content for o in self.objects}
        files[KUSTOMIZATION] = self.kustomization()
        return files

    def kustomization(self) -> bytes:
        """The content of the cluster's ``kustomization.yaml``, the last of its files."""
        return kustomization(o.path for o in self.objects)


@dataclass(frozen=True, eq=False)
class Rendering:
    inputs: Inputs
    clusters: tuple[ClusterOutput, ...]
    warnings: tuple[Problem, ...] = field(default=())

    def files(self) -> dict[str, bytes]:
        """Every output file, keyed ``<cluster>/<path>``."""
        return {f"{c.cluster.name}/{path}": data for c in self.clusters for path, data in c.files().items()}

    @property
    def object_count(self) -> int:
        return sum(len(c.objects) for c in self.clusters)


def validate_inputs(raw: RawSource) -> Inputs:
    problems = Problems()
    problems.extend(raw.problems)
    config = build_config(raw.config, problems)
    clusters = build_clusters(expand_lists(raw.clusters, problems), problems)
    known = {c.name for c in clusters}
    templates, warnings = build_templates(
        expand_lists(raw.templates, problems), config, clusters, problems, raw.files
    )
    custom = crd_schemas(t.obj for t in templates if t.ident.kind == "CustomResourceDefinition")
    overrides = build_overrides(expand_lists(raw.overrides, problems), known, problems, config, custom)
    problems.raise_if_any()
    notes = [n for docs in (raw.clusters, raw.templates, raw.overrides) for doc in docs for n in doc.notes]
    return Inputs(config, clusters, templates, overrides, (*notes, *warnings))


def load_inputs(tree: SourceTree, memo: Memo | None = None) -> Inputs:
    """Read and validate a source tree; raises FanoutError listing every problem.

    ``memo``: what earlier runs read (``fanout.source.memo``); the caller saves it after.
    """
    return validate_inputs(read_source(tree, memo))


_Key = tuple[int, tuple[str, ...], tuple[tuple[str, str], ...]]


class _Removed(Exception):
    """A patch deleted the object from this cluster: not rendered, and not a failure."""


# Objects a lean renderer remembers (see Renderer): a few hundred clusters' worth, a few megabytes.
LEAN_MEMO = 20_000

# What a lean rendering keeps of an object instead of the object: writers only need its file.
_NOT_KEPT: Mapping[str, Any] = MappingProxyType({})


class Reuse(Protocol):
    """What a renderer asks before it renders an object (``fanout.output.cache.Reuse``)."""

    def key(self, job: Job, tokens: tuple[tuple[str, str], ...]) -> bytes:
        """The object's key: a digest of everything its file is made from."""
        ...

    def known(self, cluster: str, path: str, key: bytes) -> str | None:
        """The content digest of the file at ``path`` in ``cluster``'s folder, when it was last written
        from an object with this ``key``."""
        ...


class Renderer:
    """Renders jobs with memoisation, for one render call or, in a worker process, for every chunk of
    clusters it renders (objects are then shared across chunks).

    ``keep_objects=False`` keeps only each object's file (path and bytes), not the object itself
    (``RenderedObject.obj`` is empty): what writing a folder needs, in a fraction of the memory. It also
    remembers only the ``LEAN_MEMO`` objects used last: an object that comes out differently in every
    cluster (it names the cluster) is never asked for again, while one that many clusters share is
    asked for cluster after cluster (clusters alike are rendered one after another) and stays. An object
    forgotten and asked for again is rendered again, to the same bytes.
    """

    def __init__(
        self,
        limits: Limits = DEFAULT_LIMITS,
        keep_objects: bool = True,
        reuse: Reuse | None = None,
        memo_size: int | None = None,
    ) -> None:
        self.limits = limits
        self.keep_objects = keep_objects
        # With ``reuse``: every object carries its key, and one whose key is the one its file was last
        # written from is not rendered (``RenderedObject.digest``). Only for a lean renderer.
        self.reuse = reuse if not keep_objects else None
        self.paths: dict[int, tuple[Template, str]] = {}  # id(template) -> its file's path
        self.memo: OrderedDict[_Key, RenderedObject | None] = OrderedDict()
        # How many objects the memo keeps (the ones used last): every one by default when objects are kept.
        self.memo_size = memo_size if memo_size is not None or keep_objects else LEAN_MEMO
        self.removed: set[_Key] = set()  # jobs whose patches delete the object ($patch: delete)
        self.unresolved: dict[tuple[Location, str, str], list[str]] = defaultdict(list)
        self.failures: dict[tuple[Location, str], list[str]] = defaultdict(list)

    def resolve_all(self, job: Job, cluster: Cluster, cache: dict[str, Any]) -> dict[str, Any] | None:
        wanted: list[tuple[str, Location]] = [
            (r, job.template.location_of(p)) for r, p in job.template.refs.items()
        ]
        for patch in job.patches:
            wanted.extend((r, patch.doc.location(p)) for r, p in patch.refs.items())
        resolved: dict[str, Any] = {}
        ok = True
        for ref, where in wanted:
            if ref in resolved:
                continue
            if ref not in cache:
                try:
                    cache[ref] = resolve(ref, cluster.name, cluster.labels, cluster.values)
                except Unresolved as exc:
                    cache[ref] = exc
            value = cache[ref]
            if isinstance(value, Unresolved):
                self.unresolved[(where, ref, str(value))].append(cluster.name)
                ok = False
            else:
                resolved[ref] = value
        return resolved if ok else None

    def render(self, job: Job, cluster: Cluster, cache: dict[str, Any]) -> RenderedObject | None:
        resolved = self.resolve_all(job, cluster, cache)
        if resolved is None:
            return None
        # A mapping's keys in their order: the object is written in it (clusters whose values differ only in
        # their keys' order once shared one rendering, the first cluster's order).
        tokens = tuple(sorted((ref, json.dumps(value)) for ref, value in resolved.items()))
        if tokens and not self._within_limit(job, cluster, dict(tokens)):
            return None
        key: _Key = (id(job.template), tuple(p.key for p in job.patches), tokens)
        memo = self.memo
        if key in memo:
            rendered = memo[key]
            if self.memo_size is not None:
                memo.move_to_end(key)
            if rendered is None and key not in self.removed:  # failed before: name this cluster too
                self._attempt(job, cluster, resolved)
            return rendered
        object_key = b""
        reuse = self.reuse
        if reuse is not None:
            object_key = reuse.key(job, tokens)
            template = job.template
            found = self.paths.get(id(template))
            if found is None:
                found = self.paths[id(template)] = (template, object_path(template.ident))
            digest = reuse.known(cluster.name, found[1], object_key)
            if digest is not None:
                # Not memoised: a cluster without this record needs the content.
                return RenderedObject(
                    template.ident,
                    template,
                    job.patches,
                    _NOT_KEPT,
                    found[1],
                    b"",
                    apply_order(template.ident.kind, template.namespaced),
                    object_key,
                    digest,
                )
        try:
            rendered = self._attempt(job, cluster, resolved, object_key)
        except _Removed:
            self.removed.add(key)
            rendered = None
        memo[key] = rendered
        if self.memo_size is not None and len(memo) > self.memo_size:
            memo.popitem(last=False)
        return rendered

    def _within_limit(self, job: Job, cluster: Cluster, tokens: Mapping[str, str]) -> bool:
        """Whether substitution stays within maxSubstitutedBytes: a value's size times its uses, summed."""
        owners: tuple[Template | Patch, ...] = (job.template, *job.patches)
        inserted = 0
        for owner in owners:
            inserted += sum(len(tokens[ref]) * count for ref, count in owner.uses.items() if ref in tokens)
        limit = self.limits.max_substituted_bytes
        if inserted <= limit:
            return True
        biggest = max(tokens, key=lambda ref: len(tokens[ref]))
        message = (
            f"substitution would insert about {inserted} bytes into {job.template.ident}, over the limit of"
            f" {limit} (${{{biggest}}} is {len(tokens[biggest])} bytes;"
            f" raise {setting('max_substituted_bytes')})"
        )
        if biggest in job.template.refs:
            where = job.template.location_of(job.template.refs[biggest])
        else:
            patch = next(p for p in job.patches if biggest in p.refs)
            where = patch.doc.location(patch.refs[biggest])
        self.failures[(where, message)].append(cluster.name)
        return False

    def _attempt(
        self, job: Job, cluster: Cluster, resolved: Mapping[str, Any], key: bytes = b""
    ) -> RenderedObject | None:
        """Render the job; on failure, record it against this cluster and return None."""
        template = job.template
        try:
            obj = render_object(template, job.patches, resolved)
        except PatchFailure as exc:
            message = f"patch failed on {template.ident}: {exc.message}"
            self.failures[(exc.patch.doc.location(exc.pointer), message)].append(cluster.name)
            return None
        if obj is None:
            raise _Removed
        content = serialize(obj, header(template.doc.label, (p.label for p in job.patches)))
        return RenderedObject(
            template.ident,
            template,
            job.patches,
            obj if self.keep_objects else _NOT_KEPT,
            object_path(template.ident),
            content,
            apply_order(template.ident.kind, template.namespaced),
            key,
        )

    def problems(self) -> list[Problem]:
        found = []
        for (where, ref, why), names in self.unresolved.items():
            found.append(Problem(f"${{{ref}}} is undefined for {_clusters(names)}: {why}", where))
        for (where, message), names in self.failures.items():
            found.append(Problem(f"{message} (in {_clusters(names)})", where))
        return found


def _clusters(names: list[str]) -> str:
    unique = sorted(set(names))
    shown = ", ".join(unique[:8]) + (f" and {len(unique) - 8} more" if len(unique) > 8 else "")
    return f"cluster {shown}" if len(unique) == 1 else f"clusters {shown}"


def render_plans(
    inputs: Inputs,
    plans: tuple[ClusterPlan, ...],
    on_cluster: Callable[[str], None] | None = None,
    renderer: Renderer | None = None,
) -> Rendering:
    """Render ``plans``; raises FanoutError on any problem (``renderer``: one made for ``inputs``, to share
    objects with earlier calls, or to keep only files)."""
    renderer = renderer if renderer is not None else Renderer(inputs.config.limits)
    outputs = tuple(stream_outputs(plans, renderer, on_cluster))
    raise_problems(renderer)
    return Rendering(inputs, outputs, inputs.warnings)


def check_plans(inputs: Inputs, plans: Sequence[ClusterPlan]) -> int:
    """Render ``plans`` for their problems alone: raises the FanoutError ``render_plans`` raises, else
    returns how many objects they render. Nothing is kept (a lean renderer, each cluster's objects
    dropped once counted), so a fleet is checked in the memory of a few clusters, not of all their objects
    (``fanout validate``, and the report of a render that failed in worker processes)."""
    renderer = Renderer(inputs.config.limits, keep_objects=False)
    count = sum(len(output.objects) for output in stream_outputs(plans, renderer))
    raise_problems(renderer)
    return count


def stream_outputs(
    plans: Iterable[ClusterPlan], renderer: Renderer, on_cluster: Callable[[str], None] | None = None
) -> Iterator[ClusterOutput]:
    """Each plan's cluster rendered in turn; problems are kept by ``renderer`` (``raise_problems``)."""
    for cluster_plan in plans:
        yield render_cluster(renderer, cluster_plan)
        if on_cluster is not None:
            on_cluster(cluster_plan.cluster.name)


def render_cluster(renderer: Renderer, cluster_plan: ClusterPlan) -> ClusterOutput:
    """One cluster's objects; its problems are kept by ``renderer`` (``raise_problems``)."""
    cache: dict[str, Any] = {}
    objects = []
    for job in cluster_plan.jobs:
        rendered = renderer.render(job, cluster_plan.cluster, cache)
        if rendered is not None:
            objects.append(rendered)
    objects.sort(key=lambda o: (o.order, o.path))
    _check_paths(objects, cluster_plan.cluster, renderer)
    return ClusterOutput(cluster_plan.cluster, tuple(objects))


def raise_problems(renderer: Renderer) -> None:
    """Raise FanoutError with every problem ``renderer`` met, if any."""
    problems = Problems()
    problems.extend(renderer.problems())
    problems.raise_if_any()


def _check_paths(objects: list[RenderedObject], cluster: Cluster, renderer: Renderer) -> None:
    """Refuse two objects that would share a file (kinds that differ only in case) rather than overwrite
    one with the other; file names are never too long (``emit.object_path`` shortens them)."""
    seen: dict[str, RenderedObject] = {}
    for rendered in objects:
        other = seen.setdefault(rendered.path.lower(), rendered)
        if other is not rendered:
            message = f"{rendered.ident} and {other.ident} would both be written to {rendered.path}"
            renderer.failures[(rendered.template.doc.location(), message)].append(cluster.name)


def render(
    inputs: Inputs, only: Collection[str] | None = None, on_cluster: Callable[[str], None] | None = None
) -> Rendering:
    """Render every cluster (or the clusters named in ``only``); raises FanoutError on any problem."""
    return render_plans(inputs, plan(inputs, only), on_cluster)
