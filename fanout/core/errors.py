"""The one error type fanout raises for user mistakes.

A ``FanoutError`` carries one or more ``Problem``s, each a message with an optional
``Location``. The CLI catches it once, prints one line per problem and exits 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Exit codes (docs/cli.md): invalid input and stale output are different answers for a CI job.
EXIT_OK = 0
EXIT_INVALID = 1  # the input has problems (each printed as path:line:col: message)
EXIT_USAGE = 2  # wrong arguments (Typer's own code)
EXIT_DIFFERS = 3  # the output is stale or differs: render --check / --fail-on-change, diff --exit-code
EXIT_INTERNAL = 70  # a bug in fanout (EX_SOFTWARE)


# C0 and C1 controls, DEL, the Unicode line and paragraph separators and the bidirectional controls: in text
# written to a terminal or a CI log they could start a line of their own (a fake `::notice` for GitHub
# Actions), send escape sequences, or reorder what a reviewer reads (kubectl's CVE-2021-25743).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_TAB = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def visible(text: str, tabs: bool = False) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``, ``\\u202e``), so
    that it prints as what it is, on the one line it was meant for. ``tabs``: keep tabs as they are (a tab
    in a YAML block scalar is content a diff should show, and harmless to a terminal)."""
    return (_CONTROL_BUT_TAB if tabs else _CONTROL).sub(_escaped, text)


@dataclass(frozen=True, order=True)
class Location:
    """A position in a source file; ``path`` is relative to the source root, line and column 1-based."""

    path: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    message: str
    location: Location | None = None

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        return f"{self.location}: {self.message}"

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        if loc is None:
            return ("", 0, 0, self.message)
        return (loc.path, loc.line, loc.column, self.message)


class FanoutError(Exception):
    """A user-facing error: bad input, a bad reference, a refused write."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        unique = list(dict.fromkeys(problems))
        self.problems: tuple[Problem, ...] = tuple(sorted(unique, key=Problem.sort_key))
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, message: str, location: Location | None = None) -> FanoutError:
        return cls([Problem(message, location)])


class Problems:
    """Collects problems across a stage so that every mistake is reported, not just the first."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, message: str, location: Location | None = None) -> None:
        self.items.append(Problem(message, location))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise FanoutError(self.items)
