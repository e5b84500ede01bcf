"""Helm charts as templates: ``kind: HelmChart`` rendered for each cluster as ``helm template`` renders it.

A HelmChart names a chart under the ``charts:`` folder (a chart folder or a ``.tgz``), values files and
values (with ``${cluster.*}``). Each cluster's values are merged as Helm merges ``-f`` files and ``--set``
(``mergeMaps``); the chart is rendered with Helm's own engine (the optional ``helm-python-sdk``, Helm v4's Go
SDK in process) once per distinct set of values, and each object becomes a plain manifest template placed on
the clusters whose values gave it. From there on it is a template like any other: overridden, validated,
written, diffed and explained.

As ``helm template --include-crds`` does, the chart's ``crds/`` come first; the release is an install at
revision 1; ``lookup`` finds nothing (no cluster is asked). Hooks stay in the output, with their
annotations, as Argo CD's ``helm template`` keeps them; ``helm.sh/hook: test`` objects are dropped unless
``includeTests``. A namespaced object the chart writes without a namespace gets the release's, as
``helm install --namespace`` places it. A chart that renders differently twice (``randAlphaNum``,
``genCA``, ``now``) is refused: fanout's output must not change from one run to the next.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fanout.core.document import Document
from fanout.core.errors import Problem
from fanout.core.fielddiff import field_changes
from fanout.core.model import Cluster, Placement, Template
from fanout.core.substitute import Scan, Unresolved, resolve, substitute
from fanout.core.validate import check
from fanout.formats import helmignore, manifest
from fanout.formats.common import Context
from fanout.source.parse import load_documents

KIND = "HelmChart"
INSTALL_COMMAND = "pip install 'fanout-gitops[helm]'"
TEST_HOOKS = ("test", "test-success", "test-failure")
_GO_LOG_TIME = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(\.\d+)? ")


def merge_maps(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's ``mergeMaps`` (pkg/cli/values/options.go): maps merge key by key, anything else replaces."""
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_maps(out[key], value)
        else:
            out[key] = value
    return out


@contextlib.contextmanager
def _stderr_lines() -> Iterator[list[str]]:
    """What Helm's Go code writes to the process's stderr (coalescing warnings) during the block, as lines:
    fanout prints its own problems, one located line each, and nothing else may reach stderr."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            lines.extend(_GO_LOG_TIME.sub("", line) for line in text.splitlines() if line.strip())


def chart_archive(files: Mapping[str, bytes], folder: str) -> bytes:
    """A chart folder as the ``.tgz`` Helm loads, the same bytes everywhere (sorted, no times or owners)."""
    top = folder.rstrip("/").rsplit("/", 1)[-1]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(files):
            info = tarfile.TarInfo(f"{top}/{path[len(folder) + 1 :]}")
            info.size = len(files[path])
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(files[path]))
    return buffer.getvalue()


# One object a chart rendered: (the chart's file in the source root, document index, its place among the
# items of a list that document is (None: it is no list), the object)
_Object = tuple[str, int, int | None, dict[str, Any]]


@dataclass
class _Rendering:
    """One rendering of a chart: the clusters whose values gave it, and the objects it gave."""

    clusters: list[Cluster]
    values: dict[str, Any]
    objects: list[_Object] = field(default_factory=list)


class _Chart:
    """One HelmChart document on its way to templates."""

    def __init__(self, doc: Document, ctx: Context, files: Mapping[str, bytes | None]) -> None:
        self.doc = doc
        self.ctx = ctx
        self.files = files
        data = doc.data
        self.release = data["metadata"]["name"]
        self.namespace = data["metadata"].get("namespace") or ctx.config.default_namespace or "default"
        self.spec = data["spec"]
        self.path = f"{ctx.config.charts}/{self.spec['chart'].strip('/')}"
        # (file, line in Helm's output of it, "duplicate key ...") -> the clusters whose values wrote it
        self.duplicate_keys: dict[tuple[str, int, str], list[Cluster]] = {}

    def problem(self, message: str, pointer: str, clusters: Sequence[Cluster] = ()) -> None:
        names = sorted(c.name for c in clusters)
        where = f" (for {'cluster' if len(names) == 1 else 'clusters'} {', '.join(names)})" if names else ""
        self.ctx.problems.add(f"{message}{where}", self.doc.location(pointer))

    def archive(self) -> bytes | None:
        if self.path.endswith(".tgz"):
            found = self.files.get(self.path)
            if found is None:
                self.problem(f"no chart archive {self.path}", "/spec/chart")
            return found
        inside = {p: b for p, b in self.files.items() if p.startswith(self.path + "/") and b is not None}
        if not inside:
            self.problem(f"no chart folder {self.path} (a chart folder or .tgz under charts/)", "/spec/chart")
            return None
        ignore = inside.get(f"{self.path}/{helmignore.FILE}")
        try:
            rules = helmignore.Rules(ignore.decode("utf-8", "replace") if ignore is not None else "")
        except helmignore.BadRule as exc:
            self.problem(f"the chart's {helmignore.FILE} does not load: {exc}", "/spec/chart")
            return None
        cut = len(self.path) + 1
        kept = rules.kept(sorted(path[cut:] for path in inside))
        return chart_archive(
            {f"{self.path}/{path}": inside[f"{self.path}/{path}"] for path in kept}, self.path
        )

    def values_for(self, cluster: Cluster) -> dict[str, Any] | None:
        merged: dict[str, Any] = {}
        for index, entry in enumerate(self.spec.get("valuesFiles") or ()):
            written = entry if isinstance(entry, str) else entry["path"]
            optional = isinstance(entry, dict) and entry.get("optional", False)
            path = written.replace("${cluster.name}", cluster.name)
            content = self.files.get(path)
            if content is None:
                if not optional:
                    self.problem(
                        f"no values file {path} (write it, or mark the entry optional: true)",
                        f"/spec/valuesFiles/{index}",
                        [cluster],
                    )
                    return None
                continue
            docs, problems = load_documents(path, content, self.ctx.config.limits)
            self.ctx.problems.extend(problems)
            if problems:
                return None
            if len(docs) > 1 or (docs and not isinstance(docs[0].data, dict)):
                self.ctx.problems.add("a values file holds one mapping", docs[-1].location())
                return None
            merged = merge_maps(merged, docs[0].data if docs else {})
        written_values = self.spec.get("values") or {}
        scan = Scan().walk(written_values, "/spec/values")
        resolved: dict[str, Any] = {}
        for ref, pointer in scan.refs.items():
            try:
                resolved[ref] = resolve(ref, cluster.name, cluster.labels, cluster.values)
            except Unresolved as exc:
                self.problem(f"${{{ref}}} is undefined: {exc}", pointer, [cluster])
                return None
        values = substitute(written_values, resolved) if scan.refs or scan.escapes else written_values
        return merge_maps(merged, values)


def _helm() -> Any:
    try:
        import helm_python
    except ImportError:
        return None
    return helm_python


@dataclass
class Rendered:
    """One HelmChart's renderings, before they become templates."""

    chart: _Chart
    placement: Placement
    renderings: list[_Rendering]

    def documents(self) -> Iterator[Document]:
        for rendering in self.renderings:
            for path, index, item, data in rendering.objects:
                yield Document(path, index, data, {}, item)


def render(docs: Sequence[Document], ctx: Context, files: Mapping[str, bytes | None]) -> list[Rendered]:
    """Every HelmChart document rendered for its clusters: first, so that the CustomResourceDefinitions
    the charts hold say which of their kinds are namespaced, for every template (``templates`` then)."""
    charts: list[Rendered] = []
    for doc in docs:
        found = check(doc, "helmchart")
        if found:
            ctx.problems.extend(found)
            continue
        helm = _helm()
        if helm is None:
            ctx.problems.add(
                f"a HelmChart is rendered with Helm's own engine, which is not installed: {INSTALL_COMMAND}",
                doc.location("/kind"),
            )
            continue
        rendered = _render_one(_Chart(doc, ctx, files), helm)
        if rendered is not None:
            charts.append(rendered)
    return charts


def templates(charts: Sequence[Rendered], ctx: Context) -> list[Template]:
    """The charts' objects as templates, read against ``ctx`` (which knows the charts' own kinds)."""
    found: list[Template] = []
    for rendered in charts:
        rendered.chart.ctx = ctx
        found += _templates(rendered.chart, rendered.renderings, rendered.placement)
    return found


def _render_one(chart: _Chart, helm: Any) -> Rendered | None:
    placement = manifest.placement(chart.doc, chart.ctx)
    clusters = [c for c in chart.ctx.clusters if placement.selects(c)]
    archive = chart.archive()
    if archive is None or not clusters:
        return None
    pinned = sorted(c.name for c in clusters if "kubeVersion" in c.values)
    if pinned:
        # Said, not skipped silently: the SDK's render takes no Kubernetes version (docs/helm.md).
        chart.ctx.warnings.append(
            Problem(
                f"the kubeVersion value of {', '.join(pinned)} does not reach Helm: helm-python-sdk"
                " renders with its default .Capabilities.KubeVersion",
                chart.doc.location("/spec/chart"),
            )
        )
    with _stderr_lines() as said:
        try:
            loaded = helm.Chart.load_archive(archive)
        except helm.HelmError as exc:
            chart.problem(f"the chart {chart.path} does not load: {exc}", "/spec/chart")
            return None
    with loaded:
        if not _dependencies_vendored(chart, loaded):
            return None
    renderings: dict[str, _Rendering] = {}
    for cluster in clusters:
        values = chart.values_for(cluster)
        if values is not None:
            key = json.dumps(values, sort_keys=True, default=str)
            renderings.setdefault(key, _Rendering([], values)).clusters.append(cluster)
    for rendering in renderings.values():
        rendering.objects = _render(chart, archive, helm, rendering)
    _warn(chart, said)
    for (path, line, duplicate), having in chart.duplicate_keys.items():
        having_names = sorted({c.name for c in having})
        whose = f"{'cluster' if len(having_names) == 1 else 'clusters'} {', '.join(having_names)}"
        chart.ctx.warnings.append(
            Problem(
                f"Helm's output of {path}, line {line}: {duplicate}; the last value is kept, as Helm's kube"
                f" client keeps it (for {whose})",
                chart.doc.location("/spec/chart"),
            )
        )
    return Rendered(chart, placement, list(renderings.values()))


def _warn(chart: _Chart, lines: Iterable[str]) -> None:
    for line in lines:
        found = Problem(
            f"Helm, rendering {chart.path}: {line.removeprefix('warning: ')}", chart.doc.location("/spec")
        )
        if found not in chart.ctx.warnings:  # once, however many clusters' values it came from
            chart.ctx.warnings.append(found)


def _dependencies_vendored(chart: _Chart, loaded: Any) -> bool:
    declared = [d.get("name") for d in loaded.metadata.get("dependencies") or () if isinstance(d, dict)]
    present = {d.get("name") for d in loaded.dependencies}
    missing = [name for name in declared if name not in present]
    if missing:
        chart.problem(
            f"the chart {chart.path} depends on {', '.join(map(str, missing))}, which is not vendored in its"
            f" charts/ folder: run `helm dependency build {chart.path}` where the network is, and commit it",
            "/spec/chart",
        )
        return False
    return True


def _flat(exc: Exception) -> str:
    """Helm's message on one line: it breaks lines between a template and the include it failed in, and
    between the schema's complaints."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _render(chart: _Chart, archive: bytes, helm: Any, rendering: _Rendering) -> list[_Object]:
    """One values' objects: the CustomResourceDefinitions of ``crds/`` first, then the templates', as
    ``helm template --include-crds`` prints them; twice, to refuse a chart that renders differently."""
    where = "/spec/values" if chart.spec.get("values") else "/spec"
    with _stderr_lines() as said:
        try:
            first = _rendered(chart, archive, helm, rendering.values, validate=True)
            again = _rendered(chart, archive, helm, rendering.values)
        except helm.HelmValuesError as exc:
            message = f"the values do not fit the chart's values.schema.json: {_flat(exc)}"
            chart.problem(message, where, rendering.clusters)
            return []
        except helm.HelmError as exc:
            chart.problem(f"Helm cannot render {chart.path}: {_flat(exc)}", "/spec/chart", rendering.clusters)
            return []
    _warn(chart, said)
    clusters = rendering.clusters
    objects = _objects(chart, first[0], clusters, as_helm=False) + _objects(chart, first[1], clusters)
    again_objects = _objects(chart, again[0], (), as_helm=False, report=False) + _objects(
        chart, again[1], (), report=False
    )
    varying = _differences(objects, again_objects)
    if varying is not None:
        chart.problem(
            f"the chart renders differently each time ({varying}: randAlphaNum, htpasswd, genCA, now, ...);"
            " fanout's output must be the same on every run: give the value it is made from, or turn that"
            " object off in the values and write it as a template"
            " (many charts take an existing Secret's name)",
            "/spec/chart",
            rendering.clusters,
        )
        return []
    return objects


Manifests = list[tuple[str, str]]


def _rendered(
    chart: _Chart, archive: bytes, helm: Any, values: dict[str, Any], validate: bool = False
) -> tuple[Manifests, Manifests]:
    """Helm's CustomResourceDefinitions and rendered templates for ``values``, from the chart loaded afresh.

    Rendering changes the loaded chart: Helm drops the subcharts whose ``condition`` or ``tags`` the values
    turn off (helm e9b85e4de16ad45805843fb121748018cf89094b, pkg/chart/v2/util/dependencies.go
    ``processDependencyEnabled``), and ``helm template`` then takes the CRDs of what is left
    (pkg/action/install.go, ``ProcessDependencies`` before ``CRDObjects``). A chart shared between renderings
    lost, for every later cluster, the subcharts an earlier cluster's values had turned off.
    """
    options = {"name": chart.release, "namespace": chart.namespace, "revision": 1, "is_install": True}
    with helm.Chart.load_archive(archive) as loaded:
        if validate:
            loaded.validate_schema(loaded.merge_values(values))
        templates = loaded.render(values=values, **options)
        crds = [(_source_path(chart, c["filename"] or c["name"]), c["data"]) for c in loaded.crds]
    return crds, _manifests(chart, templates)


def _differences(first: Sequence[_Object], again: Sequence[_Object], shown: int = 3) -> str | None:
    """Where two renderings differ, as "file, Kind name, /field" for the first few objects (the field, never
    its values: they may be a Secret's); None when they are equal. More than one: a checksum annotation of a
    Deployment comes before the Secret it sums, and the Secret is the one to fix."""
    found = []
    for (path, _, _, one), (_, _, _, two) in zip(first, again, strict=False):
        if one != two:
            metadata = one.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            changed = field_changes(one, two)
            found.append(f"{path}, {one.get('kind')} {name}, {(changed[0].path if changed else '') or '/'}")
    if len(first) != len(again):
        shorter = min(len(first), len(again))
        longer = first if len(first) > len(again) else again
        found.append(f"{longer[shorter][0]}: a different number of objects")
    if not found:
        return None
    more = f"; and {len(found) - shown} more" if len(found) > shown else ""
    return "; ".join(found[:shown]) + more


def _source_path(chart: _Chart, name: str) -> str:
    """A chart file as a path in the source root: "charts/podinfo/templates/deployment.yaml" for a folder
    (Helm says "podinfo/templates/deployment.yaml"), "charts/x.tgz/podinfo/templates/deployment.yaml" inside
    an archive. Never a colon: tools split "path:line:col" at the first one."""
    if chart.path.endswith(".tgz"):
        return f"{chart.path}/{name}"
    return f"{chart.path}/{name.split('/', 1)[-1]}"


def _manifests(chart: _Chart, rendered: Mapping[str, str]) -> list[tuple[str, str]]:
    """Helm's output files as (the chart's file in the source root, text), without partials and NOTES.txt."""
    found = []
    for name in sorted(rendered):
        if name.rsplit("/", 1)[-1].startswith("_") or name.endswith("NOTES.txt"):
            continue
        found.append((_source_path(chart, name), rendered[name]))
    return found


# Helm splits a template's output at every "---" that starts a line, whatever follows it on that line (helm
# e9b85e4de16ad45805843fb121748018cf89094b, pkg/release/v1/util/manifest.go ``SplitManifests``, whose note
# names ``---apiVersion: v1``); YAML only where a space or the line's end follows. A ``{{- ... -}}`` right
# after a separator makes such lines: cert-manager's chart writes ``---# Permission to approve ...``.
_HELM_SEPARATOR = re.compile(r"^---[ \t]*(?=\S)", re.MULTILINE)


def _objects(
    chart: _Chart,
    manifests: Sequence[tuple[str, str]],
    clusters: Sequence[Cluster],
    as_helm: bool = True,
    report: bool = True,
) -> list[_Object]:
    """The objects of Helm's output, read as Helm's kube client reads them; test hooks left out unless
    asked for.

    ``as_helm``: split as Helm splits a template's output. A file of ``crds/`` is printed as it is, and read
    by whatever installs it (kubectl, Argo CD) as YAML. A key written twice keeps its last value, as Helm,
    Argo CD's ``helm template`` and Flux's helm-controller all read it (sigs.k8s.io/yaml over go-yaml v2);
    a warning names it (kube-prometheus-stack's and Kong's own ``ci/`` values write such keys).
    ``report``: say what is wrong (the second rendering, read only to be compared, says nothing)."""
    found: list[_Object] = []
    for path, text in manifests:
        if as_helm:
            text = _HELM_SEPARATOR.sub("---\n", text)
        duplicates: list[Problem] = []
        docs, problems = load_documents(
            path, text.encode("utf-8"), chart.ctx.config.limits, duplicates=duplicates
        )
        for problem in problems if report else ():
            chart.problem(f"the chart wrote YAML that does not read ({problem})", "/spec/chart", clusters)
        for duplicate in duplicates if report else ():
            line = duplicate.location.line if duplicate.location else 0
            chart.duplicate_keys.setdefault((path, line, duplicate.message), []).extend(clusters)
        for doc in docs:
            data = doc.data
            if not isinstance(data, dict) or (_is_test(data) and not chart.spec.get("includeTests")):
                continue
            if "items" not in data:
                found.append((path, doc.index, None, data))
                continue
            items, wrong = _flattened(data)
            if wrong and report:
                chart.problem(f"{path}: {wrong}", "/spec/chart", clusters)
            found.extend((path, doc.index, number, item) for number, item in enumerate(items))
    return found


def _unset(value: Any) -> bool:
    """What ``Unstructured.GetKind`` reads as no kind: missing, not a string, or empty."""
    return not isinstance(value, str) or not value


def _list_of(kind: Any) -> str:
    return kind.removesuffix("List") if isinstance(kind, str) else ""


def _flattened(data: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The objects Helm installs for an object that has ``items``, and what is wrong with it ("" if nothing).

    Helm's kube client reads any object with an ``items`` field as a list (apimachinery
    eed236ceee2c19c2753a3d93ac0631dc20750454, pkg/apis/meta/v1/unstructured/helpers.go
    ``unstructuredJSONScheme.decode``), and installs its items instead, lists within it flattened too, in
    the order of cli-runtime's ``FlattenListVisitor`` (helm e9b85e4de16ad45805843fb121748018cf89094b,
    pkg/kube/client.go ``buildResourceList``: ``Flatten()``; Argo CD splits a list the same way). An item
    with neither ``kind`` nor ``apiVersion`` takes the list's, without the ``List`` (``decodeToList``).
    Installed so, an item is an object like any other: placed, patched and checked as one."""
    found: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = [data]
    at = 0
    while at < len(pending):
        current = pending[at]
        at += 1
        if "items" not in current:
            found.append(current)
            continue
        items = current["items"]
        metadata = current.get("metadata")
        name = f"{current.get('kind')} {metadata.get('name') if isinstance(metadata, dict) else None}"
        if not isinstance(items, list):
            return [], f"{name} has items that are not a list (Helm reads an object with items as a list)"
        kind, api = current.get("kind"), current.get("apiVersion")
        for number, item in enumerate(items):
            if not isinstance(item, dict):
                return [], f"{name}: item {number} is not an object"
            if _unset(item.get("kind")) and _unset(item.get("apiVersion")):
                item = {**item, "apiVersion": api if isinstance(api, str) else "", "kind": _list_of(kind)}
            pending.append(item)
    return found, ""


def _is_test(data: Mapping[str, Any]) -> bool:
    metadata = data.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    hooks = annotations.get("helm.sh/hook") if isinstance(annotations, dict) else None
    return isinstance(hooks, str) and any(h.strip() in TEST_HOOKS for h in hooks.split(","))


def _templates(chart: _Chart, renderings: Iterable[_Rendering], placement: Placement) -> list[Template]:
    """Each distinct object once, placed on every cluster whose values rendered it."""
    objects: dict[tuple[str, int, int | None, str], tuple[Document, list[Cluster]]] = {}
    for rendering in renderings:
        for path, index, item, data in rendering.objects:
            key = (path, index, item, json.dumps(data, default=str))  # keys in order: files are written so
            # Positions in Helm's output are not lines of the chart's template: point at its file.
            objects.setdefault(key, (Document(path, index, data, {}, item), []))[1].extend(rendering.clusters)
    templates = []
    for placed, clusters in objects.values():
        placed = _as_installed(chart, placed)
        names = tuple(sorted(c.name for c in clusters))
        where = Placement(
            "/spec",
            names=names,
            names_decide=True,
            doc=chart.doc,
            note=f"rendered by the chart {chart.path} for the clusters whose values give this object",
            replaced=replace(placement, doc=chart.doc),
            because=f"HelmChart {chart.release}",
            because_at=chart.doc.location("/spec/chart"),
        )
        built = manifest.build(placed, chart.ctx, where)
        if built is not None:
            # Helm's output is final: no ${cluster.*} substitution inside it.
            templates.append(replace(built, refs={}, escapes=False, uses={}))
    return templates


# What Helm installs as no value at all: nothing after the key (null), or an empty one.
_NOTHING: tuple[tuple[str, tuple[object, ...]], ...] = (
    ("labels", (None, {})),
    ("annotations", (None, {})),
    ("namespace", (None, "")),
)


def _as_installed(chart: _Chart, doc: Document) -> Document:
    """The object as Helm installs it with ``--namespace``.

    A namespaced object the chart wrote with no namespace, or an empty one (``namespace:`` with nothing
    after it, a common template result), gets the release's; a cluster-scoped one none (cli-runtime's
    ``SetNamespace`` visitor, which Helm's ``newBuilder`` applies, tests ``len(info.Namespace) == 0``;
    docs/helm.md cites both). Helm asks the cluster which kinds are namespaced; fanout asks
    ``Context.scope``. A kind it does not know is taken as namespaced, as most custom kinds are, and said
    in a warning at the HelmChart.

    An empty ``labels:`` or ``annotations:`` (charts write the key and fill it only when values ask: the
    controller Service of ingress-nginx) is left out: the API server stores such an object with none."""
    data = doc.data
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        return doc  # the template's own checks say what is wrong
    empty = [key for key, nothing in _NOTHING if key in metadata and metadata[key] in nothing]
    if empty:
        metadata = {key: value for key, value in metadata.items() if key not in empty}
        data = {**data, "metadata": metadata}
        doc = Document(doc.path, doc.index, data, {}, doc.item)
    api, kind = data.get("apiVersion"), data.get("kind")
    if "namespace" in metadata or not isinstance(api, str) or not isinstance(kind, str):
        return doc
    scope = chart.ctx.scope(api, kind)
    if scope is False:
        return doc
    if scope is None:
        where = f"the release namespace {chart.namespace}, where Helm installs a namespaced kind"
        chart.ctx.guessed_scope(
            str(metadata.get("name")), api, kind, where, chart.doc.location("/spec/chart")
        )
    return Document(
        doc.path, doc.index, {**data, "metadata": {**metadata, "namespace": chart.namespace}}, {}, doc.item
    )
