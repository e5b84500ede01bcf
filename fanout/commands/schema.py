"""``fanout schema [NAME]``: the JSON Schemas fanout checks its inputs with, for editors and other tools."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fanout.core import schemabundle
from fanout.core.errors import FanoutError
from fanout.core.schemas import names, schema, schema_dir
from fanout.core.validate import did_you_mean


def _by_kind(kind: str) -> str | None:
    """The schema the umbrella schema picks for documents of ``kind`` (with an apiVersion it allows)."""
    loaded = {name: schema(name) for name in names() if name != schemabundle.UMBRELLA}
    for name in schemabundle.dispatch_order(loaded):
        constraint = loaded[name].get("properties", {}).get("kind", {})
        if (
            constraint.get("const") == kind
            or kind in constraint.get("enum", ())
            or ("pattern" in constraint and re.search(constraint["pattern"], kind))
        ):
            return name
    # Any other kind is a plain manifest, as the umbrella schema decides.
    pattern = loaded[schemabundle.FALLBACK].get("properties", {}).get("kind", {}).get("pattern", "")
    return schemabundle.FALLBACK if re.search(pattern, kind) else None


def resolve(wanted: str) -> str:
    """A schema's name from its name (``override``) or from a kind (``Override``, ``FederatedDeployment``)."""
    known = names()
    if wanted.lower() in known:
        return wanted.lower()
    # Kinds start with a capital letter; anything else was meant as a schema's name.
    found = _by_kind(wanted) if wanted[:1].isupper() else None
    if found is not None:
        return found
    raise FanoutError.at(f"no schema named {wanted!r}{did_you_mean(wanted, known)}; `fanout schema --list`")


def run(wanted: str | None, listing: bool, output_dir: Path | None, echo: Callable[[str], None]) -> int:
    if listing:
        width = max(len(n) for n in names())
        for name in names():
            echo(f"{name.ljust(width)}  {schema(name).get('title', '')}")
        return 0
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        chosen = [resolve(wanted)] if wanted else names()
        for name in chosen:
            path = schema_dir() / f"{name}{schemabundle.SUFFIX}"
            (output_dir / path.name).write_bytes(path.read_bytes())
        echo(f"fanout: wrote {len(chosen)} schema{'' if len(chosen) == 1 else 's'} into {output_dir}")
        return 0
    name = resolve(wanted) if wanted else schemabundle.UMBRELLA
    echo((schema_dir() / f"{name}{schemabundle.SUFFIX}").read_text(encoding="utf-8").rstrip("\n"))
    return 0
