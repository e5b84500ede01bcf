"""Files of the cache folder: written atomically and quietly, and sealed with a checksum where they hold
``marshal`` data (the render state, the input memo, the stat index).

A cache file that cannot be written only costs speed, so writing never fails. ``marshal`` is fast but trusts
its input, so a sealed file is read only when its kind (``magic``, which names the format and Python's
marshal version) and the SHA-256 of its payload are right: anything else reads as no file at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

DIGEST = 32  # bytes of SHA-256 between the magic and the payload


def _replace_quietly(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Replace ``path`` atomically with what ``write`` writes into a new file; any OSError (``write``'s own
    included) gives up quietly and leaves ``path`` as it was."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):  # e.g. the cache folder is a file: nothing to clean up
            tmp.unlink(missing_ok=True)


def write_quietly(path: Path, *data: bytes | memoryview) -> None:
    """Replace ``path`` with ``data``'s parts, atomically; give up quietly. (In parts, so that a large file
    is not copied once more to be written.)"""

    def write(handle: BinaryIO) -> None:
        for part in data:
            handle.write(part)

    _replace_quietly(path, write)


def write_sealed(path: Path, magic: bytes, payload: bytes) -> None:
    """``payload`` behind ``magic`` and its SHA-256, atomically and quietly."""
    write_quietly(path, magic, hashlib.sha256(payload).digest(), payload)


def write_sealed_parts(path: Path, magic: bytes, parts: Iterable[bytes]) -> None:
    """``write_sealed`` of the payload ``parts`` make together, made and written one part at a time: a
    payload of tens of megabytes is never held whole. The digest goes in its place once every part is
    written, before the file replaces ``path``."""

    def write(handle: BinaryIO) -> None:
        digest = hashlib.sha256()
        handle.write(magic + bytes(DIGEST))
        for part in parts:
            digest.update(part)
            handle.write(part)
        handle.seek(len(magic))
        handle.write(digest.digest())

    _replace_quietly(path, write)


def read_sealed(path: Path, magic: bytes) -> tuple[memoryview, int] | None:
    """The payload ``write_sealed`` wrote under ``magic``, and the file's mtime (when it was written, on the
    file system's clock); None when the file is missing, of another kind, or damaged."""
    try:
        saved_ns = path.stat().st_mtime_ns
        raw = path.read_bytes()
    except OSError:
        return None
    head = len(magic)
    payload = memoryview(raw)[head + DIGEST :]
    if raw[:head] != magic or hashlib.sha256(payload).digest() != raw[head : head + DIGEST]:
        return None
    return payload, saved_ns
