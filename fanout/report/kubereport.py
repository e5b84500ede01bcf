"""Reports of Kubernetes schema validation: findings, and their text, JSON and JUnit XML renderings.

The same violation in many clusters (same object, pointer, message and source location) is one ``Finding``
that lists its clusters. Every renderer is a pure function of a ``Report`` and sorts everything it prints,
so the same report always gives byte-identical output.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from fanout.core.errors import Location, Problem, visible
from fanout.core.words import plural
from fanout.report.machine import github

JSON_FORMAT_VERSION = 1
# Beyond this many, the text format names the first few clusters and counts the rest (JSON lists them all).
_TEXT_CLUSTER_LIMIT = 5


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Which rendered object: apiVersion, kind, namespace ("" when cluster-scoped) and name."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        metadata = obj.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        return cls(
            str(obj.get("apiVersion", "")),
            str(obj.get("kind", "")),
            str(metadata.get("namespace") or ""),
            str(metadata.get("name", "")),
        )

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace or None,
            "name": self.name,
        }


def _sorted_clusters(clusters: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(clusters)))


@dataclass(frozen=True)
class Finding:
    """One violation of one object, in every cluster where that object has it."""

    clusters: tuple[str, ...]
    object: ObjectRef
    pointer: str
    message: str
    location: Location | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "clusters", _sorted_clusters(self.clusters))

    def sort_key(self) -> tuple[Any, ...]:
        loc = self.location
        where = (0, loc.path, loc.line, loc.column) if loc is not None else (1, "", 0, 0)
        return (*where, self.object, self.pointer, self.message, self.clusters)

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "clusters": list(self.clusters),
            "object": self.object.to_json(),
            "pointer": self.pointer,
            "message": self.message,
            "location": None if loc is None else {"path": loc.path, "line": loc.line, "column": loc.column},
        }


@dataclass(frozen=True)
class Skipped:
    """An object that was not validated (its kind is in --skip, or has no schema), and why."""

    clusters: tuple[str, ...]
    object: ObjectRef
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "clusters", _sorted_clusters(self.clusters))

    def sort_key(self) -> tuple[Any, ...]:
        return (self.object, self.reason, self.clusters)

    def to_json(self) -> dict[str, Any]:
        return {"clusters": list(self.clusters), "object": self.object.to_json(), "reason": self.reason}


class ClusterFinding(NamedTuple):
    """A violation as seen in one cluster, before ``group_findings`` merges the clusters."""

    cluster: str
    object: ObjectRef
    pointer: str
    message: str
    location: Location | None = None


def group_findings(items: Iterable[ClusterFinding]) -> tuple[Finding, ...]:
    """One ``Finding`` per (object, pointer, message, location), listing every cluster that has it; sorted."""
    clusters: dict[tuple[ObjectRef, str, str, Location | None], set[str]] = defaultdict(set)
    for item in items:
        clusters[(item.object, item.pointer, item.message, item.location)].add(item.cluster)
    found = (Finding(tuple(names), obj, ptr, msg, loc) for (obj, ptr, msg, loc), names in clusters.items())
    return tuple(sorted(found, key=Finding.sort_key))


def group_skipped(items: Iterable[tuple[str, ObjectRef, str]]) -> tuple[Skipped, ...]:
    """One ``Skipped`` per (object, reason) from (cluster, object, reason) triples; sorted."""
    clusters: dict[tuple[ObjectRef, str], set[str]] = defaultdict(set)
    for cluster, obj, reason in items:
        clusters[(obj, reason)].add(cluster)
    found = (Skipped(tuple(names), obj, reason) for (obj, reason), names in clusters.items())
    return tuple(sorted(found, key=Skipped.sort_key))


@dataclass(frozen=True)
class Report:
    """Everything one validation run found.

    ``checked`` maps each cluster to the objects rendered for it (what JUnit lists as test cases);
    ``distinct_objects`` is how many objects were actually validated after de-duplication.
    """

    kubernetes_version: str
    strict: bool
    checked: Mapping[str, Sequence[ObjectRef]]
    findings: Sequence[Finding] = ()
    skipped: Sequence[Skipped] = ()
    distinct_objects: int = 0

    @property
    def valid(self) -> bool:
        return not self.findings

    @property
    def sorted_findings(self) -> tuple[Finding, ...]:
        return tuple(sorted(self.findings, key=Finding.sort_key))

    @property
    def sorted_skipped(self) -> tuple[Skipped, ...]:
        return tuple(sorted(self.skipped, key=Skipped.sort_key))

    @property
    def object_count(self) -> int:
        return sum(len(set(objects)) for objects in self.checked.values())


# --------------------------------------------------------------------------------------------------
# text


def _clusters_text(clusters: Sequence[str], all_clusters: int) -> str:
    if len(clusters) == 1:
        return f"cluster {clusters[0]}"
    if len(clusters) == all_clusters:
        return f"all {all_clusters} clusters"
    if len(clusters) > _TEXT_CLUSTER_LIMIT:
        shown = ",".join(clusters[:_TEXT_CLUSTER_LIMIT])
        return f"clusters {shown} and {len(clusters) - _TEXT_CLUSTER_LIMIT} more"
    return f"clusters {','.join(clusters)}"


def summary_text(report: Report) -> str:
    flavour = "strict" if report.strict else "not strict: unknown fields are not checked, use --strict"
    checked = (
        f"checked {plural(report.object_count, 'object')} ({report.distinct_objects} distinct) "
        f"on {plural(len(report.checked), 'cluster')} against Kubernetes {report.kubernetes_version} "
        f"({flavour})"
    )
    skipped = f", skipped {len(report.skipped)}" if report.skipped else ""
    if report.valid:
        return f"no problems: {checked}{skipped}"
    bad_objects = len({f.object for f in report.findings})
    return f"{plural(len(report.findings), 'problem')} in {plural(bad_objects, 'object')}: {checked}{skipped}"


def finding_text(finding: Finding, all_clusters: int) -> str:
    """A finding's text line without its location (which, when known, goes first as ``path:line:col: ``).

    ``clusters a,b: Deployment pacman/pacman /spec/replicas: message``; without a location the line starts
    with the object instead: ``Deployment pacman/pacman /spec/x: cluster a: message``.
    """
    where = f"{finding.object} {finding.pointer}".rstrip()
    clusters = _clusters_text(finding.clusters, all_clusters)
    if finding.location is not None:
        return f"{clusters}: {where}: {finding.message}"
    return f"{where}: {clusters}: {finding.message}"


def skipped_text(skip: Skipped, all_clusters: int) -> str:
    return (
        f"skipped: {skip.object} ({skip.object.api_version}): "
        f"{_clusters_text(skip.clusters, all_clusters)}: {skip.reason}"
    )


def format_text(report: Report) -> str:
    """One line per problem (``path:line:col: `` first when known), one per skipped object, a summary."""
    total = len(report.checked)
    lines: list[str] = []
    for finding in report.sorted_findings:
        text = finding_text(finding, total)
        lines.append(text if finding.location is None else f"{finding.location}: {text}")
    lines.extend(skipped_text(skip, total) for skip in report.sorted_skipped)
    lines.append(summary_text(report))
    # Names and values from input stay on their own line (see fanout.core.errors.visible).
    return "\n".join(visible(line) for line in lines) + "\n"


# --------------------------------------------------------------------------------------------------
# JSON


def format_json(report: Report) -> str:
    """The documented JSON shape (docs/kubernetes-validation.md), ``version`` 1."""
    document = {
        "kind": "KubernetesValidation",
        "version": JSON_FORMAT_VERSION,
        "kubernetesVersion": report.kubernetes_version,
        "strict": report.strict,
        "valid": report.valid,
        "summary": {
            "clusters": len(report.checked),
            "objects": report.object_count,
            "distinctObjects": report.distinct_objects,
            "findings": len(report.findings),
            "skipped": len(report.skipped),
        },
        "findings": [f.to_json() for f in report.sorted_findings],
        "skipped": [s.to_json() for s in report.sorted_skipped],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------------
# JUnit XML


def _case_name(obj: ObjectRef) -> str:
    return f"{obj} ({obj.api_version})"


def format_junit(report: Report) -> str:
    """JUnit XML: a test suite per cluster, a test case per object in it, failing with its findings."""
    cases: dict[str, set[ObjectRef]] = defaultdict(set)
    for cluster, objects in report.checked.items():
        cases[cluster].update(objects)
    failures: dict[tuple[str, ObjectRef], list[Finding]] = defaultdict(list)
    for finding in report.sorted_findings:
        for cluster in finding.clusters:
            failures[(cluster, finding.object)].append(finding)
            cases[cluster].add(finding.object)
    skips: dict[tuple[str, ObjectRef], list[str]] = defaultdict(list)
    for skip in report.sorted_skipped:
        for cluster in skip.clusters:
            skips[(cluster, skip.object)].append(skip.reason)
            cases[cluster].add(skip.object)

    root = ET.Element("testsuites", name=f"fanout Kubernetes {report.kubernetes_version} schema validation")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for cluster in sorted(cases):
        suite = ET.SubElement(root, "testsuite", name=cluster)
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for obj in sorted(cases[cluster], key=lambda o: (str(o), o)):
            case = ET.SubElement(suite, "testcase", classname=cluster, name=_case_name(obj))
            counts["tests"] += 1
            found = failures.get((cluster, obj))
            if found:
                counts["failures"] += 1
                summary = (
                    f"{found[0].pointer or '/'}: {found[0].message}"
                    if len(found) == 1
                    else plural(len(found), "problem")
                )
                failure = ET.SubElement(case, "failure", message=summary, type="KubernetesSchema")
                failure.text = "".join(
                    f"{f.location or obj}: {f.pointer or '/'}: {f.message}\n" for f in found
                )
            elif (cluster, obj) in skips:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message="; ".join(skips[(cluster, obj)]))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --------------------------------------------------------------------------------------------------
# GitHub Actions annotations


def format_github(report: Report, root: str = "") -> str:
    """One ``::error`` per finding at the template or override line that wrote the field.

    ``root`` is the source root as given, so that annotation paths are relative to where fanout runs.
    """
    total = len(report.checked)
    lines = [
        github(Problem(finding_text(f, total), f.location), "error", root) for f in report.sorted_findings
    ]
    lines += [f"::warning::{skipped_text(skip, total)}" for skip in report.sorted_skipped]
    lines.append(f"::notice::{summary_text(report)}")
    return "\n".join(lines) + "\n"


FORMATTERS = {"text": format_text, "json": format_json, "junit": format_junit, "github": format_github}
