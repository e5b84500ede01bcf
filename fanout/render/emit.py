"""Stage 6, emit: rendered objects into file paths and bytes, and each cluster's kustomization.yaml."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from fanout.core.errors import visible
from fanout.core.goyaml import reads_as_string
from fanout.core.model import ObjectId
from fanout.render.blockyaml import BlockWriter, Unsupported


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings (scripts, configs) so that output diffs read line by line.

    PyYAML's own (Python) emitter decides how every string is written: libyaml's, where PyYAML has it,
    writes some strings differently (it escapes characters beyond U+FFFF such as emoji, writes NEL as
    ``\\N``, puts keys with control characters behind ``?``), and output must not depend on how PyYAML
    was built on the machine.
    """


class _FastDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml, for the strings on which it writes what the Python emitter does (``_PLAIN_ASCII``)."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\x85" in value:
        # The Python emitter writes NEL (a YAML 1.1 line break) raw into other styles, and it reads back
        # as a space: only double quotes, which escape it as \N, keep the value.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if not reads_as_string(value):  # kubectl would read it as a boolean or a number (``y``, ``1e3``)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)
_FastDumper.add_representer(str, _represent_str)

# Tab, newline and printable ASCII: the two emitters agree on these as values and one-line keys (a
# test holds libyaml to that), so the fast one may write them.
_PLAIN_ASCII = re.compile(r"[\t\n\x20-\x7e]*\Z")


CLUSTER_SCOPED_DIR = "_cluster"
KUSTOMIZATION = "kustomization.yaml"


# What a file name keeps as it is: every DNS-1123 name, so almost every path is the object's name. A Role's
# or binding's name may hold anything but "/" and "%" (``system:metrics-server``, ``Admin``): the rest is
# written %XX, which keeps names unique on case-insensitive disks and paths that Windows' git can check out.
_FILE_UNSAFE = re.compile(r"[^a-z0-9._-]")


def _file_part(name: str) -> str:
    if not _FILE_UNSAFE.search(name):
        return name
    return _FILE_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m[0].encode("utf-8")), name)


# File systems take 255 bytes for a file name (ext4, XFS, APFS, NTFS), and fanout stages each file beside
# itself under a name 25 bytes longer (``staging.staged_path``). An object name may have 253 characters, and
# its kind and group come first: a longer file name keeps its first part and ends in "~" and a digest of the
# whole. "~" is written %7E in any other file name, so a shortened name is never another object's.
NAME_MAX = 230
_DIGEST_CHARS = 16


def object_path(ident: ObjectId) -> str:
    """``<namespace or _cluster>/<kind>[.<group>]_<name>.yaml``, relative to the cluster's folder."""
    kind = ident.kind.lower() + (f".{ident.group}" if ident.group else "")
    stem = f"{kind}_{_file_part(ident.name)}"
    encoded = stem.encode("utf-8")
    if len(encoded) > NAME_MAX - len(".yaml"):
        digest = hashlib.sha256(encoded).hexdigest()[:_DIGEST_CHARS]
        kept = encoded[: NAME_MAX - len(".yaml") - 1 - _DIGEST_CHARS].decode("utf-8", "ignore")
        stem = f"{kept}~{digest}"
    return f"{ident.namespace or CLUSTER_SCOPED_DIR}/{stem}.yaml"


def _pyyaml_dump(obj: Any, dumper: type[yaml.SafeDumper] = _Dumper) -> str:
    # Keys stay in the template's order; a huge width keeps long values on one line.
    return yaml.dump(
        obj, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 30
    )


def _reference(entry: Mapping[Any, Any]) -> str:
    """What PyYAML's Python emitter writes for ``entry``, one key and one scalar (``BlockWriter``'s
    question), from libyaml when both are plain ASCII: the answer is the same and five times faster."""
    ((key, value),) = entry.items()
    if (
        isinstance(key, str)
        and _PLAIN_ASCII.match(key)
        and (not isinstance(value, str) or _PLAIN_ASCII.match(value))
    ):
        return _pyyaml_dump(entry, _FastDumper)
    return _pyyaml_dump(entry)


# Same bytes as _pyyaml_dump, many times faster; its caches only remember _pyyaml_dump's answers.
_WRITER = BlockWriter(_reference)


def dump(obj: Mapping[str, Any]) -> str:
    try:
        return _WRITER.dump(obj)
    except Unsupported:
        return _pyyaml_dump(obj)


def serialize(obj: Mapping[str, Any], header: Iterable[str]) -> bytes:
    # A file or object name may hold a line break (a template named "x\nspec: {...}.yaml"): escaped, it stays
    # in its comment rather than start a line of YAML that kubectl and kustomize would read into the object.
    comments = "".join(f"# {visible(line)}\n" for line in header)
    return (comments + dump(obj)).encode("utf-8")


def header(template_label: str, patch_labels: Iterable[str]) -> list[str]:
    lines = [f"Rendered by fanout from {template_label}. Do not edit: change the source and re-render."]
    labels = list(patch_labels)
    if labels:
        lines.append("Overrides applied, in order: " + ", ".join(labels))
    return lines


def kustomization(paths_in_order: Iterable[str]) -> bytes:
    """A kustomization listing every file, so `kubectl apply -k`, Argo CD and Flux deploy the folder as is."""
    document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(paths_in_order),
    }
    return ("# Generated by fanout. Do not edit.\n" + dump(document)).encode("utf-8")
