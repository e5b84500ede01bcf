"""Kubernetes label selectors: the structured form and kubectl's ``-l`` string form."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class SelectorSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist; Gt, Lt (Federation v1's cluster selector)
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":  # as in Kubernetes, a missing label is "not in"
            return labels.get(self.key) not in self.values
        if self.operator == "Exists":
            return self.key in labels
        if self.operator in ("Gt", "Lt"):
            # As Kubernetes: the label must be there and read as an integer.
            try:
                have, bound = int(labels[self.key]), int(self.values[0])
            except (KeyError, ValueError):
                return False
            return have > bound if self.operator == "Gt" else have < bound
        return self.key not in labels

    def __str__(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        if self.operator in ("Gt", "Lt"):
            return f"{self.key} {'>' if self.operator == 'Gt' else '<'} {self.values[0]}"
        if len(self.values) == 1:
            return f"{self.key}{'=' if self.operator == 'In' else '!='}{self.values[0]}"
        op = "in" if self.operator == "In" else "notin"
        return f"{self.key} {op} ({','.join(self.values)})"


@dataclass(frozen=True)
class Selector:
    """All requirements must hold; no requirements selects everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def failing(self, labels: Mapping[str, str]) -> list[Requirement]:
        return [r for r in self.requirements if not r.matches(labels)]

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements) or "(everything)"


def from_label_selector(data: Mapping[str, Any]) -> Selector:
    """``{matchLabels, matchExpressions}`` (already schema-checked) to a Selector."""
    reqs = [Requirement(k, "In", (str(v),)) for k, v in (data.get("matchLabels") or {}).items()]
    for expr in data.get("matchExpressions") or []:
        values = tuple(str(v) for v in expr.get("values") or [])
        op = expr["operator"]
        if op in ("In", "NotIn") and not values:
            raise SelectorSyntaxError(f"operator {op} needs at least one value")
        if op in ("Exists", "DoesNotExist") and values:
            raise SelectorSyntaxError(f"operator {op} takes no values")
        reqs.append(Requirement(expr["key"], op, values))
    return Selector(tuple(reqs))


_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQ = re.compile(rf"^(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{_VALUE})$")
_EXISTS = re.compile(rf"^(?P<neg>!?)\s*(?P<key>{_KEY})$")


def _split(expression: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in expression:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse(expression: str) -> Selector:
    """Parse kubectl's selector syntax: ``env=prod,tier!=canary,region in (eu,us),!legacy``."""
    if not expression.strip():
        raise SelectorSyntaxError("empty selector")
    reqs = []
    for part in _split(expression):
        if m := _SET.match(part):
            values = tuple(v.strip() for v in m["values"].split(","))
            if not all(re.fullmatch(_VALUE, v) for v in values) or values == ("",):
                raise SelectorSyntaxError(f"bad value list in {part!r}")
            reqs.append(Requirement(m["key"], "In" if m["op"] == "in" else "NotIn", values))
        elif m := _EQ.match(part):
            reqs.append(Requirement(m["key"], "NotIn" if m["op"] == "!=" else "In", (m["value"],)))
        elif m := _EXISTS.match(part):
            reqs.append(Requirement(m["key"], "DoesNotExist" if m["neg"] else "Exists"))
        else:
            raise SelectorSyntaxError(
                f"cannot parse {part!r} (expected key=value, key!=value, key in (a,b), key or !key)"
            )
    return Selector(tuple(reqs))
