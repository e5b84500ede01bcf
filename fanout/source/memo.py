"""The input memo: the documents of files read before, by content, so that an edit re-reads only its file.

Parsing YAML with positions and checking it against the JSON Schemas is most of what reading a large
source costs (1,000 clusters and 100 templates: 0.7 s). The memo keeps, for each input file of the last
run, its documents (data and positions, as ``fanout.source.parse`` built them) and the schemas each one
was found valid against. A file is taken from the memo only when its path, its bytes and the reading
limits are all the same; the memo file as a whole belongs to one fanout (``cache.code_digest``, which
covers the schemas), so a new fanout starts afresh. Anything unreadable or unexpected in it counts as
empty: the memo can make a run faster, never different.

Left out: files with any problem or warning (they are read again, and say it again), and files that may
hold a Secret, whose values stay out of the cache folder.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fanout.core.cachefile import read_sealed, write_sealed
from fanout.core.document import Document
from fanout.core.errors import Problem
from fanout.core.limits import Limits

# The memo file's kind (``core.cachefile``): the format and Python's marshal version.
_MAGIC = f"fanout-input-memo 1 {sys.version_info[0]}.{sys.version_info[1]} {marshal.version}\n".encode()

Parse = Callable[[str, bytes, Limits], tuple[list[Document], list[Problem]]]
# A document as the memo file holds it: path, index, data, positions, List item, schemas it satisfies.
_Stored = tuple[str, int, Any, dict[str, tuple[int, int]], int | None, tuple[str, ...]]


def _key(path: str, content: bytes, limits: Limits) -> bytes:
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape") + b"\0" + repr(limits).encode() + b"\0")
    digest.update(content)
    return digest.digest()


def _may_hold_secret(content: bytes) -> bool:
    """Any mention of the kind (a Secret, a FederatedSecret, a List of them): cheap, and errs on the safe
    side."""
    return b"Secret" in content


@dataclass
class Memo:
    """The memo of one source, for one run: what the last run stored, and what this run read."""

    path: Path | None  # the memo file (None: remember nothing)
    code: bytes
    stored: dict[bytes, list[_Stored]]
    used: dict[bytes, list[Document]] = field(default_factory=dict)
    fresh: bool = False  # some file was parsed, not taken from the memo

    def documents(
        self, path: str, content: bytes, limits: Limits, parse: Parse
    ) -> tuple[list[Document], list[Problem]]:
        """``parse(path, content, limits)``, or the documents it gave last time."""
        key = _key(path, content, limits)
        found = self.stored.get(key)
        if found is not None:
            docs = [Document(p, i, d, pos, item, set(valid)) for p, i, d, pos, item, valid in found]
            self.used[key] = docs
            return docs, []
        docs, problems = parse(path, content, limits)
        if not problems and not _may_hold_secret(content) and not any(doc.notes for doc in docs):
            self.used[key] = docs
            self.fresh = True
        return docs, problems

    def changed(self) -> bool:
        if self.fresh or self.used.keys() != self.stored.keys():
            return True
        # A document checked against a schema it had not been checked against before.
        return any(
            len(doc.valid_for) != len(stored[5])
            for key, docs in self.used.items()
            for doc, stored in zip(docs, self.stored[key], strict=True)
        )


def load(path: Path | None, code: bytes) -> Memo:
    """The memo file at ``path`` if this fanout (``code``) wrote it, else an empty memo."""
    sealed = read_sealed(path, _MAGIC) if path is not None else None
    if sealed is None:
        return Memo(path, code, {})
    try:
        stored_code, stored = marshal.loads(sealed[0])
        if stored_code != code or not isinstance(stored, dict):
            return Memo(path, code, {})
    except (ValueError, EOFError, TypeError):
        return Memo(path, code, {})
    return Memo(path, code, stored)


def save(memo: Memo) -> None:
    """Store what this run read (only that: files no longer read are dropped), when it differs."""
    if memo.path is None or not memo.changed():
        return
    entries = {
        key: [(d.path, d.index, d.data, dict(d.positions), d.item, tuple(sorted(d.valid_for))) for d in docs]
        for key, docs in memo.used.items()
    }
    try:
        payload = marshal.dumps((memo.code, entries))
    except ValueError:  # a value marshal cannot hold (none that parse makes): remember nothing
        return
    write_sealed(memo.path, _MAGIC, payload)
