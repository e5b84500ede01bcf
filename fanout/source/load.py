"""Stage 2, load: every YAML file of a source root's input folders, parsed into documents by role.

``fanout.yaml`` is read and checked first, with the default limits; no other file is read when it is
wrong, so a bad path in it can never make fanout read outside the source root.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from fanout.core.document import Document
from fanout.core.errors import Location, Problem
from fanout.core.limits import DEFAULT_LIMITS, from_config
from fanout.core.validate import check
from fanout.source.discover import CONFIG_FILE
from fanout.source.memo import Memo
from fanout.source.parse import load_documents
from fanout.source.tree import Refused


@dataclass(frozen=True)
class RawSource:
    """Every document of a source root, by role, before validation."""

    config: Document | None
    clusters: tuple[Document, ...]
    templates: tuple[Document, ...]
    overrides: tuple[Document, ...]
    problems: tuple[Problem, ...]
    # Other files the templates name (a HelmChart's chart and values files), read here at the edge:
    # path -> bytes, or None for a path that holds no file. A chart folder is listed as its files.
    files: Mapping[str, bytes | None] = field(default_factory=dict)


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
        "charts": "charts",
    }
    if config is not None and isinstance(config.data, dict):
        for key in chosen:
            value = config.data.get(key)
            if isinstance(value, str) and value:
                chosen[key] = value.strip("/")
    return chosen


def read_config(tree: _Tree, memo: Memo | None = None) -> tuple[Document | None, list[Problem]]:
    """``fanout.yaml``, checked against its schema; read with the default limits.

    ``memo``: as for ``read_source``; a config the memo vouches for is not checked again, which spares a
    small edit the import of jsonschema.
    """
    raw = tree.read(CONFIG_FILE)
    if raw is None:
        return None, []
    if memo is not None:
        docs, problems = memo.documents(CONFIG_FILE, raw, DEFAULT_LIMITS, load_documents)
    else:
        docs, problems = load_documents(CONFIG_FILE, raw)
    if len(docs) > 1:
        problems.append(Problem("fanout.yaml must hold one document", Location(CONFIG_FILE, 1, 1)))
    config = docs[0] if docs else None
    if config is not None:
        problems.extend(check(config, "config"))
        if not problems:
            problems.extend(_output_apart(config))
    return config, problems


def _output_apart(config: Document) -> list[Problem]:
    """The output folder may sit inside an input folder (it is never read back), but not be one or hold one:
    then its rendered files would replace the inputs, or the inputs would be skipped as output."""
    where = folders(config)
    output = where["output"]
    for role in ("clusters", "templates", "overrides", "charts"):
        folder = where[role]
        if folder == output or folder.startswith(output + "/") or output in ("", "."):
            return [
                Problem(
                    f"output {output!r} is the {role} folder or holds it: choose a folder of its own for the"
                    " rendered files (default: rendered)",
                    config.location("/output"),
                )
            ]
    return []


def read_source(tree: _Tree, memo: Memo | None = None) -> RawSource:
    """Read ``fanout.yaml`` and, when it is valid, every YAML file of the input folders, sorted by path.

    ``memo``: documents of files read before (``fanout.source.memo``), taken instead of parsing them again.
    """
    config, problems = read_config(tree, memo)
    if problems:
        return RawSource(config, (), (), (), tuple(problems))
    limits = from_config(config.data.get("limits") if config is not None else None)
    where = folders(config)
    output = where["output"] + "/"
    charts = where["charts"] + "/"
    groups: dict[str, list[Document]] = {"clusters": [], "templates": [], "overrides": []}
    for role, documents in groups.items():
        problems.extend(Problem(why, Location(path)) for path, why in tree.refused(where[role]))
        for path in tree.list_files(where[role]):
            # A rendered folder inside an input folder must not be read back as input, nor charts.
            if not path.endswith(YAML_SUFFIXES) or path.startswith((output, charts)):
                continue
            content = tree.read(path)
            if content is None:  # pragma: no cover - listed files exist
                continue
            if memo is not None:
                docs, found = memo.documents(path, content, limits, load_documents)
            else:
                docs, found = load_documents(path, content, limits)
            documents.extend(docs)
            problems.extend(found)
    files = _chart_files(tree, groups["templates"], groups["clusters"], where["charts"], problems)
    return RawSource(
        config,
        tuple(groups["clusters"]),
        tuple(groups["templates"]),
        tuple(groups["overrides"]),
        tuple(problems),
        files,
    )


def _chart_files(
    tree: _Tree, templates: list[Document], clusters: list[Document], folder: str, problems: list[Problem]
) -> dict[str, bytes | None]:
    """The files HelmChart templates name: each chart (a folder under ``charts:`` or a .tgz there) and each
    values file, with ``${cluster.name}`` tried for every cluster named in the inventory."""
    files: dict[str, bytes | None] = {}
    names = [_name_of(doc.data) for doc in clusters]
    for doc in templates:
        data = doc.data
        if not isinstance(data, dict) or (data.get("apiVersion"), data.get("kind")) != (
            HELM_API,
            "HelmChart",
        ):
            continue
        spec: dict[str, Any] = data["spec"] if isinstance(data.get("spec"), dict) else {}
        chart = spec.get("chart")
        if isinstance(chart, str) and chart and not chart.startswith("/") and ".." not in chart.split("/"):
            path = f"{folder}/{chart.strip('/')}"
            listed = tree.list_files(path)
            problems.extend(Problem(why, Location(p)) for p, why in tree.refused(path))
            for item in listed or [path]:
                if item not in files:
                    files[item] = tree.read(item)
        for entry in spec.get("valuesFiles") or ():
            written = entry.get("path") if isinstance(entry, dict) else entry
            if not isinstance(written, str) or written.startswith("/") or ".." in written.split("/"):
                continue
            for name in names if "${cluster.name}" in written else [""]:
                path = written.replace("${cluster.name}", name) if name else written
                if path not in files:
                    files[path] = tree.read(path)
    return files


def _name_of(data: Any) -> str:
    metadata = data.get("metadata") if isinstance(data, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


HELM_API = "fanout.dev/v1alpha1"
