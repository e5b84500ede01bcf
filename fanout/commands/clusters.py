"""``fanout clusters``: the inventory as a table, or which template lands on which cluster."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fanout.commands.common import open_source
from fanout.core.errors import visible
from fanout.core.model import Inputs
from fanout.core.words import plural
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
        # Karmada's members carry what its placement reads besides labels: shown when any cluster has it.
        karmada = any(p.cluster.facts for p in plans)
        rows = [["NAME", "LABELS", "OBJECTS", *(_FACT_COLUMNS if karmada else [])]]
        for cluster_plan in plans:
            cluster = cluster_plan.cluster
            labels = ",".join(f"{k}={v}" for k, v in sorted(cluster.labels.items()))
            facts = _fact_cells(cluster.facts) if karmada else []
            rows.append([cluster.name, labels or "-", str(len(cluster_plan.jobs)), *facts])
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


_FACT_COLUMNS = ["PROVIDER", "REGION", "ZONES", "TAINTS", "APIS"]


def _taint(taint: Mapping[str, Any]) -> str:
    """``key=value:Effect``, as kubectl writes a taint."""
    value = taint.get("value")
    return f"{taint.get('key', '')}{'=' + str(value) if value else ''}:{taint.get('effect', '')}"


def _fact_cells(facts: Mapping[str, Any]) -> list[str]:
    if not facts:
        return ["-"] * len(_FACT_COLUMNS)
    apis = facts.get("apis")
    return [
        facts.get("provider") or "-",
        facts.get("region") or "-",
        ",".join(facts.get("zones") or ()) or "-",
        ",".join(_taint(t) for t in facts.get("taints") or ()) or "-",
        # Without status.apiEnablements, Karmada assumes every API is served.
        "all" if apis is None else plural(len(apis), "kind"),
    ]


def _facts_json(facts: Mapping[str, Any]) -> dict[str, object]:
    found: dict[str, object] = {
        "provider": facts.get("provider", ""),
        "region": facts.get("region", ""),
        "zones": list(facts.get("zones") or ()),
        "taints": [dict(t) for t in facts.get("taints") or ()],
    }
    if facts.get("apis") is not None:
        found["apiEnablements"] = [{"groupVersion": gv, "kind": kind} for gv, kind in facts["apis"]]
    return found


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
                **({"karmada": _facts_json(p.cluster.facts)} if p.cluster.facts else {}),
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
