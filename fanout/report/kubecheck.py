"""Check a rendering against Kubernetes schemas: each distinct object once, each problem at its source line.

``check_rendering`` is what ``validate --kubernetes`` and ``render --validate-kubernetes`` call. Objects
that come out the same in several clusters are validated once (first by identity, since the renderer
shares them, then by content); each violation is then reported for every cluster that has the object, at
the template or override line that last wrote the offending field (see ``fanout.report.provenance``).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fanout.core.errors import FanoutError, Problem
from fanout.core.model import Inputs
from fanout.kube.schema import KubernetesSchemas, MissingSchema
from fanout.kube.violations import Violation
from fanout.render.patch import SECRET_NOTE
from fanout.render.pipeline import (
    LEAN_MEMO,
    ClusterOutput,
    RenderedObject,
    Renderer,
    Rendering,
    raise_problems,
    stream_outputs,
)
from fanout.render.place import ClusterPlan, plan
from fanout.report.diffing import SECRET_FIELDS
from fanout.report.kubereport import (
    ClusterFinding,
    ObjectRef,
    Report,
    finding_text,
    group_findings,
    group_skipped,
)
from fanout.report.provenance import last_writer


@dataclass(frozen=True)
class KubeOptions:
    """The command-line options of Kubernetes schema validation."""

    version: str | None = None
    strict: bool = False
    skip: tuple[str, ...] = ()  # kinds (``Widget``) or apiVersion/kind (``example.com/v1/Widget``)
    ignore_missing_schemas: bool = False
    schema_dirs: tuple[Path, ...] = ()

    @staticmethod
    def parse_skip(values: Iterable[str]) -> tuple[str, ...]:
        """``--skip A,B --skip C`` -> ("A", "B", "C")."""
        return tuple(part.strip() for value in values for part in value.split(",") if part.strip())

    def skips(self, ref: ObjectRef) -> bool:
        for entry in self.skip:
            api_version, _, kind = entry.rpartition("/")
            if kind.lower() == ref.kind.lower() and api_version in ("", ref.api_version):
                return True
        return False


def _missing_message(exc: MissingSchema) -> str:
    if exc.reason:
        return f"{exc}: {exc.reason}"
    return (
        f"{exc}: add its CustomResourceDefinition to the templates or a schema to a --schema-dir, "
        f"or pass --skip {exc.kind} or --ignore-missing-schemas"
    )


_CRD = "CustomResourceDefinition"
# How many objects the check remembers by identity (the renderer shares an object among the clusters that
# have it): as many as a lean renderer keeps (``pipeline.LEAN_MEMO``), each held so that its id stays its own.
_BY_IDENTITY = LEAN_MEMO


class FleetCheck:
    """``check_rendering``, fed a cluster at a time: the CustomResourceDefinitions come first (custom
    resources are checked against every CRD of the fleet), then each cluster's objects, which the caller may
    forget once added. The report is the same whether the clusters are held or streamed."""

    def __init__(
        self, options: KubeOptions, crd_outputs: Iterable[ClusterOutput], *, deduplicate: bool = True
    ) -> None:
        self.options = options
        self.deduplicate = deduplicate
        self.schemas = KubernetesSchemas(
            options.version, strict=options.strict, schema_dirs=options.schema_dirs
        )
        seen: dict[int, RenderedObject] = {}
        clusters_of: dict[int, list[str]] = {}
        for output in crd_outputs:
            for rendered in output.objects:
                if rendered.obj.get("kind") == _CRD:
                    seen.setdefault(id(rendered), rendered)
                    clusters_of.setdefault(id(rendered), []).append(output.cluster.name)
        # A CRD is read only once its own shape is right (apiextensions.k8s.io's schema, which the bundle
        # has): one of any other shape is reported where it is written, its custom resources as unvalidated.
        crds = []
        for crd in seen.values():
            if _is_well_formed(self.schemas, crd):
                crds.append(crd)
            else:
                self.schemas.reject_crd(crd.obj)
        self.findings: list[ClusterFinding] = []
        for problem in self.schemas.use_crds([r.obj for r in crds]):
            crd = crds[problem.index]
            where = last_writer(crd.template, crd.patches, crd.obj, problem.pointer)
            ref = ObjectRef.of(crd.obj)
            for cluster in clusters_of[id(crd)]:
                self.findings.append(ClusterFinding(cluster, ref, problem.pointer, problem.message, where))
        self.skipped: list[tuple[str, ObjectRef, str]] = []
        self.checked: dict[str, list[ObjectRef]] = {}
        self.validated = 0
        self.by_identity: OrderedDict[int, tuple[RenderedObject, list[Violation] | MissingSchema]] = (
            OrderedDict()
        )
        # Keyed by a digest of the object's canonical JSON: the text itself, kept for every distinct object,
        # cost as much memory as the objects.
        self.by_content: dict[bytes, list[Violation] | MissingSchema] = {}

    def _outcome(self, rendered: RenderedObject) -> list[Violation] | MissingSchema:
        if not self.deduplicate:
            return _validate(self.schemas, rendered)
        known = self.by_identity.get(id(rendered))
        if known is not None:
            self.by_identity.move_to_end(id(rendered))
            return known[1]
        text = json.dumps(rendered.obj, sort_keys=True, separators=(",", ":"), default=str)
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        result = self.by_content.get(key)
        if result is None:
            result = self.by_content[key] = _validate(self.schemas, rendered)
        self.by_identity[id(rendered)] = (rendered, result)
        if len(self.by_identity) > _BY_IDENTITY:
            self.by_identity.popitem(last=False)
        return result

    def add(self, output: ClusterOutput) -> None:
        """Check one cluster's objects."""
        cluster = output.cluster.name
        refs = self.checked.setdefault(cluster, [])
        for rendered in output.objects:
            ref = ObjectRef.of(rendered.obj)
            refs.append(ref)
            if self.options.skips(ref):
                self.skipped.append((cluster, ref, f"kind {ref.kind} skipped by --skip"))
                continue
            self.validated += not self.deduplicate
            result = self._outcome(rendered)
            if isinstance(result, MissingSchema):
                if self.options.ignore_missing_schemas:
                    self.skipped.append((cluster, ref, f"{result} (--ignore-missing-schemas)"))
                else:
                    where = rendered.template.doc.location()
                    self.findings.append(ClusterFinding(cluster, ref, "", _missing_message(result), where))
                continue
            for violation in result:
                where = last_writer(rendered.template, rendered.patches, rendered.obj, violation.pointer)
                message = _masked(rendered, violation)
                self.findings.append(ClusterFinding(cluster, ref, violation.pointer, message, where))

    def report(self) -> Report:
        return Report(
            kubernetes_version=self.schemas.version,
            strict=self.schemas.strict,
            checked=self.checked,
            findings=group_findings(self.findings),
            skipped=group_skipped(self.skipped),
            distinct_objects=len(self.by_content) if self.deduplicate else self.validated,
        )


def check_rendering(rendering: Rendering, options: KubeOptions, *, deduplicate: bool = True) -> Report:
    """Validate every rendered object of every cluster; ``deduplicate=False`` is for benchmarks only."""
    check = FleetCheck(options, rendering.clusters, deduplicate=deduplicate)
    for output in rendering.clusters:
        check.add(output)
    return check.report()


def check_fleet(
    inputs: Inputs,
    options: KubeOptions,
    plans: Sequence[ClusterPlan] | None = None,
    on_cluster: Callable[[str], None] | None = None,
) -> tuple[Report, int]:
    """``check_rendering`` of the fleet (or of ``plans``) and how many objects it has, rendered a cluster at a
    time and forgotten once checked: a first pass renders only the CustomResourceDefinitions. Raises the
    FanoutError a render raises, with every problem of the fleet."""
    if plans is None:
        plans = plan(inputs)
    crd_plans = [
        ClusterPlan(p.cluster, tuple(j for j in p.jobs if j.template.ident.kind == _CRD)) for p in plans
    ]
    # Problems of the CRDs' own jobs are met again, with all the others, by the full pass below.
    crds = tuple(stream_outputs(crd_plans, Renderer(inputs.config.limits)))
    check = FleetCheck(options, crds)
    renderer = Renderer(inputs.config.limits, memo_size=LEAN_MEMO)
    count = 0
    for output in stream_outputs(plans, renderer, on_cluster):
        check.add(output)
        count += len(output.objects)
    raise_problems(renderer)
    return check.report(), count


def _is_well_formed(schemas: KubernetesSchemas, crd: RenderedObject) -> bool:
    """Whether a CRD has the shape its own API gives it (the main loop reports the violations)."""
    try:
        return not schemas.validate(crd.obj)
    except MissingSchema:
        return True  # an apiextensions version this Kubernetes lacks: read defensively, reported anyway


def _masked(rendered: RenderedObject, violation: Violation) -> str:
    """The violation's message, unless it could quote a Secret's value (jsonschema's messages do)."""
    if not rendered.ident.secret:
        return violation.message
    field = violation.pointer.split("/")[1] if violation.pointer.count("/") else ""
    values = [
        str(v)
        for name in SECRET_FIELDS
        if isinstance(rendered.obj.get(name), dict)
        for v in rendered.obj[name].values()
    ]
    if field in SECRET_FIELDS or any(v and v in violation.message for v in values):
        return f"does not match the Kubernetes schema here ({SECRET_NOTE})"
    return violation.message


def _validate(schemas: KubernetesSchemas, rendered: RenderedObject) -> list[Violation] | MissingSchema:
    try:
        return schemas.validate(rendered.obj)
    except MissingSchema as exc:
        return exc


def as_error(report: Report) -> FanoutError:
    """The report's findings as a FanoutError, printed like the text format (for ``render``)."""
    total = len(report.checked)
    return FanoutError(Problem(finding_text(f, total), f.location) for f in report.sorted_findings)
