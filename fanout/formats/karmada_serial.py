"""How Karmada's fieldOverrider writes a patched field back: go-yaml v2 for YAML, json-patch v5 for JSON.

Karmada at commit f8fdd02 (see ``karmada_rules``) vendors sigs.k8s.io/yaml over go.yaml.in/yaml/v2 v2.4.4 and
github.com/evanphx/json-patch/v5; this module reproduces what their writers print.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

import yaml

from fanout.core.goyaml import format_float

# --- what fieldOverrider writes back (sigs.k8s.io/yaml JSONToYAML over go.yaml.in/yaml/v2 v2.4.4;
# --- github.com/evanphx/json-patch/v5 for JSON) -----------------------------------------------------

_GO_YAML_BOOLS = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_GO_YAML_BOOLS |= {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_GO_YAML_SPECIAL = {"", "~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN", "<<"}
_GO_YAML_SPECIAL |= {f"{s}{i}" for s in ("", "+", "-") for i in (".inf", ".Inf", ".INF")}
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}.*)?$")


def _go_yaml_is_plain_string(text: str) -> bool:
    """Whether go-yaml v2 resolves ``text`` written plain back to the same string (``resolve``)."""
    if text in _GO_YAML_BOOLS or text in _GO_YAML_SPECIAL or _BASE60.match(text):
        return False
    if text[0] in "-+.0123456789":
        plain = text.replace("_", "")
        if _TIMESTAMP.match(text) or _YAML_FLOAT.match(plain):
            return False
        for pattern in (r"[-+]?0[xX][0-9a-fA-F]+", r"[-+]?0[oO]?[0-7]+", r"[-+]?0[bB][01]+", r"[-+]?[0-9]+"):
            if re.fullmatch(pattern, plain):
                return False
    return True


def _go_key_less(a: str, b: str) -> bool:
    """go-yaml v2's ``keyList.Less`` for string keys: letters before other runes, digit runs compared as
    numbers."""
    ar, br = list(a), list(b)
    for i in range(min(len(ar), len(br))):
        if ar[i] == br[i]:
            continue
        al, bl = ar[i].isalpha(), br[i].isalpha()
        if al and bl:
            return ar[i] < br[i]
        if al or bl:
            return bl
        an = bn = 0
        if ar[i] == "0" or br[i] == "0":
            j = i - 1
            while j >= 0 and ar[j].isdigit():
                if ar[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(ar) and ar[ai] in "0123456789":
            an = an * 10 + int(ar[ai])
            ai += 1
        bi = i
        while bi < len(br) and br[bi] in "0123456789":
            bn = bn * 10 + int(br[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ar[i] < br[i]
    return len(ar) < len(br)


def _go_compare(a: str, b: str) -> int:
    return -1 if _go_key_less(a, b) else 1 if _go_key_less(b, a) else 0


def _go_sorted(keys: list[str]) -> list[str]:
    return sorted(keys, key=functools.cmp_to_key(_go_compare))


def go_float(value: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)`` as go-yaml writes floats (NaN and the infinities its way)."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    return format_float(value)


def _yaml_events(value: Any, events: list[Any]) -> None:
    if isinstance(value, dict):
        events.append(yaml.MappingStartEvent(None, None, True, flow_style=False))
        for key in _go_sorted([str(k) for k in value]):
            _yaml_events(key, events)
            _yaml_events(value[key], events)
        events.append(yaml.MappingEndEvent())
    elif isinstance(value, list):
        events.append(yaml.SequenceStartEvent(None, None, True, flow_style=False))
        for item in value:
            _yaml_events(item, events)
        events.append(yaml.SequenceEndEvent())
    elif value is None:
        events.append(yaml.ScalarEvent(None, None, (True, False), "null"))
    elif value is True or value is False:
        events.append(yaml.ScalarEvent(None, None, (True, False), "true" if value else "false"))
    elif isinstance(value, int):
        events.append(yaml.ScalarEvent(None, None, (True, False), str(value)))
    elif isinstance(value, float):
        events.append(yaml.ScalarEvent(None, None, (True, False), go_float(value)))
    else:
        text = str(value)
        if "\n" in text:
            style: str | None = "|"
        elif _go_yaml_is_plain_string(text):
            style = None
        else:
            style = '"'
        events.append(yaml.ScalarEvent(None, None, (style is None, True), text, style=style))


def go_yaml(value: Any) -> str:
    """``yaml.JSONToYAML`` of a JSON value: keys in go-yaml's order, comments gone, libyaml's emitter (which
    go-yaml ports) writing it at width 80, block style, sequences not indented under their key."""
    events: list[Any] = [yaml.StreamStartEvent(), yaml.DocumentStartEvent(explicit=False)]
    _yaml_events(value, events)
    events += [yaml.DocumentEndEvent(explicit=False), yaml.StreamEndEvent()]
    emitted = yaml.emit(events, Dumper=getattr(yaml, "CDumper", yaml.Dumper), width=80, allow_unicode=True)
    return str(emitted)


class GoNumber(str):
    """A JSON number kept as written: json-patch v5 copies the bytes of values it did not touch."""


def load_go_json(text: str) -> Any:
    return json.loads(text, parse_float=GoNumber, parse_int=GoNumber)


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_ESCAPES |= {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_string(text: str) -> str:
    out = []
    for char in text:
        if char in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def go_json(value: Any, sort_keys: bool = False) -> str:
    """What json-patch v5 writes: compact, HTML-escaped, keys in document order, numbers as written.
    Values a policy adds were re-encoded by the API server, keys sorted: ``sort_keys`` for those."""
    if isinstance(value, GoNumber):
        return str(value)
    if isinstance(value, dict):
        keys = sorted(value) if sort_keys else list(value)
        inner = ",".join(f"{_json_string(str(k))}:{go_json(value[k], sort_keys)}" for k in keys)
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(v, sort_keys) for v in value) + "]"
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) and value != int(value) else str(int(value))
    return _json_string(str(value))
