"""Where source files come from: a folder on disk, or (see ``gitsource``) a commit's tree.

Every later stage reads through ``SourceTree``, so it never knows whether it is looking
at the working tree or at a commit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class SourceTree(Protocol):
    """A read-only view of a source root. Paths are POSIX, relative to the root."""

    @property
    def description(self) -> str:
        """Human-readable origin, e.g. ``sample-repo`` or ``sample-repo@3f2a1bc``."""
        ...

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when there is no such file."""
        ...

    def list_files(self, folder: str) -> list[str]:
        """Every file below ``folder`` (recursively), sorted; empty when the folder is missing."""
        ...


class DirectorySource:
    """A source root on disk (the working tree)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def description(self) -> str:
        return str(self.root)

    def read(self, path: str) -> bytes | None:
        target = self.root / path
        if not target.is_file():
            return None
        return target.read_bytes()

    def list_files(self, folder: str) -> list[str]:
        base = self.root / folder if folder not in ("", ".") else self.root
        if not base.is_dir():
            return []
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel_dir = Path(dirpath).relative_to(self.root)
            for name in filenames:
                found.append((rel_dir / name).as_posix())
        return sorted(found)
