"""Turn a ``Comparison`` into text (with styles for a terminal), JSON, or a Markdown pull-request comment.

Pure: every function returns strings; the command decides where they go and whether styles are drawn.

The JSON shape (``JSON_VERSION`` 1) is documented in docs/diff-and-explain.md; add fields freely, but
change or remove one only together with a new version number.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from fanout.core.errors import visible
from fanout.core.fielddiff import FieldChange, ObjectStatus
from fanout.core.words import plural, some_names
from fanout.report.diffing import ClusterDiff, Comparison, Group, ObjectChange, Side

JSON_VERSION = 1
# GitHub refuses comments over 65,536 characters; stay well below, leaving room for a bot's own text.
MARKDOWN_LIMIT = 60_000
STATUSES: tuple[ObjectStatus, ...] = ("added", "removed", "changed")
SIGNS = {"added": "+", "removed": "-", "changed": "~"}
OBJECT_STYLES = {"added": "green", "removed": "red"}


class Line(NamedTuple):
    """One line of text output and the rich style to draw it in on a terminal ("" for none)."""

    text: str
    style: str = ""


def _shows_commit(side: Side) -> bool:
    """Whether the commit adds anything to the label (it does not when the ref is a SHA already)."""
    return bool(side.commit and side.ref and not side.commit.startswith(side.ref))


def _side(side: Side) -> str:
    return f"{side.label} ({side.commit[:12]})" if _shows_commit(side) and side.commit else side.label


def _md_side(side: Side) -> str:
    return (
        f"{_code(side.label)} ({side.commit[:12]})"
        if _shows_commit(side) and side.commit
        else _code(side.label)
    )


def title(comparison: Comparison) -> str:
    """``HEAD (1a2b3c4d5e6f) → working tree``, or ``cluster dev-1 → cluster prod-1 (at HEAD)``."""
    base, head = comparison.base, comparison.head
    if comparison.mode == "clusters":
        where = f" at {_side(Side(head.ref, head.ref, head.commit))}" if head.ref else ""
        return visible(f"cluster {base.label} → cluster {head.label}{where}")
    return visible(f"{_side(base)} → {_side(head)}")  # a ref name may hold any Unicode


def summary_sentence(comparison: Comparison) -> str:
    if not comparison.differs:
        if comparison.mode == "clusters":
            return "no differences"
        return f"no differences in {plural(len(comparison.clusters), 'cluster')}"
    counts = ", ".join(f"{comparison.total(s)} {s}" for s in STATUSES)
    if comparison.mode == "clusters":
        return f"objects: {counts}"
    changed = len(comparison.changed_clusters)
    return f"{changed} of {plural(len(comparison.clusters), 'cluster')} differ; objects: {counts}"


def _cluster_note(cluster: ClusterDiff) -> str:
    return {"added": " (new cluster)", "removed": " (cluster removed)"}.get(cluster.status, "")


def group_heading(group: Group) -> str:
    names = ", ".join(c.name + _cluster_note(c) for c in group.clusters)
    if len(group.clusters) == 1:
        return names if group.clusters[0].base != group.clusters[0].head else f"cluster {names}"
    return f"the same change in {len(group.clusters)} clusters: {names}"


def shown_for(group: Group) -> str:
    return (
        f"(the diffs are {group.names[0]}'s; the other clusters' differ only in the unchanged lines around"
        " the change)"
    )


def object_line(change: ObjectChange) -> str:
    return visible(f"{SIGNS[change.status]} {change.status} {change.ident} ({change.path})")


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return ""


def table_rows(comparison: Comparison) -> list[list[str]]:
    rows = [["CLUSTER", "ADDED", "REMOVED", "CHANGED"]]
    for cluster in comparison.changed_clusters:
        rows.append([cluster.name + _cluster_note(cluster), *(str(cluster.count(s)) for s in STATUSES)])
    return rows


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """First column left-aligned, numbers right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def _unchanged_line(comparison: Comparison) -> list[str]:
    same = [c.name for c in comparison.clusters if c.status == "unchanged"]
    if comparison.mode == "clusters" or not same:
        return []
    return [f"unchanged: {plural(len(same), 'cluster')} ({some_names(same)})"]


def text(comparison: Comparison, stat: bool = False) -> list[Line]:
    """The summary table, then (unless ``stat``) each group's object list and diffs."""
    lines = [Line(f"fanout diff: {title(comparison)}: {summary_sentence(comparison)}", "bold")]
    if not comparison.differs:
        return lines
    lines.append(Line(""))
    table = _aligned(table_rows(comparison))
    lines.append(Line(table[0], "bold"))
    lines.extend(Line(row) for row in table[1:])
    lines.extend(Line(row, "dim") for row in _unchanged_line(comparison))
    if stat:
        return lines
    for group in comparison.groups:
        lines.append(Line(""))
        lines.append(Line(f"== {group_heading(group)}", "bold magenta"))
        if not group.same_diff:
            lines.append(Line(shown_for(group), "dim"))
        for change in group.changes:
            lines.append(Line(object_line(change), OBJECT_STYLES.get(change.status, "")))
        for change in group.changes:
            lines.extend(Line(d, _diff_style(d)) for d in change.diff)
    return lines


# --- JSON -----------------------------------------------------------------------------------


def _side_json(side: Side) -> dict[str, Any]:
    return {"label": side.label, "ref": side.ref, "commit": side.commit, "cluster": side.cluster}


def _field_json(change: FieldChange) -> dict[str, Any]:
    found: dict[str, Any] = {"path": change.path, "op": change.op}
    if change.op != "added":
        found["before"] = change.before
    if change.op != "removed":
        found["after"] = change.after
    return found


def _object_json(change: ObjectChange, with_diff: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "status": change.status,
        "apiVersion": change.api_version,
        "kind": change.ident.kind,
        "namespace": change.ident.namespace or None,
        "name": change.ident.name,
        "path": change.path,
    }
    if with_diff:
        if change.status == "changed":
            found["fields"] = [_field_json(f) for f in change.fields]
        found["diff"] = "".join(line + "\n" for line in change.diff)
    return found


def to_json(comparison: Comparison, stat: bool = False) -> str:
    """The stable machine-readable form (see docs/diff-and-explain.md); ``stat`` leaves out the diffs."""
    groups_of: dict[str, list[int]] = {}
    for index, group in enumerate(comparison.groups):
        for cluster in group.clusters:
            groups_of.setdefault(cluster.name, []).append(index)
    document: dict[str, Any] = {
        "version": JSON_VERSION,
        "mode": comparison.mode,
        "base": _side_json(comparison.base),
        "head": _side_json(comparison.head),
        "differs": comparison.differs,
        "summary": {
            "clustersCompared": len(comparison.clusters),
            "clustersChanged": len(comparison.changed_clusters),
            **{s: comparison.total(s) for s in STATUSES},
        },
        "clusters": [
            {
                "name": c.name,
                "base": c.base,
                "head": c.head,
                "status": c.status,
                **{s: c.count(s) for s in STATUSES},
                "groups": groups_of.get(c.name, []),
                "objects": [_object_json(o, False) for o in c.changes],
            }
            for c in comparison.clusters
        ],
        "groups": [
            {
                "clusters": list(g.names),
                "diffFrom": g.names[0],
                "sameDiff": g.same_diff,
                "objects": [_object_json(o, not stat) for o in g.changes],
            }
            for g in comparison.groups
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


# --- Markdown -------------------------------------------------------------------------------

# Lists in a <summary> stay short; the section itself names every cluster.
SUMMARY_NAMES = 6


def _code(value: str) -> str:
    return f"<code>{html.escape(value, quote=False)}</code>"


def _fence(lines: Iterable[str]) -> str:
    """A backtick fence longer than any run of backticks in the block, so no line can close it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _md_heading(comparison: Comparison) -> list[str]:
    base, head = comparison.base, comparison.head
    if comparison.mode == "clusters":
        at = f" at {_md_side(Side(head.ref or '', head.ref, head.commit))}" if head.ref else ""
        heading = f"### fanout diff: cluster {_code(base.label)} → cluster {_code(head.label)}{at}"
    else:
        heading = f"### fanout diff: {_md_side(base)} → {_md_side(head)}"
    return [heading, "", f"**{html.escape(summary_sentence(comparison), quote=False)}**", ""]


def _md_table(comparison: Comparison, budget: int) -> list[str]:
    rows = ["| Cluster | Added | Removed | Changed |", "| :-- | --: | --: | --: |"]
    changed = comparison.changed_clusters
    for index, cluster in enumerate(changed):
        row = f"| {_code(cluster.name)}{_cluster_note(cluster)} | " + " | ".join(
            str(cluster.count(s)) for s in STATUSES
        )
        row += " |"
        if sum(len(r) + 1 for r in rows) + len(row) > budget:
            rows.append(f"| … and {plural(len(changed) - index, 'more cluster')} | | | |")
            break
        rows.append(row)
    same = _unchanged_line(comparison)
    return [*rows, "", *([f"<sub>{html.escape(same[0], quote=False)}</sub>", ""] if same else [])]


def _md_summary(group: Group) -> str:
    shown = ", ".join(_code(n) + _cluster_note(c) for n, c in zip(group.names, group.clusters, strict=True))
    if len(group.clusters) > SUMMARY_NAMES:
        head = ", ".join(_code(n) for n in group.names[:SUMMARY_NAMES])
        shown = f"{head} and {len(group.clusters) - SUMMARY_NAMES} more"
    counts = ", ".join(f"{n} {s}" for s in STATUSES if (n := sum(1 for c in group.changes if c.status == s)))
    counts = counts or "no objects"
    if len(group.clusters) == 1:
        return f"{shown}: {counts}"
    return f"the same change in {len(group.clusters)} clusters: {shown} ({counts})"


def _md_objects(group: Group) -> list[str]:
    return [f"- **{c.status}** {_code(str(c.ident))} in {_code(c.path)}" for c in group.changes]


def _md_section(group: Group, diffs: Sequence[Sequence[str]]) -> str:
    """One collapsible section; ``diffs`` holds each object's diff lines (cut ones end with a note)."""
    body = [line for diff in diffs for line in diff]
    fence = _fence(line for change in group.changes for line in change.diff)  # the same, cut or not
    parts = ["<details>", f"<summary>{_md_summary(group)}</summary>", ""]
    if len(group.clusters) > SUMMARY_NAMES:
        parts += ["Clusters: " + ", ".join(_code(n) for n in group.names), ""]
    if not group.same_diff:
        parts += [f"<sub>{html.escape(shown_for(group), quote=False)}</sub>", ""]
    parts += [*_md_objects(group), "", fence + "diff", *body, fence, "", "</details>", ""]
    return "\n".join(parts) + "\n"


def _whole(group: Group) -> list[list[str]]:
    return [list(change.diff) for change in group.changes]


def _size(lines: Sequence[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _cut(lines: Sequence[str], room: int) -> list[str]:
    """The first lines of ``lines`` that fit in ``room`` characters, then a note when any are left out."""
    if _size(lines) <= room:
        return list(lines)
    kept: list[str] = []
    used = 0
    for line in lines:
        used += len(line) + 1
        if used > room:
            break
        kept.append(line)
    return [*kept, CUT_NOTE.format(len(lines) - len(kept))]


def _shares(needs: Sequence[int], room: int) -> list[int]:
    """Split ``room``: small needs are met in full, big ones get an equal share of what is left."""
    shares = [0] * len(needs)
    left = room
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    for position, index in enumerate(order):
        share = min(needs[index], left // (len(needs) - position))
        shares[index] = share
        left -= share
    return shares


CUT_NOTE = "… cut here: {} more lines of this diff are not shown"


def _cut_sections(groups: Sequence[Group], room: int) -> list[str] | None:
    """Every section, each object's diff cut to its share of ``room``; None when the sections' headings
    and notes alone do not fit."""
    diffs = [d for g in groups for d in _whole(g)]
    # What a section takes besides its diffs, with a cut note under every diff (the most it can take).
    overhead = sum(len(_md_section(g, [[CUT_NOTE.format(len(d))] for d in _whole(g)])) for g in groups)
    if overhead > room:
        return None
    shares = iter(_shares([_size(d) for d in diffs], room - overhead))
    return [_md_section(g, [_cut(d, next(shares)) for d in _whole(g)]) for g in groups]


def to_markdown(
    comparison: Comparison, stat: bool = False, limit: int = MARKDOWN_LIMIT, rerun: str = ""
) -> str:
    """A pull-request comment: heading, summary table, one collapsible section per group of clusters.

    When the whole comment would pass ``limit`` characters, every section's diff is cut to a fair share of
    the room (small diffs stay whole); when even that does not fit, the last sections are left out. A note
    says what is missing; ``rerun`` is the command that shows everything.
    """
    text = "\n".join(_md_heading(comparison)) + "\n"
    if not comparison.differs:
        return text
    # The table may use a third of the room; the diffs are what reviewers came for.
    text += "\n".join(_md_table(comparison, limit // 3)) + "\n"
    if stat:
        return text
    groups = comparison.groups
    whole = [_md_section(g, _whole(g)) for g in groups]
    if len(text) + sum(len(s) for s in whole) <= limit:
        return text + "".join(whole)
    how = f" Run `{rerun}` to see all of it." if rerun else ""
    room = limit - len(text) - 300 - len(how)  # leaves room for the closing note
    shown = len(groups)
    sections = _cut_sections(groups, room)
    while sections is None:  # too many sections: leave out the last ones
        shown -= 1
        sections = _cut_sections(groups[:shown], room) if shown else []
    left = groups[shown:]
    hidden = sum(len(g.clusters) for g in left)
    missing = f" {plural(len(left), 'more section')} ({plural(hidden, 'cluster')}) not shown." if left else ""
    note = f"\n> [!NOTE]\n> This diff was cut to stay under {limit:,} characters.{missing}{how}\n"
    return text + "".join(sections) + note
