"""How much input fanout accepts, so that memory and time stay bounded whatever a source holds.

Each limit is a located error when exceeded, and each can be raised in fanout.yaml (``limits:``).
fanout.yaml itself is always read with the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    # A YAML file's size in bytes.
    max_file_bytes: int = 16 * MIB
    # Documents (``---``) in one file.
    max_documents: int = 10_000
    # Nesting of mappings and lists; Kubernetes objects rarely pass 20. Kept well under Python's
    # recursion limit, since later stages walk values recursively.
    max_depth: int = 100
    # Values that aliases (``*name``) may add to a file beyond those written, at least: YAML alias
    # bombs are a few hundred bytes. Aliases may also add up to 10 values per value written.
    max_alias_values: int = 100_000
    # Bytes that ``${cluster.…}`` substitution may insert into one rendered object.
    max_substituted_bytes: int = 16 * MIB

    @property
    def alias_ratio(self) -> int:
        return 10


DEFAULT_LIMITS = Limits()

# fanout.yaml's spelling of each limit.
CONFIG_KEYS = {
    "maxFileBytes": "max_file_bytes",
    "maxDocuments": "max_documents",
    "maxDepth": "max_depth",
    "maxAliasValues": "max_alias_values",
    "maxSubstitutedBytes": "max_substituted_bytes",
}
assert set(CONFIG_KEYS.values()) == {f.name for f in fields(Limits)}

# Python's own recursion limit is the ceiling of maxDepth: deeper would crash, not be refused.
DEPTH_CEILING = 200


def from_config(data: Mapping[str, Any] | None) -> Limits:
    """The limits fanout.yaml sets (already schema-checked), over the defaults."""
    if not data:
        return DEFAULT_LIMITS
    chosen = {CONFIG_KEYS[k]: v for k, v in data.items() if k in CONFIG_KEYS}
    return Limits(**chosen)


def setting(name: str) -> str:
    """``limits.maxDepth in fanout.yaml`` for the field ``max_depth``: where to raise it."""
    key = next(k for k, v in CONFIG_KEYS.items() if v == name)
    return f"limits.{key} in fanout.yaml"
