"""Finding fanout's JSON Schemas, in a wheel (``fanout/schemas``) or a source checkout (``schemas/``)."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema is imported when a document is first checked (the input memo spares most)
    from jsonschema import Draft202012Validator


def schema_dir() -> Path:
    here = Path(__file__).resolve().parent.parent  # the fanout package
    packaged = here / "schemas"
    if packaged.is_dir():
        return packaged
    return here.parent / "schemas"  # an editable install or a source checkout


def names() -> list[str]:
    """Every shipped schema's name (``cluster``, ``override``, ..., ``fanout`` for any document)."""
    return sorted(path.name.removesuffix(".schema.json") for path in schema_dir().glob("*.schema.json"))


@cache  # schemas are immutable files shipped with fanout: load each once per process
def schema(name: str) -> dict[str, Any]:
    """``schemas/<name>.schema.json``, self-contained (fanout/core/schemabundle.py): no registry needed."""
    loaded: dict[str, Any] = json.loads((schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
    return loaded


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for ``schemas/<name>.schema.json`` (e.g. ``cluster``)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(name))


# Where ``fanout init`` and ``fanout import`` copy the schemas inside a source root: a hidden folder, which
# fanout does not read as input, committed with the rest so that every editor on the team finds them.
COPY_FOLDER = ".fanout/schemas"


def shipped() -> dict[str, bytes]:
    """Every shipped schema file, by file name, for copying into a source root."""
    return {path.name: path.read_bytes() for path in sorted(schema_dir().glob("*.schema.json"))}


def modeline(path: str, schema: str) -> str:
    """The editor line naming the file's schema in ``COPY_FOLDER``, relative to the file (as
    yaml-language-server reads it)."""
    target = f"{COPY_FOLDER}/{schema}.schema.json"
    return f"# yaml-language-server: $schema={os.path.relpath(target, os.path.dirname(path) or '.')}\n"
