"""Check a rendering against Kubernetes schemas: each distinct object once, each problem at its source line.

``check_rendering`` is what ``validate --kubernetes`` and ``render --validate-kubernetes`` call. Objects
that come out the same in several clusters are validated once (first by identity, since the renderer
shares them, then by content); each violation is then reported for every cluster that has the object, at
the template or override line that last wrote the offending field (see ``fanout.report.provenance``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fanout.core.errors import FanoutError, Problem
from fanout.kube.schema import KubernetesSchemas, MissingSchema
from fanout.kube.violations import Violation
from fanout.render.patch import SECRET_NOTE
from fanout.render.pipeline import RenderedObject, Rendering
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


def _crds(rendering: Rendering) -> list[RenderedObject]:
    seen: dict[int, RenderedObject] = {}
    for output in rendering.clusters:
        for rendered in output.objects:
            if rendered.obj.get("kind") == "CustomResourceDefinition":
                seen.setdefault(id(rendered), rendered)
    return list(seen.values())


def check_rendering(rendering: Rendering, options: KubeOptions, *, deduplicate: bool = True) -> Report:
    """Validate every rendered object of every cluster; ``deduplicate=False`` is for benchmarks only."""
    schemas = KubernetesSchemas(options.version, strict=options.strict, schema_dirs=options.schema_dirs)
    # A CRD is read only once its own shape is right (apiextensions.k8s.io's schema, which the bundle has):
    # one of any other shape is reported where it is written, and its custom resources as unvalidated.
    crds = []
    for crd in _crds(rendering):
        if _is_well_formed(schemas, crd):
            crds.append(crd)
        else:
            schemas.reject_crd(crd.obj)
    crd_problems = schemas.use_crds([r.obj for r in crds])
    by_identity: dict[int, list[Violation] | MissingSchema] = {}
    # Keyed by a digest of the object's canonical JSON: the text itself, kept for every distinct object,
    # cost as much memory as the objects.
    by_content: dict[bytes, list[Violation] | MissingSchema] = {}

    def outcome(rendered: RenderedObject) -> list[Violation] | MissingSchema:
        if not deduplicate:
            return _validate(schemas, rendered)
        if id(rendered) not in by_identity:
            text = json.dumps(rendered.obj, sort_keys=True, separators=(",", ":"), default=str)
            key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
            if key not in by_content:
                by_content[key] = _validate(schemas, rendered)
            by_identity[id(rendered)] = by_content[key]
        return by_identity[id(rendered)]

    findings: list[ClusterFinding] = []
    skipped: list[tuple[str, ObjectRef, str]] = []
    checked: dict[str, list[ObjectRef]] = {}
    validated = 0
    clusters_of = _clusters_of(rendering)
    for problem in crd_problems:
        crd = crds[problem.index]
        where = last_writer(crd.template, crd.patches, crd.obj, problem.pointer)
        ref = ObjectRef.of(crd.obj)
        for cluster in clusters_of[id(crd)]:
            findings.append(ClusterFinding(cluster, ref, problem.pointer, problem.message, where))
    for output in rendering.clusters:
        cluster = output.cluster.name
        refs = checked.setdefault(cluster, [])
        for rendered in output.objects:
            ref = ObjectRef.of(rendered.obj)
            refs.append(ref)
            if options.skips(ref):
                skipped.append((cluster, ref, f"kind {ref.kind} skipped by --skip"))
                continue
            validated += not deduplicate
            result = outcome(rendered)
            if isinstance(result, MissingSchema):
                if options.ignore_missing_schemas:
                    skipped.append((cluster, ref, f"{result} (--ignore-missing-schemas)"))
                else:
                    where = rendered.template.doc.location()
                    findings.append(ClusterFinding(cluster, ref, "", _missing_message(result), where))
                continue
            for violation in result:
                where = last_writer(rendered.template, rendered.patches, rendered.obj, violation.pointer)
                message = _masked(rendered, violation)
                findings.append(ClusterFinding(cluster, ref, violation.pointer, message, where))
    return Report(
        kubernetes_version=schemas.version,
        strict=schemas.strict,
        checked=checked,
        findings=group_findings(findings),
        skipped=group_skipped(skipped),
        distinct_objects=len(by_content) if deduplicate else validated,
    )


def _is_well_formed(schemas: KubernetesSchemas, crd: RenderedObject) -> bool:
    """Whether a CRD has the shape its own API gives it (the main loop reports the violations)."""
    try:
        return not schemas.validate(crd.obj)
    except MissingSchema:
        return True  # an apiextensions version this Kubernetes lacks: read defensively, reported anyway


def _clusters_of(rendering: Rendering) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for output in rendering.clusters:
        for rendered in output.objects:
            found.setdefault(id(rendered), []).append(output.cluster.name)
    return found


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
