"""Stage 2, load: YAML bytes into plain data plus the position of every value.

PyYAML's C parser builds the node graph (fast); a small constructor here turns nodes into
JSON-compatible data while recording ``line:column`` for each JSON Pointer, and rejects what
Kubernetes would not accept as data: duplicate keys and non-standard tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from fanout.errors import Location, Problem

try:  # the C loader is an order of magnitude faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_STD = "tag:yaml.org,2002:"
_PLAIN_SCALARS = {_STD + t for t in ("str", "int", "float", "bool", "null")}


def escape(token: str) -> str:
    """Escape one JSON Pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def split_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    return [unescape(t) for t in pointer.split("/")[1:]]


@dataclass(frozen=True, eq=False)
class Document:
    """One YAML document of a source file. ``data`` is shared; never mutate it."""

    path: str
    index: int
    data: Any
    positions: Mapping[str, tuple[int, int]] = field(repr=False)
    item: int | None = None  # the position in the ``items`` of a ``kind: List`` document it came from

    def location(self, pointer: str = "") -> Location:
        """Where ``pointer`` is written, or its nearest written ancestor."""
        while True:
            pos = self.positions.get(pointer)
            if pos is not None:
                return Location(self.path, pos[0], pos[1])
            if pointer == "":
                return Location(self.path, 1, 1)
            pointer = pointer.rsplit("/", 1)[0]

    @property
    def label(self) -> str:
        """``file.yaml`` for the first document of a file, ``file.yaml#2`` (1-based) for later ones;
        ``file.yaml[0]`` for the first item of a ``kind: List`` document."""
        base = self.path if self.index == 0 else f"{self.path}#{self.index + 1}"
        return base if self.item is None else f"{base}[{self.item}]"

    @property
    def order(self) -> tuple[str, int, int]:
        """Sorts documents as they are written: by file, then document, then List item."""
        return (self.path, self.index, -1 if self.item is None else self.item)


class _Builder:
    """Turns composed nodes into data, collecting positions and problems."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.positions: dict[str, tuple[int, int]] = {}
        self._scalars = yaml.constructor.SafeConstructor()

    def at(self, node: yaml.Node) -> Location:
        return Location(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, pointer: str, active: frozenset[int] = frozenset()) -> Any:
        self.positions.setdefault(pointer, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in active:  # an alias that contains itself cannot become JSON
            self.problems.append(Problem("recursive YAML alias", self.at(node)))
            return None
        inner = active | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _STD + "seq":
                self._bad_tag(node)
            return [self.build(item, f"{pointer}/{i}", inner) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _STD + "map":
                self._bad_tag(node)
            return self._mapping(node, pointer, inner)
        raise AssertionError(f"unexpected YAML node {node!r}")  # pragma: no cover

    def _bad_tag(self, node: yaml.Node) -> None:
        self.problems.append(Problem(f"YAML tag {node.tag!r} is not plain data", self.at(node)))

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag == _STD + "timestamp":
            # Kubernetes treats dates as strings; keep exactly what was written.
            return node.value
        if tag not in _PLAIN_SCALARS:
            self._bad_tag(node)
            return node.value
        try:
            return self._scalars.construct_object(node)
        except (yaml.constructor.ConstructorError, ValueError):  # e.g. "!!int nope"
            self.problems.append(
                Problem(f"{node.value!r} is not a valid {tag.rsplit(':', 1)[-1]}", self.at(node))
            )
            return node.value

    def _mapping(self, node: yaml.MappingNode, pointer: str, active: frozenset[int]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, yaml.Node] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STD + "merge":
                merged.update(self._merge_source(value_node, pointer, active))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Problem("mapping keys must be plain strings", self.at(key_node)))
                continue
            # Keys are taken as written: ``on:`` is the label key "on", not the boolean true.
            key = str(key_node.value)
            if key in seen:
                first = seen[key].start_mark.line + 1
                self.problems.append(
                    Problem(f"duplicate key {key!r} (first defined on line {first})", self.at(key_node))
                )
                continue
            seen[key] = key_node
            child = f"{pointer}/{escape(key)}"
            self.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, child, active)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_source(self, node: yaml.Node, pointer: str, active: frozenset[int]) -> dict[str, Any]:
        """YAML merge keys (``<<: *base``), as Kubernetes' YAML parser accepts them."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                self.problems.append(Problem("a merge key (<<) needs a mapping", self.at(source)))
                continue
            merged.update(self._mapping(source, pointer, active))
        return merged


def load_documents(path: str, content: bytes) -> tuple[list[Document], list[Problem]]:
    """Parse every document of one file. Empty documents are skipped."""
    documents: list[Document] = []
    try:
        nodes = list(yaml.compose_all(content, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        message = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return [], [Problem(f"invalid YAML: {message}", loc)]
    except yaml.YAMLError as exc:  # e.g. a byte sequence that is not UTF-8
        return [], [Problem(f"invalid YAML: {exc}", Location(path))]
    problems: list[Problem] = []
    for index, node in enumerate(nodes):
        if node is None:
            continue
        builder = _Builder(path)
        data = builder.build(node, "")
        problems.extend(builder.problems)
        if data is None:
            continue
        documents.append(Document(path, index, data, builder.positions))
    return documents, problems


@dataclass(frozen=True)
class RawSource:
    """Every document of a source root, by role, before validation."""

    config: Document | None
    clusters: tuple[Document, ...]
    templates: tuple[Document, ...]
    overrides: tuple[Document, ...]
    problems: tuple[Problem, ...]


CONFIG_FILE = "fanout.yaml"
YAML_SUFFIXES = (".yaml", ".yml")


class _Tree(Protocol):
    def read(self, path: str) -> bytes | None: ...
    def list_files(self, folder: str) -> list[str]: ...


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


def read_source(tree: _Tree) -> RawSource:
    """Read ``fanout.yaml`` and every YAML file of the input folders, in sorted path order."""
    problems: list[Problem] = []
    config: Document | None = None
    raw = tree.read(CONFIG_FILE)
    if raw is not None:
        docs, found = load_documents(CONFIG_FILE, raw)
        problems.extend(found)
        if len(docs) > 1:
            problems.append(Problem("fanout.yaml must hold one document", Location(CONFIG_FILE, 1, 1)))
        config = docs[0] if docs else None
    where = folders(config)
    output = where["output"] + "/"
    groups: dict[str, list[Document]] = {"clusters": [], "templates": [], "overrides": []}
    for role, documents in groups.items():
        for path in tree.list_files(where[role]):
            # A rendered folder inside an input folder must not be read back as input.
            if not path.endswith(YAML_SUFFIXES) or path.startswith(output):
                continue
            content = tree.read(path)
            if content is None:  # pragma: no cover - listed files exist
                continue
            docs, found = load_documents(path, content)
            documents.extend(docs)
            problems.extend(found)
    return RawSource(
        config,
        tuple(groups["clusters"]),
        tuple(groups["templates"]),
        tuple(groups["overrides"]),
        tuple(problems),
    )
