"""``fanout federate FILE... [--out DIR]``: plain manifests in, KubeFed ``Federated<Kind>`` objects out.

Every input file is checked before anything is written, so a mistake in one file leaves ``--out``
untouched. Each input file gives one output file of the same name (all documents, in order).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import yaml

from fanout.errors import Location, Problems
from fanout.kubefed.federate import check, federate

_STD = "tag:yaml.org,2002:"
_PLAIN = {_STD + t for t in ("str", "int", "float", "bool", "null")}
_SCALARS = yaml.constructor.SafeConstructor()


def federate_command(files: list[Path], out: Path | None, stdout: TextIO | None = None) -> int:
    """Federate ``files`` into ``out`` (or print to ``stdout``); the exit code.

    User mistakes raise ``FanoutError`` before anything is written.
    """
    rendered = federate_files(files)
    if out is None:
        stream = stdout if stdout is not None else sys.stdout
        stream.write("---\n".join(text for _, text in rendered if text))
        return 0
    _check_targets(files, out)
    out.mkdir(parents=True, exist_ok=True)
    for path, text in rendered:
        (out / path.name).write_text(text, encoding="utf-8")
    return 0


def federate_files(files: list[Path]) -> list[tuple[Path, str]]:
    """Each input path with the YAML text of its federated documents; all problems at once."""
    problems = Problems()
    results: list[tuple[Path, str]] = []
    for path in files:
        label = str(path)
        try:
            content = path.read_bytes()
        except OSError as exc:
            problems.add(f"cannot read file: {exc.strerror or exc}", Location(label))
            continue
        federated: list[dict[str, Any]] = []
        for obj, where in _objects(label, content, problems):
            issues = check(obj)
            for issue in issues:
                problems.add(issue.message, where(issue.pointer))
            if not issues:
                federated.append(federate(obj))
        results.append((path, dump_all(federated)))
    problems.raise_if_any()
    return results


def _check_targets(files: list[Path], out: Path) -> None:
    problems = Problems()
    if out.exists() and not out.is_dir():
        problems.add(f"--out {out} exists and is not a directory")
    seen: dict[str, Path] = {}
    inputs = {p.resolve() for p in files}
    for path in files:
        if path.name in seen and seen[path.name] != path:
            problems.add(f"{seen[path.name]} and {path} would both be written to {out / path.name}")
        seen.setdefault(path.name, path)
        if (out / path.name).resolve() in inputs:
            problems.add(f"writing {out / path.name} would overwrite an input file", Location(str(path)))
    problems.raise_if_any()


# --- YAML in and out -------------------------------------------------------------------------------


class _Positions:
    """``line:column`` of every JSON Pointer in one document, for error locations."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.marks: dict[str, tuple[int, int]] = {}

    def __call__(self, pointer: str) -> Location:
        while pointer not in self.marks and pointer:
            pointer = pointer.rsplit("/", 1)[0]
        line, column = self.marks.get(pointer, (1, 1))
        return Location(self.label, line, column)


def _objects(label: str, content: bytes, problems: Problems) -> Iterator[tuple[Any, _Positions]]:
    """The objects of a multi-document file (``kind: List`` items expanded), with their positions."""
    try:
        nodes = list(yaml.compose_all(content, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(label, mark.line + 1, mark.column + 1) if mark else Location(label)
        problems.add(f"invalid YAML: {exc.problem or exc.context or 'cannot parse'}", where)
        return
    except yaml.YAMLError as exc:
        problems.add(f"invalid YAML: {exc}", Location(label))
        return
    for node in nodes:
        if node is None:
            continue
        positions = _Positions(label)
        data = _build(node, "", positions, problems)
        if data is None:
            continue
        if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
            for index, item in enumerate(data["items"]):
                yield item, _Shifted(positions, f"/items/{index}")
        else:
            yield data, positions


class _Shifted(_Positions):
    """Positions of a ``List`` item, addressed by pointers relative to the item."""

    def __init__(self, parent: _Positions, prefix: str) -> None:
        super().__init__(parent.label)
        self.marks = parent.marks
        self.prefix = prefix

    def __call__(self, pointer: str) -> Location:
        return super().__call__(self.prefix + pointer)


def _build(node: yaml.Node, pointer: str, positions: _Positions, problems: Problems) -> Any:
    here = Location(positions.label, node.start_mark.line + 1, node.start_mark.column + 1)
    positions.marks.setdefault(pointer, (here.line, here.column))
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _STD + "timestamp":
            return node.value  # Kubernetes reads dates as strings
        if node.tag not in _PLAIN:
            problems.add(f"YAML tag {node.tag!r} is not plain data", here)
            return node.value
        return _SCALARS.construct_object(node)
    if node.tag not in (_STD + "seq", _STD + "map"):
        problems.add(f"YAML tag {node.tag!r} is not plain data", here)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, f"{pointer}/{i}", positions, problems) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_at = Location(positions.label, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _STD + "merge":
                problems.add("mapping keys must be plain strings", key_at)
                continue
            key = str(key_node.value)
            if key in result:
                problems.add(f"duplicate key {key!r}", key_at)
                continue
            child = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            positions.marks[child] = (key_at.line, key_at.column)
            result[key] = _build(value_node, child, positions, problems)
        return result
    raise AssertionError(f"unexpected YAML node {node!r}")  # pragma: no cover


class _Dumper(yaml.SafeDumper):
    """Block style, keys in the order written, multi-line strings as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.endswith((" ", "\t")) else None
    return dumper.represent_scalar(_STD + "str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_all(documents: list[dict[str, Any]]) -> str:
    return yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=2**16,
        explicit_start=False,
    )
