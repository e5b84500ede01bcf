"""Machine-readable output: versioned documents for ``-o json|yaml``, and problems for CI.

Every JSON document fanout prints has ``kind`` (what it describes) and ``version`` (its shape; a change
that removes or renames a field gets a new version). Problems (errors and warnings) can also be printed
as JSON Lines (one ``kind: Problem`` object per line) or as GitHub Actions annotations
(``::error file=...,line=...,col=...::message``) so that they show inline on a pull request.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fanout.core.errors import Location, Problem, visible

if TYPE_CHECKING:  # the CLI imports this module on every run: keep it light
    from fanout.core.model import ObjectId

VERSION = 1
ERROR_FORMATS = ("text", "json", "github")


def document(kind: str, **payload: Any) -> dict[str, Any]:
    return {"kind": kind, "version": VERSION, **payload}


def dump(doc: Mapping[str, Any], fmt: str) -> str:
    """The document as ``json`` (indented, stable key order as built) or ``yaml``."""
    if fmt == "yaml":
        from fanout.render.emit import (
            dump as dump_yaml,  # the rendered files' writer: every string reads back
        )

        return dump_yaml(dict(doc)).rstrip("\n")
    return json.dumps(doc, indent=2, ensure_ascii=False)


def location_json(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"path": location.path, "line": location.line, "column": location.column}


def object_json(ident: ObjectId) -> dict[str, str]:
    return {"group": ident.group, "kind": ident.kind, "namespace": ident.namespace, "name": ident.name}


def problem_json(problem: Problem, severity: str = "error", root: str = "") -> dict[str, Any]:
    loc = problem.location
    found: dict[str, Any] = {"severity": severity, "message": problem.message}
    if loc is not None:
        found.update(path=_joined(root, loc.path), line=loc.line, column=loc.column)
    return found


def problem_line(problem: Problem, severity: str, fmt: str, root: str = "") -> str:
    """One problem as one line: ``text`` (path:line:col: message), ``json`` (JSON Lines) or ``github``."""
    if fmt == "github":
        return github(problem, severity, root)
    if fmt == "json":
        return json.dumps(document("Problem", **problem_json(problem, severity, root)), ensure_ascii=False)
    label = "" if severity == "error" else f"{severity}: "
    # Text is for people and logs: what came from input is escaped so that it stays on this one line.
    message = visible(problem.message)
    return f"{visible(str(problem.location))}: {label}{message}" if problem.location else f"{label}{message}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _joined(root: str, path: str) -> str:
    """A source-relative path made relative to where fanout runs, when the source root is a local folder."""
    if not root or root == "." or "://" in root:
        return path
    return posixpath.normpath(posixpath.join(root.replace("\\", "/"), path))


def github(problem: Problem, severity: str = "error", root: str = "") -> str:
    """One GitHub Actions workflow command: the problem as an annotation at its file and line."""
    loc = problem.location
    properties = ""
    if loc is not None:
        properties = f" file={_escape_property(_joined(root, loc.path))},line={loc.line},col={loc.column}"
    return f"::{severity}{properties}::{_escape_data(problem.message)}"
