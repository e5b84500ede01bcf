"""``${cluster.…}`` references: find them, resolve them for a cluster, and substitute them."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from fanout.core.document import escape

# "$${" is an escape for a literal "${"; any other "${...}" that is not "${cluster." is left alone.
_TOKEN = re.compile(r"\$\$\{|\$\{(cluster(?:\.[^}]*)?)\}")


def escape_text(text: str) -> str:
    """``text`` as a source must write it so that substitution gives ``text`` back unchanged."""
    return _TOKEN.sub(lambda match: "$" + match.group(0), text)


def map_strings(value: Any, change: Callable[[str], Any]) -> Any:
    """A copy of ``value`` with every string (not map keys) passed through ``change``."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: map_strings(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [map_strings(item, change) for item in value]
    return value


def rename_refs(value: Any, rename: Mapping[str, str]) -> Any:
    """A copy of ``value`` whose references (``cluster.values.a``) are renamed by ``rename``; escaped
    text (``$${...}``) is left as it is."""

    def replace(match: re.Match[str]) -> str:
        ref = match.group(1)
        return match.group(0) if ref is None or ref not in rename else "${" + rename[ref] + "}"

    return map_strings(value, lambda text: _TOKEN.sub(replace, text) if "${" in text else text)


class Scan:
    """What a value needs from substitution: the references it makes, and whether it holds escapes."""

    def __init__(self) -> None:
        self.refs: dict[str, str] = {}
        self.uses: dict[str, int] = {}  # how many times each reference is written (bounds what it inserts)
        self.escapes = False

    def walk(self, value: Any, pointer: str) -> Scan:
        if isinstance(value, str):
            if "${" in value:
                for match in _TOKEN.finditer(value):
                    if match.group(1) is None:
                        self.escapes = True
                    else:
                        self.refs.setdefault(match.group(1), pointer)
                        self.uses[match.group(1)] = self.uses.get(match.group(1), 0) + 1
        elif isinstance(value, dict):
            for key, item in value.items():
                self.walk(item, f"{pointer}/{escape(key)}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.walk(item, f"{pointer}/{index}")
        return self


class Unresolved(Exception):
    pass


def resolve(ref: str, name: str, labels: Mapping[str, str], values: Mapping[str, Any]) -> Any:
    """The value of ``cluster.name``, ``cluster.labels.<key>`` or ``cluster.values.<dotted.path>``."""
    if ref == "cluster.name":
        return name
    if ref.startswith("cluster.labels."):
        key = ref[len("cluster.labels.") :]  # label keys may hold dots and slashes
        if key not in labels:
            have = ", ".join(sorted(labels)) or "none"
            raise Unresolved(f"label {key!r} is not set (labels: {have})")
        return labels[key]
    if ref.startswith("cluster.values."):
        current: Any = values
        walked: list[str] = []
        for part in ref[len("cluster.values.") :].split("."):
            if isinstance(current, dict) and part in current:
                current = current[part]
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                where = "values" + "".join("." + w for w in walked)
                have = ", ".join(sorted(current)) if isinstance(current, dict) else type(current).__name__
                raise Unresolved(f"{where} has no {part!r} (it has: {have or 'nothing'})")
            walked.append(part)
        return current
    raise Unresolved("unknown reference: use cluster.name, cluster.labels.<key> or cluster.values.<path>")


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    # Inside a longer string a number or boolean is written as in YAML/JSON, structures as JSON.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def substitute(value: Any, resolved: Mapping[str, Any]) -> Any:
    """A copy of ``value`` with references replaced; a string that is one reference keeps its type."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = _TOKEN.fullmatch(value)
        if whole is not None and whole.group(1) is not None:
            # A copy: the value is the cluster's own and later patches edit objects in place.
            return copy.deepcopy(resolved[whole.group(1)])

        def replace(match: re.Match[str]) -> str:
            return "${" if match.group(1) is None else as_text(resolved[match.group(1)])

        return _TOKEN.sub(replace, value)
    if isinstance(value, dict):
        return {key: substitute(item, resolved) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, resolved) for item in value]
    return value
