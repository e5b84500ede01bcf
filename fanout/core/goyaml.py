"""Plain (unquoted) YAML scalars as kubectl reads them, and strings written so every reader reads them back.

kubectl reads manifests through sigs.k8s.io/yaml, which decodes with go-yaml v2 (``gopkg.in/yaml.v2`` in
kubernetes/kubernetes ``vendor/sigs.k8s.io/yaml/yaml.go`` at 3e78459f; the later ``goyaml.v2`` fork keeps
its rules). Its ``resolve`` (resolve.go, branch v2) differs from YAML 1.1 as PyYAML implements it:

- ``y``, ``Y``, ``n``, ``N`` are booleans (PyYAML: strings);
- numbers are what Go's ``strconv`` parses once every ``_`` is removed: ``0o17`` is 15, ``1e3`` and
  ``1.5e3`` are floats, ``08`` is the float 8 (PyYAML: strings); ``1:20`` is a string (PyYAML: the
  sexagesimal integer 80);
- the rest (``yes``/``on``/``true``, nulls, ``.inf``, ``.nan``, hexadecimal, binary) reads the same.

kustomize (kyaml, on go-yaml v3; what Argo CD and Flux run on a folder with a kustomization.yaml) reads
numbers and nulls the same way but takes only true/false as booleans: unquoted ``y`` or ``yes`` in a
source is ambiguous between the tools. fanout reads its inputs as kubectl does (for ``yes``/``no``/``on``/
``off`` it always had), and writes every string quoted that go-yaml v2 or YAML 1.1 would not read back as
that string; go-yaml v3 misreads no string they both read right, so the output means the same to all.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

_MAP: dict[str, Any] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
# Booleans to go-yaml v2 (kubectl) but strings to go-yaml v3 (kustomize), which takes only these six.
AMBIGUOUS_BOOLEANS = frozenset(
    text for text, value in _MAP.items() if isinstance(value, bool) and text.lower() not in ("true", "false")
)
# strconv.ParseInt(s, 0, 64): a sign, then a 0b/0o/0x prefix, a leading 0 (octal), or decimal digits.
_INT = re.compile(r"([-+]?)(0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")
_BASES = {"b": 2, "B": 2, "o": 8, "O": 8, "x": 16, "X": 16}
# go-yaml v2's yamlStyleFloat, which gates strconv.ParseFloat.
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?\Z")  # what ParseFloat takes of a text starting "."
_INT64 = range(-(2**63), 2**64)  # ParseInt's range, and ParseUint's above it


def plain_value(text: str) -> Any:
    """The value go-yaml v2 reads from the plain scalar ``text`` (timestamps are left as text, as
    Kubernetes keeps them)."""
    if text in _MAP:
        return _MAP[text]
    first = text[:1]
    if first == ".":
        return float(text) if _DOT_FLOAT.match(text) else text
    if first and first in "+-0123456789":
        plain = text.replace("_", "")
        number = _INT.match(plain)
        if number is not None:
            sign, digits = number.groups()
            if len(digits) > 1 and digits[1] in _BASES:
                value = int(digits[2:], _BASES[digits[1]])
            else:
                value = int(digits, 8 if digits.startswith("0") else 10)
            value = -value if sign == "-" else value
            if value in _INT64:
                return value
        if _FLOAT.match(plain):
            value_float = float(plain)
            if not math.isinf(value_float):  # ParseFloat fails on overflow: the text stays a string
                return value_float
    return text


def reads_as_string(text: str) -> bool:
    """Whether go-yaml v2 reads ``text``, written plain, back as this very string."""
    found = plain_value(text)
    return isinstance(found, str)


def format_float(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, 64)``: the shortest digits that read back as ``value``,
    in exponent form when the exponent is below -4 or from 6 up (sigs.k8s.io/yaml turns float map keys
    into text this way; go-yaml writes float values so)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(str(d) for d in digits)
    assert isinstance(exponent, int)
    point = len(text) + exponent  # the decimal point sits after this many digits
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:  # shortest 'g' decides by precision 6
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        exp = point - 1
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{prefix}{text}{'0' * (point - len(text))}"
    return f"{prefix}{text[:point]}.{text[point:]}"
