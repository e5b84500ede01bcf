"""Stage 2, load: every YAML file of a source root's input folders, parsed into documents by role.

``fanout.yaml`` is read and checked first, with the default limits; no other file is read when it is
wrong, so a bad path in it can never make fanout read outside the source root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fanout.discover import CONFIG_FILE
from fanout.document import Document
from fanout.errors import Location, Problem
from fanout.limits import from_config
from fanout.parse import load_documents
from fanout.source import Refused
from fanout.validate import check


@dataclass(frozen=True)
class RawSource:
    """Every document of a source root, by role, before validation."""

    config: Document | None
    clusters: tuple[Document, ...]
    templates: tuple[Document, ...]
    overrides: tuple[Document, ...]
    problems: tuple[Problem, ...]


YAML_SUFFIXES = (".yaml", ".yml")


class _Tree(Protocol):
    def read(self, path: str) -> bytes | None: ...
    def list_files(self, folder: str) -> list[str]: ...
    def refused(self, folder: str) -> list[Refused]: ...


def folders(config: Document | None) -> dict[str, str]:
    """The input and output folders a (possibly absent or invalid) ``fanout.yaml`` names."""
    chosen = {
        "clusters": "clusters",
        "templates": "templates",
        "overrides": "overrides",
        "output": "rendered",
    }
    if config is not None and isinstance(config.data, dict):
        for key in chosen:
            value = config.data.get(key)
            if isinstance(value, str) and value:
                chosen[key] = value.strip("/")
    return chosen


def read_config(tree: _Tree) -> tuple[Document | None, list[Problem]]:
    """``fanout.yaml``, checked against its schema; read with the default limits."""
    raw = tree.read(CONFIG_FILE)
    if raw is None:
        return None, []
    docs, problems = load_documents(CONFIG_FILE, raw)
    if len(docs) > 1:
        problems.append(Problem("fanout.yaml must hold one document", Location(CONFIG_FILE, 1, 1)))
    config = docs[0] if docs else None
    if config is not None:
        problems.extend(check(config, "config"))
    return config, problems


def read_source(tree: _Tree) -> RawSource:
    """Read ``fanout.yaml`` and, when it is valid, every YAML file of the input folders, sorted by path."""
    config, problems = read_config(tree)
    if problems:
        return RawSource(config, (), (), (), tuple(problems))
    limits = from_config(config.data.get("limits") if config is not None else None)
    where = folders(config)
    output = where["output"] + "/"
    groups: dict[str, list[Document]] = {"clusters": [], "templates": [], "overrides": []}
    for role, documents in groups.items():
        problems.extend(Problem(why, Location(path)) for path, why in tree.refused(where[role]))
        for path in tree.list_files(where[role]):
            # A rendered folder inside an input folder must not be read back as input.
            if not path.endswith(YAML_SUFFIXES) or path.startswith(output):
                continue
            content = tree.read(path)
            if content is None:  # pragma: no cover - listed files exist
                continue
            docs, found = load_documents(path, content, limits)
            documents.extend(docs)
            problems.extend(found)
    return RawSource(
        config,
        tuple(groups["clusters"]),
        tuple(groups["templates"]),
        tuple(groups["overrides"]),
        tuple(problems),
    )
