"""YAML bytes into plain data and the position of every value, within limits, without recursion.

The bytes must be UTF-8 (a UTF-8 byte order mark is accepted). PyYAML's C parser turns the text into
events; one loop turns the events into JSON-compatible data with an explicit stack, so nesting depth
is a counted limit and never a ``RecursionError``. An alias (``*name``) reuses the value its anchor
built rather than copying it, and every alias adds the anchor's size to a count that is checked as it
grows: a YAML "billion laughs" document is refused after a few hundred thousand values, as
Kubernetes' own YAML decoder refuses alias-heavy documents. Duplicate keys and tags other than the
standard scalar ones are errors; dates stay the strings they were written as.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from fanout.core.document import Document, escape
from fanout.core.errors import Location, Problem
from fanout.core.goyaml import AMBIGUOUS_BOOLEANS, format_float, plain_value
from fanout.core.limits import DEFAULT_LIMITS, Limits, setting

try:  # the C parser is an order of magnitude faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_STD = "tag:yaml.org,2002:"
_PLAIN_SCALARS = {_STD + t for t in ("str", "int", "float", "bool", "null")}
_MERGE = _STD + "merge"
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


# Characters a rendered folder may not hold for kustomize (``kubectl kustomize`` v5.8.1, as Argo CD and Flux
# build a folder with a kustomization.yaml): DEL, the C1 controls and U+FFFE/U+FFFF stop the build ("yaml:
# control characters are not allowed", however fanout escapes them), and NEL (U+0085) comes out a space.
# Kubernetes takes them in JSON; found by feeding fanout's output of random strings to kubectl kustomize.
_KUSTOMIZE_UNWRITABLE = re.compile("[\x7f-\x9f\ufffe\uffff]")
_NEL = "\x85"


def _unwritable_note(text: str) -> str:
    """What kustomize does with ``text``, which holds a character it cannot write."""
    found = set(_KUSTOMIZE_UNWRITABLE.findall(text))
    if found == {_NEL}:
        return (
            "holds U+0085 (next line), which kustomize (as Argo CD and Flux build the rendered folder) turns"
            " into a space: write \\n or a space"
        )
    code = min(found - {_NEL})
    return (
        f"holds U+{ord(code):04X}, a character kustomize cannot write: `kubectl kustomize` of the rendered"
        ' folder (as Argo CD and Flux build it) fails with "control characters are not allowed"'
    )


_AMBIGUOUS_IN_SECRET = (
    "an unquoted value is read as a boolean, as kubectl reads YAML, but as text by kustomize (which Argo CD"
    " and Flux run): quote it, or write true or false (the values of Secrets are not shown)"
)


class _Stop(Exception):
    """The file cannot be read on: a limit was passed. Carries the one problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def decode(path: str, content: bytes) -> str | Problem:
    """The text of a UTF-8 file, or the problem with its encoding."""
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    for bom, name in _BOMS:
        if content.startswith(bom):
            why = f"the file is {name} (it starts with a {name} byte order mark); fanout reads UTF-8"
            return Problem(why, Location(path))
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        column = exc.start - (content.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = content[exc.start]
        why = f"the file is not UTF-8: byte 0x{byte:02x} is not valid here (fanout reads UTF-8)"
        return Problem(why, Location(path, line, column))


@dataclass
class _Frame:
    """An open mapping or sequence."""

    value: dict[str, Any] | list[Any]
    pointer: str
    anchor: str | None
    size: int = 1  # values in it, itself included, aliases counted expanded
    height: int = 1  # levels of nesting it holds, itself included (aliases can add some)
    key: str | None = None  # a mapping's pending key
    key_mark: Any = None
    awaiting_key: bool = True
    seen: dict[str, int] = field(default_factory=dict)  # key -> line it was first written on
    merged: list[dict[str, Any]] = field(default_factory=list)
    merge_pending: bool = False


@dataclass
class _Anchor:
    value: Any
    size: int
    text: str | None  # a scalar's text as written, for use as a mapping key
    height: int = 0


class _Builder:
    """Events of one file into documents. Not reentrant; one per file."""

    def __init__(self, path: str, limits: Limits, duplicates: list[Problem] | None = None) -> None:
        self.path = path
        self.limits = limits
        self.problems: list[Problem] = []
        self.duplicates = duplicates
        self.documents: list[Document] = []
        self.scalars = yaml.constructor.SafeConstructor()
        self.resolver: Any = yaml.resolver.Resolver()  # its stubs leave resolve() untyped
        self.written = 0  # values written in the file
        self.aliased = 0  # values aliases added
        self.index = -1
        self.first_problem = 0
        self._new_document()

    def _new_document(self) -> None:
        self.stack: list[_Frame] = []
        self.positions: dict[str, tuple[int, int]] = {}
        self.anchors: dict[str, _Anchor] = {}
        self.open_anchors: set[str] = set()
        self.root: Any = None
        self.skip = 0  # >0 while inside a value being skipped (a bad key, something too deep)
        self.notes: list[Problem] = []  # warnings about values readers disagree on
        self.key_notes: list[Problem] = []  # and about keys
        self.char_notes: list[Problem] = []  # and about characters kustomize cannot write (no value shown)

    def at(self, mark: Any) -> Location:
        return Location(self.path, mark.line + 1, mark.column + 1)

    def problem(self, message: str, mark: Any) -> None:
        self.problems.append(Problem(message, self.at(mark)))

    # --- the event loop --------------------------------------------------------------------------

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.index += 1
            if self.index >= self.limits.max_documents:
                raise _Stop(
                    Problem(
                        f"more than {self.limits.max_documents} documents in one file"
                        f" (raise {setting('max_documents')})",
                        self.at(event.start_mark),
                    )
                )
            self._new_document()
            self.first_problem = len(self.problems)
        elif isinstance(event, yaml.DocumentEndEvent):
            if isinstance(self.root, dict) and str(self.root.get("kind", "")).endswith("Secret"):
                self._mask_secret_values()
                self.notes = [Problem(_AMBIGUOUS_IN_SECRET, note.location) for note in self.notes]
            if self.root is not None:
                notes = tuple(
                    sorted(
                        [*self.notes, *self.key_notes, *self.char_notes],
                        key=lambda p: p.location or Location(""),
                    )
                )
                self.documents.append(Document(self.path, self.index, self.root, self.positions, notes=notes))
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._open(event)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self._close()
        elif isinstance(event, yaml.ScalarEvent):
            self._scalar(event)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)

    def _mask_secret_values(self) -> None:
        """A Secret's values stay out of messages, even when they are not valid YAML scalars."""
        for index in range(self.first_problem, len(self.problems)):
            problem = self.problems[index]
            if problem.message.endswith(self.quoted_scalar_suffixes):
                kind = problem.message.rsplit(" ", 1)[-1]
                message = f"a value is not a valid {kind} (the values of Secrets are not shown)"
                self.problems[index] = Problem(message, problem.location)

    quoted_scalar_suffixes = tuple(f" is not a valid {t}" for t in ("str", "int", "float", "bool", "null"))

    def _count(self, size: int, aliased: bool, mark: Any) -> None:
        if aliased:
            self.aliased += size
            allowed = max(self.limits.max_alias_values, self.limits.alias_ratio * self.written)
            if self.aliased > allowed:
                raise _Stop(
                    Problem(
                        f"YAML aliases expand to more than {allowed} values (an alias bomb?); fanout stops"
                        f" reading the file (raise {setting('max_alias_values')})",
                        self.at(mark),
                    )
                )
        else:
            self.written += size

    def _pointer(self, mark: Any) -> str | None:
        """Where the next value goes; None when it is a key (or skipped)."""
        if not self.stack:
            return ""
        frame = self.stack[-1]
        if isinstance(frame.value, list):
            return f"{frame.pointer}/{len(frame.value)}"
        if frame.awaiting_key:
            return None
        return f"{frame.pointer}/{escape(frame.key or '')}"

    def _tag(self, event: Any, kind: type[yaml.Node], value: str | None) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolver.resolve(kind, value, event.implicit if value is not None else True)
        return str(tag)

    def _open(self, event: Any) -> None:
        if self.skip:
            self.skip += 1
            return
        is_map = isinstance(event, yaml.MappingStartEvent)
        pointer = self._pointer(event.start_mark)
        if pointer is None:  # a mapping or list used as a key
            self.problem("mapping keys must be plain strings", event.start_mark)
            self._skip_value()
            self.skip = 1
            return
        if len(self.stack) >= self.limits.max_depth:
            self.problem(
                f"nested deeper than {self.limits.max_depth} levels (raise {setting('max_depth')})",
                event.start_mark,
            )
            self._skip_value()
            self.skip = 1
            return
        expected = _STD + ("map" if is_map else "seq")
        if self._tag(event, yaml.MappingNode if is_map else yaml.SequenceNode, None) != expected:
            self.problem(f"YAML tag {event.tag!r} is not plain data", event.start_mark)
        self.positions.setdefault(pointer, (event.start_mark.line + 1, event.start_mark.column + 1))
        self._count(1, False, event.start_mark)
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame({} if is_map else [], pointer, event.anchor))

    def _close(self) -> None:
        if self.skip:
            self.skip -= 1
            return
        frame = self.stack.pop()
        value = frame.value
        if isinstance(value, dict):
            for source in frame.merged:  # merge keys: written keys win, then earlier sources
                for key, item in source.items():
                    value.setdefault(key, item)
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = _Anchor(value, frame.size, None, frame.height)
        self._place(value, frame.size, None, frame.height)

    def _place(self, value: Any, size: int, text: str | None, height: int = 0) -> None:
        """Put a finished value where it belongs: the document root, a list, a key, or a value."""
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        frame.size += size
        frame.height = max(frame.height, height + 1)
        if isinstance(frame.value, list):
            frame.value.append(value)
            return
        if frame.awaiting_key:
            return  # handled by _key
        frame.awaiting_key = True
        if frame.merge_pending:
            frame.merge_pending = False
            self._merge(frame, value)
            return
        if frame.key is not None:
            frame.value[frame.key] = value

    def _merge(self, frame: _Frame, value: Any) -> None:
        """``<<: *base`` or ``<<: [*a, *b]``, as Kubernetes' YAML parser accepts them."""
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(s, dict) for s in sources):
            self.problem("a merge key (<<) needs a mapping", frame.key_mark)
            return
        frame.merged.extend(sources)

    def _key(self, text: str, tag: str, mark: Any) -> None:
        frame = self.stack[-1]
        assert isinstance(frame.value, dict)
        frame.awaiting_key = False
        if tag == _MERGE:
            frame.merge_pending = True
            frame.key, frame.key_mark = None, mark
            return
        # Keys are taken as written: ``on:`` is the label key "on", not the boolean true.
        if text in frame.seen:
            message = f"duplicate key {text!r} (first defined on line {frame.seen[text]})"
            if self.duplicates is None:
                self.problem(message, mark)
                frame.key = None  # the value is read and dropped
                return
            # The last value replaces the first, in the first one's place (see load_documents).
            self.duplicates.append(Problem(message, self.at(mark)))
            frame.key, frame.key_mark = text, mark
            return
        frame.seen[text] = mark.line + 1
        frame.key, frame.key_mark = text, mark
        self.positions[f"{frame.pointer}/{escape(text)}"] = (mark.line + 1, mark.column + 1)

    def _note_key(self, text: str, mark: Any) -> None:
        """Warn about a plain key that kubectl would turn into other text (``on:`` into "true")."""
        # sigs.k8s.io/yaml (yaml.go, stringifying go-yaml v2's keys): bools as true/false, ints in decimal,
        # floats by strconv.FormatFloat(f, 'g', -1, 64); any other key (null) is an error.
        value = plain_value(text)
        if isinstance(value, str):
            return
        if value is None:
            reading = "refuses it (a null key)"
        else:
            kind = "boolean" if isinstance(value, bool) else "number"
            key = (
                str(value).lower()
                if isinstance(value, bool)
                else format_float(value)
                if isinstance(value, float)
                else str(value)
            )
            if key == text:
                return
            reading = f'reads it as the {kind} {key}, the key "{key}"'

        # A key's text is shown even in a Secret: keys are names, not the values kept secret.
        self.key_notes.append(
            Problem(
                f'unquoted key {text} is the text "{text}" to fanout and to kustomize (which Argo CD and Flux'
                f' run), but kubectl {reading}: write "{text}" to say text is meant',
                self.at(mark),
            )
        )

    def _skip_value(self) -> None:
        """The value now starting is not kept: its mapping entry (if any) gets no value."""
        if self.stack and isinstance(self.stack[-1].value, dict):
            frame = self.stack[-1]
            if frame.awaiting_key:
                frame.awaiting_key = False  # the bad key; its value follows and is dropped
                frame.key = None
            else:
                frame.awaiting_key = True

    def _scalar(self, event: Any) -> None:
        if self.skip:
            return
        if _KUSTOMIZE_UNWRITABLE.search(event.value) is not None:
            what = "key" if self.stack and self.stack[-1].awaiting_key else "value"
            self.char_notes.append(
                Problem(f"a {what} {_unwritable_note(event.value)}", self.at(event.start_mark))
            )
        if event.tag is None:
            # Untagged, a plain scalar's value comes from plain_value and a quoted one is text: of what
            # PyYAML's resolver would say, only the merge key "<<" matters, and resolving is a fifth of
            # reading a file.
            tag = _MERGE if event.implicit[0] and event.value == "<<" else _STD + "str"
        else:
            tag = self._tag(event, yaml.ScalarNode, event.value)
        if self.stack and isinstance(self.stack[-1].value, dict) and self.stack[-1].awaiting_key:
            self._count(1, False, event.start_mark)
            if event.anchor:
                self.anchors[event.anchor] = _Anchor(event.value, 1, event.value)
            if event.tag is None and event.implicit[0]:
                self._note_key(event.value, event.start_mark)
            self._key(event.value, tag, event.start_mark)
            return
        pointer = self._pointer(event.start_mark)
        if pointer is not None:
            self.positions.setdefault(pointer, (event.start_mark.line + 1, event.start_mark.column + 1))
        self._count(1, False, event.start_mark)
        value = self._construct(event, tag)
        if event.anchor:
            self.anchors[event.anchor] = _Anchor(value, 1, event.value)
        self._place(value, 1, event.value)

    def _construct(self, event: Any, tag: str) -> Any:
        if event.tag is None and event.implicit[0] and tag != _MERGE:
            # Plain and untagged: read as Kubernetes tools read it (``y`` is true, ``1:20`` is text).
            value = plain_value(event.value)
            if event.value in AMBIGUOUS_BOOLEANS:
                word = "true" if value else "false"
                self.notes.append(
                    Problem(
                        f"unquoted {event.value} is read as {word}, as kubectl reads YAML; kustomize (which"
                        f' Argo CD and Flux run) reads it as the string "{event.value}": write {word}, or'
                        f' "{event.value}" if text is meant',
                        self.at(event.start_mark),
                    )
                )
            return value
        if tag == _STD + "timestamp":
            return event.value  # Kubernetes treats dates as strings; keep exactly what was written
        if tag not in _PLAIN_SCALARS:
            self.problem(f"YAML tag {tag!r} is not plain data", event.start_mark)
            return event.value
        node = yaml.ScalarNode(tag, event.value, style=event.style)
        try:
            return self.scalars.construct_object(node)
        except (yaml.constructor.ConstructorError, ValueError, KeyError, OverflowError):  # "!!bool maybe"
            self.problem(f"{event.value!r} is not a valid {tag.rsplit(':', 1)[-1]}", event.start_mark)
            return event.value

    def _alias(self, event: Any) -> None:
        if self.skip:
            return
        name = event.anchor
        if name in self.open_anchors:
            self.problem("recursive YAML alias", event.start_mark)
            self._drop()
            return
        anchor = self.anchors.get(name)
        if anchor is None:
            self.problem(f"undefined YAML alias *{name}", event.start_mark)
            self._drop()
            return
        if self.stack and isinstance(self.stack[-1].value, dict) and self.stack[-1].awaiting_key:
            if anchor.text is None:
                self.problem("mapping keys must be plain strings", event.start_mark)
                self._drop()
                return
            self._key(anchor.text, _STD + "str", event.start_mark)
            return
        pointer = self._pointer(event.start_mark)
        if pointer is not None:
            self.positions.setdefault(pointer, (event.start_mark.line + 1, event.start_mark.column + 1))
        if len(self.stack) + anchor.height > self.limits.max_depth:
            # Aliases nest without writing the levels out: count them as written.
            self.problem(
                f"nested deeper than {self.limits.max_depth} levels through aliases"
                f" (raise {setting('max_depth')})",
                event.start_mark,
            )
            self._drop()
            return
        self._count(anchor.size, True, event.start_mark)
        # The anchor's value itself, not a copy: documents are never mutated, and copying would let a
        # small file grow exponentially in memory.
        self._place(anchor.value, anchor.size, anchor.text, anchor.height)

    def _drop(self) -> None:
        """A value that could not be read: its place gets nothing."""
        self._skip_value()


def _flow_hint(exc: yaml.MarkedYAMLError, text: str) -> str:
    """YAML ends an unquoted scalar at ``{`` or ``}`` inside ``[...]`` or ``{...}``, so ``[${cluster.name}]``
    reads as broken YAML: say the fix when that is what happened."""
    if "flow" not in (exc.context or ""):
        return ""
    lines = text.splitlines()
    marks = [m.line for m in (exc.context_mark, exc.problem_mark) if m is not None and m.line < len(lines)]
    if not any("${" in line for line in lines[min(marks, default=0) : max(marks, default=-1) + 1]):
        return ""
    return ' (inside [ ] or { }, quote a value that holds ${...}: "${cluster.name}")'


def load_documents(
    path: str, content: bytes, limits: Limits = DEFAULT_LIMITS, *, duplicates: list[Problem] | None = None
) -> tuple[list[Document], list[Problem]]:
    """Parse every document of one file. Empty documents are skipped.

    A key written twice in one mapping is a problem, unless ``duplicates`` is given: then it is noted there
    and its last value is kept, as go-yaml v2 without strict mode keeps it (``mapping`` and ``setMapIndex``
    in gopkg.in/yaml.v2 decode.go), which is how sigs.k8s.io/yaml, and so Helm's kube client, reads a
    chart's output."""
    if len(content) > limits.max_file_bytes:
        return [], [
            Problem(
                f"the file is {len(content)} bytes, over the limit of {limits.max_file_bytes}"
                f" (raise {setting('max_file_bytes')})",
                Location(path),
            )
        ]
    text = decode(path, content)
    if isinstance(text, Problem):
        return [], [text]
    builder = _Builder(path, limits, duplicates)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        message = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return [], [Problem(f"invalid YAML: {' '.join(message.split())}{_flow_hint(exc, text)}", loc)]
    except yaml.YAMLError as exc:  # pragma: no cover - the C parser marks its errors
        return [], [Problem(f"invalid YAML: {' '.join(str(exc).split())}", Location(path))]
    except _Stop as stop:
        return [], [*builder.problems, stop.problem]
    return builder.documents, builder.problems
