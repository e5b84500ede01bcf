"""A chart folder's ``.helmignore``, applied as ``helm template ./chart`` applies it.

fanout hands Helm's engine every chart as an archive it makes (the same bytes from a folder or a commit), and
Helm reads no ``.helmignore`` in an archive: the file only counts when Helm loads a folder. So fanout leaves
out what Helm's directory loader would (helm e9b85e4de16ad45805843fb121748018cf89094b:
pkg/chart/v2/loader/directory.go ``LoadDir``, pkg/ignore/rules.go, and Go's ``path/filepath.Match`` for each
pattern). Traefik's chart ignores ``crds/kustomization.yaml`` there, which Helm would otherwise take for a
CustomResourceDefinition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

FILE = ".helmignore"
# LoadDir adds this after the file's own rules: dot-files in templates/ are never templates.
_DEFAULT = "templates/.?*"


class BadRule(ValueError):
    """A rule Helm refuses, so that the chart does not load."""


@dataclass(frozen=True)
class _Pattern:
    match: re.Pattern[str]
    negate: bool
    must_dir: bool
    whole_path: bool  # else the rule matches a path's last part only


def _translate(pattern: str) -> str:
    """Go's ``filepath.Match`` pattern as a regular expression; BadRule where Go says ErrBadPattern."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            if i + 1 == len(pattern):
                raise BadRule(f"{pattern!r}: a backslash at the end")
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            i, part = _char_class(pattern, i + 1)
            out.append(part)
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _char_class(pattern: str, i: int) -> tuple[int, str]:
    """A ``[...]`` class starting after its ``[``: where it ends, and the regex (Go's may match a ``/``)."""
    negated = i < len(pattern) and pattern[i] == "^"
    i += negated
    ranges: list[str] = []
    count = 0
    while True:
        if i < len(pattern) and pattern[i] == "]" and count:
            if not ranges:  # only backwards ranges, which Go takes and never matches
                return i + 1, "[\\s\\S]" if negated else "(?!)"
            return i + 1, f"[{'^' if negated else ''}{''.join(ranges)}]"
        i, low = _class_char(pattern, i)
        high = low
        if i < len(pattern) and pattern[i] == "-":
            i, high = _class_char(pattern, i + 1)
        count += 1
        if low <= high:
            ranges.append(re.escape(low) if low == high else f"{re.escape(low)}-{re.escape(high)}")


def _class_char(pattern: str, i: int) -> tuple[int, str]:
    if i >= len(pattern) or pattern[i] in "-]":
        raise BadRule(f"{pattern!r}: a malformed [...] class")
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise BadRule(f"{pattern!r}: a malformed [...] class")
    if i + 1 >= len(pattern):
        raise BadRule(f"{pattern!r}: an unclosed [...] class")
    return i + 1, pattern[i]


def _pattern(rule: str) -> _Pattern | None:
    rule = rule.strip()
    if not rule or rule.startswith("#"):
        return None
    if "**" in rule:
        raise BadRule(f"{rule!r}: double-star (**) syntax is not supported")
    _translate(rule)  # checks the whole rule, as Helm does, before cutting ! and /
    negate = rule.startswith("!")
    rule = rule[1:] if negate else rule
    must_dir = rule.endswith("/")
    rule = rule[:-1] if must_dir else rule
    if rule.startswith("/"):
        rule, whole_path = rule[1:], True
    else:
        whole_path = "/" in rule
    return _Pattern(re.compile(_translate(rule)), negate, must_dir, whole_path)


def _base(path: str) -> str:
    """Go's ``filepath.Base``: the last part, trailing slashes cut."""
    trimmed = path.rstrip("/")
    return trimmed.rpartition("/")[2] if trimmed else "/"


class Rules:
    """The rules of one ``.helmignore`` (in order) and Helm's default one."""

    def __init__(self, text: str = "") -> None:
        self.patterns: list[_Pattern] = []
        for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
            try:
                found = _pattern(line)
            except BadRule as exc:
                raise BadRule(f"line {number}: {exc}") from None
            if found is not None:
                self.patterns.append(found)
        default = _pattern(_DEFAULT)
        assert default is not None
        self.patterns.append(default)

    def ignores(self, path: str, is_dir: bool) -> bool:
        """Helm's ``Rules.Ignore``: the first rule that decides, decides (a negated rule too)."""
        if path in ("", ".", "./"):  # never the chart folder itself (helm#1776)
            return False
        for rule in self.patterns:
            name = path if rule.whole_path else _base(path)
            matched = rule.match.fullmatch(name) is not None
            if rule.negate:
                if (rule.must_dir and not is_dir) or not matched:
                    return True
                continue
            if rule.must_dir and not is_dir:
                continue
            if matched:
                return True
        return False

    def kept(self, paths: Iterable[str]) -> list[str]:
        """The files (paths relative to the chart folder) Helm's directory walk keeps: a file is left out
        when a folder above it is, as the walk skips that folder."""
        kept = []
        decided: dict[str, bool] = {}
        for path in paths:
            parts = path.split("/")
            folders = ["/".join(parts[:end]) for end in range(1, len(parts))]
            if any(self._folder(folder, decided) for folder in folders):
                continue
            if not self.ignores(path, is_dir=False):
                kept.append(path)
        return kept

    def _folder(self, folder: str, decided: dict[str, bool]) -> bool:
        found = decided.get(folder)
        if found is None:
            found = decided[folder] = self.ignores(folder, is_dir=True)
        return found
