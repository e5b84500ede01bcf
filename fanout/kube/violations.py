"""jsonschema's errors turned into short, human violations: a JSON Pointer into the object and a message."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema.exceptions

SHOW_LIMIT = 60
MESSAGE_LIMIT = 200


@dataclass(frozen=True, order=True)
class Violation:
    """One problem inside one object: where (a JSON Pointer into the object) and what."""

    pointer: str
    message: str


# --------------------------------------------------------------------------------------------------
# Turning jsonschema errors into short, human violations


def pointer_of(path: Iterable[Any]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def show(value: Any) -> str:
    """A short rendering of a value for a message: strings quoted as in Python, the rest as JSON."""
    if isinstance(value, str):
        text = repr(value if len(value) <= SHOW_LIMIT else value[: SHOW_LIMIT - 3] + "...")
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
        if len(text) > SHOW_LIMIT:
            text = text[: SHOW_LIMIT - 3] + "..."
    return text


def _type_names(types: Any) -> list[str]:
    names = [types] if isinstance(types, str) else [t for t in types if isinstance(t, str)]
    # Every bundled type also allows null, which says nothing useful to someone who wrote a value.
    return [t for t in names if t != "null"] or names


def _type_message(instance: Any, types: list[str]) -> str:
    unique = list(dict.fromkeys(types))
    return f"{show(instance)} is not of type {' or '.join(repr(t) for t in unique)}"


def _only_types(subschemas: Any) -> list[str] | None:
    """The union of types when every alternative is just a type (IntOrString, Quantity), else None."""
    if not isinstance(subschemas, list) or not subschemas:
        return None
    types: list[str] = []
    for sub in subschemas:
        if not isinstance(sub, Mapping) or "type" not in sub or set(sub) - {"type", "description", "format"}:
            return None
        types.extend(_type_names(sub["type"]))
    return types


def violations(errors: Iterable[jsonschema.exceptions.ValidationError]) -> Iterator[Violation]:
    for error in errors:
        yield from _violation(error)


def _violation(error: jsonschema.exceptions.ValidationError) -> Iterator[Violation]:
    pointer = pointer_of(error.absolute_path)
    keyword, instance, value = error.validator, error.instance, error.validator_value
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        patterns = error.schema.get("patternProperties", {}) if isinstance(error.schema, Mapping) else {}
        for field in instance:
            if field not in known and not any(re.search(p, str(field)) for p in patterns):
                yield Violation(pointer_of([*error.absolute_path, field]), f'unknown field "{field}"')
    elif keyword == "required" and isinstance(instance, Mapping) and isinstance(value, list):
        for field in value:
            if field not in instance:
                yield Violation(pointer, f'missing required field "{field}"')
    elif keyword == "type":
        yield Violation(pointer, _type_message(instance, _type_names(value)))
    elif keyword == "enum" and isinstance(value, list):
        allowed = ", ".join(show(v) for v in value if v is not None)
        yield Violation(pointer, f"{show(instance)} is not one of {allowed}")
    elif keyword in ("oneOf", "anyOf"):
        types = _only_types(value)
        best = jsonschema.exceptions.best_match(error.context or ())
        if types is not None and error.context:
            yield Violation(pointer, _type_message(instance, types))
        elif best is not None:
            yield from _violation(best)
        else:
            yield Violation(pointer, f"{show(instance)} matches more than one of the allowed forms")
    else:
        message = error.message
        if len(message) > MESSAGE_LIMIT:
            message = message[: MESSAGE_LIMIT - 3] + "..."
        yield Violation(pointer, message)
