"""``fanout clusters``: the inventory as a table, or which template lands on which cluster."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fanout.commands.common import open_source
from fanout.core.errors import visible
from fanout.core.model import Inputs
from fanout.render.place import ClusterPlan, plan
from fanout.report.machine import document, dump, location_json, object_json


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Plain aligned columns: stable for scripts and tests, readable on a terminal."""
    rows = [[visible(cell) for cell in row] for row in rows]  # values from input, shown on their own line
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def run(
    source: Path | str,
    matrix: bool,
    echo: Callable[[str], None],
    ref: str | None = None,
    cache_dir: Path | None = None,
    output: str = "text",
) -> int:
    inputs = open_source(source, ref, cache_dir).inputs
    plans = plan(inputs)
    if output != "text":
        echo(dump(placement_document(inputs, plans) if matrix else inventory_document(plans), output))
        return 0
    if not matrix:
        rows = [["NAME", "LABELS", "OBJECTS"]]
        for cluster_plan in plans:
            cluster = cluster_plan.cluster
            labels = ",".join(f"{k}={v}" for k, v in sorted(cluster.labels.items()))
            rows.append([cluster.name, labels or "-", str(len(cluster_plan.jobs))])
        for line in table(rows):
            echo(line)
        return 0
    placed = {p.cluster.name: {id(job.template) for job in p.jobs} for p in plans}
    names = [p.cluster.name for p in plans]
    # Cluster names run down the columns' headers as numbers to keep wide inventories legible.
    rows = [["TEMPLATE", *[str(i + 1) for i in range(len(names))]]]
    for template in inputs.templates:
        marks = ["x" if id(template) in placed[n] else "." for n in names]
        rows.append([f"{template.ident} ({template.doc.label})", *marks])
    for line in table(rows):
        echo(line)
    echo("")
    for index, name in enumerate(names):
        echo(f"{index + 1:>3}  {visible(name)}")
    return 0


def inventory_document(plans: Sequence[ClusterPlan]) -> dict[str, object]:
    """``kind: ClusterList``: what a CI matrix is built from (``jq -c '[.clusters[].name]'``)."""
    return document(
        "ClusterList",
        clusters=[
            {
                "name": p.cluster.name,
                "labels": dict(sorted(p.cluster.labels.items())),
                "values": p.cluster.values,
                "objects": len(p.jobs),
                "file": location_json(p.cluster.doc.location()),
            }
            for p in plans
        ],
    )


def placement_document(inputs: Inputs, plans: Sequence[ClusterPlan]) -> dict[str, object]:
    """``kind: PlacementMatrix``: each template and the clusters it lands on (``--matrix``)."""
    placed = {p.cluster.name: {id(job.template) for job in p.jobs} for p in plans}
    return document(
        "PlacementMatrix",
        clusters=[p.cluster.name for p in plans],
        templates=[
            {
                **object_json(template.ident),
                "file": location_json(template.doc.location()),
                "clusters": [p.cluster.name for p in plans if id(template) in placed[p.cluster.name]],
            }
            for template in inputs.templates
        ],
    )
