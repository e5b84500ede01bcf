"""Finding fanout's JSON Schemas, in a wheel (``fanout/schemas``) or a source checkout (``schemas/``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource


def schema_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "schemas"
    if packaged.is_dir():
        return packaged
    return here.parent / "schemas"  # an editable install or a source checkout


@cache  # schemas are immutable files shipped with fanout: load each once per process
def _registry() -> tuple[Registry, dict[str, Any]]:
    by_name: dict[str, Any] = {}
    resources = []
    for path in sorted(schema_dir().glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        by_name[path.name.removesuffix(".schema.json")] = contents
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources), by_name


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for ``schemas/<name>.schema.json`` (e.g. ``cluster``)."""
    registry, by_name = _registry()
    return Draft202012Validator(by_name[name], registry=registry)
