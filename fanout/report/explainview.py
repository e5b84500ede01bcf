"""``fanout explain``'s story (``fanout.report.explain``) as lines of text, or as a document (``-o json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fanout.core.model import ObjectId, Template
from fanout.report.diffing import HIDDEN
from fanout.report.explain import (
    VALUE_WIDTH,
    Absent,
    FieldStep,
    PlacementStory,
    Story,
    secret_pointer,
    short_location,
)
from fanout.report.machine import location_json, object_json

# --- as text ----------------------------------------------------------------------------------


def show_value(ident: ObjectId, pointer: str, step: FieldStep) -> str:
    if not step.present:
        return "(absent)"
    if secret_pointer(ident, pointer):
        return HIDDEN
    text = json.dumps(step.value, ensure_ascii=False)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def history_line(ident: ObjectId, pointer: str, history: Sequence[FieldStep]) -> str:
    parts = []
    for step in history:
        where = short_location(step.location)
        source = f"template {where}" if step.source == "template" else where
        # A substituted Secret value's template text could give the value away.
        note = f", {step.note}" if step.note and not secret_pointer(ident, pointer) else ""
        parts.append(f"{show_value(ident, pointer, step)} ({source}{note})")
    return f"{pointer or '/'}: " + " → ".join(parts)


def _placement_lines(story: PlacementStory, indent: str) -> list[str]:
    lines = [f"{indent}rule: {story.rule} ({short_location(story.location)})"]
    lines += [f"{indent}- {reason}" for reason in story.reasons]
    for step in story.narrowed:
        at = f" ({short_location(step.location)})" if step.location is not None else ""
        among = "is among them" if step.kept else "is not among them"
        names = ", ".join(step.names) or "none"
        lines.append(f"{indent}then {step.because}{at}: clusters {names}; this cluster {among}")
    lines.append(f"{indent}cluster labels: {story.labels}")
    return lines


def _template_line(template: Template) -> str:
    kind = template.doc.data.get("kind", template.ident.kind) if isinstance(template.doc.data, dict) else ""
    return f"template: {short_location(template.doc.location())} ({kind} {template.ident.name})"


def lines(story: Story) -> list[str]:
    if isinstance(story, Absent):
        out = [f"{story.target} is not rendered in cluster {story.cluster.name}: it is not placed there"]
        for template, placement in story.candidates:
            out += ["", _template_line(template), "not placed:"]
            out += _placement_lines(placement, "  ")
        return out
    ident = story.template.ident
    out = [
        f"{ident} in cluster {story.cluster.name}",
        f"output: {story.cluster.name}/{story.path}",
        _template_line(story.template),
        "placed:",
        *_placement_lines(story.placement, "  "),
    ]
    if story.patches:
        out.append("overrides, in the order applied:")
        for index, patch in enumerate(story.patches, 1):
            out.append(f"  {index}. {short_location(patch.location)}: {patch.why}")
            out += [f"       {text} ({short_location(where)})" for text, where in patch.steps]
    else:
        out.append("overrides: none apply to this object in this cluster")
    failure = story.replay.failure
    if story.field is not None and story.replay.history:
        out.append(history_line(ident, story.field, story.replay.history))
    if failure is not None:
        where = f" ({short_location(failure.location)})" if failure.location else ""
        out.append(f"rendering fails at {failure.step}{where}: {failure.message}")
    return out


# --- as a document (``-o json``) --------------------------------------------------------------


def _placement_json(story: PlacementStory) -> dict[str, Any]:
    return {
        "placed": story.placed,
        "rule": story.rule,
        "location": location_json(story.location),
        "reasons": list(story.reasons),
        "narrowedBy": [
            {
                "because": n.because,
                "location": location_json(n.location),
                "clusters": list(n.names),
                "kept": n.kept,
            }
            for n in story.narrowed
        ],
    }


def _step_json(ident: ObjectId, pointer: str, step: FieldStep) -> dict[str, Any]:
    found: dict[str, Any] = {
        "source": step.source,
        "location": location_json(step.location),
        "present": step.present,
    }
    if step.present:
        found["value"] = HIDDEN if secret_pointer(ident, pointer) else step.value
    if step.note and not secret_pointer(ident, pointer):
        found["note"] = step.note
    return found


def story_json(story: Story) -> dict[str, Any]:
    """The story as plain data: ``rendered`` false with each candidate's placement, or the whole chain."""
    if isinstance(story, Absent):
        return {
            "cluster": story.cluster.name,
            "rendered": False,
            "target": str(story.target),
            "candidates": [
                {
                    "template": location_json(t.doc.location()),
                    "object": object_json(t.ident),
                    "placement": _placement_json(p),
                }
                for t, p in story.candidates
            ],
        }
    ident = story.template.ident
    failure = story.replay.failure
    found: dict[str, Any] = {
        "cluster": story.cluster.name,
        "rendered": failure is None,
        "object": object_json(ident),
        "output": f"{story.cluster.name}/{story.path}",
        "template": location_json(story.template.doc.location()),
        "placement": _placement_json(story.placement),
        "overrides": [
            {
                "label": p.label,
                "location": location_json(p.location),
                "why": p.why,
                "steps": [{"operation": text, "location": location_json(where)} for text, where in p.steps],
            }
            for p in story.patches
        ],
    }
    if story.field is not None:
        found["field"] = {
            "pointer": story.field,
            "history": [_step_json(ident, story.field, s) for s in story.replay.history],
        }
    if failure is not None:
        found["failure"] = {
            "step": failure.step,
            "location": location_json(failure.location),
            "message": failure.message,
        }
    return found
