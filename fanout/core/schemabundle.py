"""Self-contained JSON Schemas for editors and other tools, built from ``schemas/src/``.

The sources share definitions through ``common.schema.json``; a tool given one file on its own
(check-jsonschema, an editor through a ``# yaml-language-server: $schema=`` line) cannot follow that
reference. So each shipped ``schemas/<name>.schema.json`` carries a copy of the definitions it uses,
with its references made local, and ``schemas/fanout.schema.json`` holds every schema and picks one
by ``apiVersion`` and ``kind``, for files that may hold any fanout document.

Regenerate after editing a source: ``python -m fanout.core.schemabundle`` (a test fails while the shipped
files differ from what this builds).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://fanout.dev/schemas/"
SHARED = "common"
UMBRELLA = "fanout"
# The schema for documents no other schema claims: plain Kubernetes manifests (any apiVersion).
FALLBACK = "manifest"
SUFFIX = ".schema.json"


def _map_refs(node: Any, rewrite: Any) -> Any:
    """A copy of ``node`` with every ``$ref`` value passed through ``rewrite``."""
    if isinstance(node, dict):
        return {k: rewrite(v) if k == "$ref" else _map_refs(v, rewrite) for k, v in node.items()}
    if isinstance(node, list):
        return [_map_refs(v, rewrite) for v in node]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _shared_names(node: Any, shared: Mapping[str, Any]) -> list[str]:
    """The shared definitions ``node`` uses, directly or through one another, in first-use order."""
    prefix = f"{SHARED}{SUFFIX}#/$defs/"
    wanted = [r.removeprefix(prefix) for r in _refs(node) if r.startswith(prefix)]
    found: list[str] = []
    while wanted:
        name = wanted.pop(0)
        if name in found:
            continue
        if name not in shared:
            raise ValueError(f"{SHARED}{SUFFIX} has no definition {name!r}")
        found.append(name)
        wanted += [r.removeprefix("#/$defs/") for r in _refs(shared[name]) if r.startswith("#/$defs/")]
    return found


def bundle(schema: Mapping[str, Any], shared: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with the shared definitions it uses copied into its own ``$defs``."""
    names = _shared_names(schema, shared)
    prefix = f"{SHARED}{SUFFIX}#"
    result: dict[str, Any] = _map_refs(
        dict(schema), lambda ref: "#" + ref.removeprefix(prefix) if ref.startswith(prefix) else ref
    )
    if names:
        own = dict(result.get("$defs", {}))
        for name in names:
            if name in own and own[name] != shared[name]:
                raise ValueError(f"{schema.get('$id')}: its own $defs/{name} hides the shared one")
            own[name] = shared[name]
        result["$defs"] = own
    return result


def _constraint(schema: Mapping[str, Any], field: str) -> dict[str, Any] | None:
    found = schema.get("properties", {}).get(field, {})
    picked = {k: found[k] for k in ("const", "enum", "pattern") if k in found}
    return picked or None


def dispatch_order(schemas: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Schemas that name their kind exactly first, then by pattern, the longest (narrowest) first."""

    def key(name: str) -> tuple[int, int, str]:
        kind = _constraint(schemas[name], "kind") or {}
        pattern = kind.get("pattern")
        return (1 if pattern else 0, -len(pattern or ""), name)

    return sorted((n for n in schemas if n != FALLBACK), key=key)


def umbrella(bundled: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One schema for any fanout document: an if/then/else chain on ``apiVersion`` and ``kind``."""
    defs: dict[str, Any] = {}
    for name, schema in bundled.items():
        inner = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
        own = f"#/$defs/{name}/$defs/"
        defs[name] = _map_refs(
            inner,
            lambda ref, own=own: own + ref.removeprefix("#/$defs/") if ref.startswith("#/$defs/") else ref,
        )
    chain: dict[str, Any] = {"$ref": f"#/$defs/{FALLBACK}"}
    for name in reversed(dispatch_order(bundled)):
        api, kind = _constraint(bundled[name], "apiVersion"), _constraint(bundled[name], "kind")
        if api is None or kind is None:
            raise ValueError(f"{name}: a schema must constrain apiVersion and kind to be chosen by them")
        condition = {"required": ["apiVersion", "kind"], "properties": {"apiVersion": api, "kind": kind}}
        chain = {"if": condition, "then": {"$ref": f"#/$defs/{name}"}, "else": chain}
    # `kubectl get -o yaml` exports (kind: List, or <Kind>List): fanout reads each item as a document.
    is_list = {"required": ["kind", "items"], "properties": {"kind": {"pattern": "List$"}}}
    each = {"properties": {"items": {"type": "array", "items": {"$ref": "#"}}}}
    chain = {"if": is_list, "then": each, "else": chain}
    return {
        "$schema": DRAFT,
        "$id": f"{BASE_ID}{UMBRELLA}{SUFFIX}",
        "title": "Any fanout document (chosen by apiVersion and kind; plain Kubernetes manifests otherwise)",
        "$defs": defs,
        **chain,
    }


def build(sources: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every shipped schema by name (``override``, ..., and the umbrella ``fanout``) from the sources."""
    shared = sources[SHARED].get("$defs", {})
    bundled = {name: bundle(schema, shared) for name, schema in sorted(sources.items()) if name != SHARED}
    return {**bundled, UMBRELLA: umbrella(bundled)}


def text(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def read_sources(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(SUFFIX): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob(f"*{SUFFIX}"))
    }


def main(argv: list[str] | None = None) -> int:
    """Rewrite ``schemas/*.schema.json`` from ``schemas/src/`` (a source checkout's, by default)."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "schemas"
    for name, schema in build(read_sources(folder / "src")).items():
        (folder / f"{name}{SUFFIX}").write_text(text(schema), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
