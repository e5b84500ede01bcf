"""Where source files come from: a folder on disk, or (see ``gitsource``) a commit's tree.

Every later stage reads through ``SourceTree``, so it never knows whether it is looking at the
working tree or at a commit. Both read exactly the same files, and nothing outside the source root:
a symbolic link is followed only to a regular file inside the source root, a linked folder or a git
submodule is refused (a commit holds no submodule's files), and each refusal is located.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from fanout.core.errors import FanoutError, Location

OUTSIDE = "a symbolic link that leads outside the source root (or nowhere); fanout does not follow it"
LINKED_FOLDER = "a symbolic link to a folder; fanout reads the folders of the source root only"
SUBMODULE = (
    "a git submodule; its files are not part of this repository's commits, so fanout does not read them"
)


class Refused(NamedTuple):
    path: str
    why: str


class SourceTree(Protocol):
    """A read-only view of a source root. Paths are POSIX, relative to the root."""

    @property
    def description(self) -> str:
        """Human-readable origin, e.g. ``sample-repo`` or ``sample-repo@3f2a1bc``."""
        ...

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when there is no such file; FanoutError for a link leaving the root."""
        ...

    def list_files(self, folder: str) -> list[str]:
        """Every file below ``folder`` (recursively), sorted; empty when the folder is missing."""
        ...

    def refused(self, folder: str) -> list[Refused]:
        """What ``list_files`` left out below ``folder`` because it would leave the source root."""
        ...


class DirectorySource:
    """A source root on disk (the working tree)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real = root.resolve()

    @property
    def description(self) -> str:
        return str(self.root)

    def _inside(self, target: Path) -> bool:
        try:
            return target.resolve(strict=True).is_relative_to(self._real)
        except (OSError, RuntimeError):  # missing, or a loop of links
            return False

    def read(self, path: str) -> bytes | None:
        target = self.root / path
        if target.is_symlink() and not self._inside(target):
            raise FanoutError.at(OUTSIDE, Location(path))
        if not target.is_file():
            return None
        return target.read_bytes()

    def _walk(self, folder: str) -> tuple[list[str], list[Refused]]:
        base = self.root / folder if folder not in ("", ".") else self.root
        found: list[str] = []
        refused: list[Refused] = []
        if base.is_symlink():
            return [], [Refused(folder, LINKED_FOLDER)]
        if not base.is_dir():
            return [], []
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = Path(dirpath).relative_to(self.root)
            kept = []
            for name in dirnames:
                if name.startswith("."):
                    continue  # hidden folders are not read (as in a commit)
                path = Path(dirpath) / name
                relative = (rel_dir / name).as_posix()
                if path.is_symlink():
                    refused.append(Refused(relative, LINKED_FOLDER))
                elif (path / ".git").exists():
                    refused.append(Refused(relative, SUBMODULE))
                else:
                    kept.append(name)
            dirnames[:] = kept
            for name in filenames:
                path = Path(dirpath) / name
                relative = (rel_dir / name).as_posix()
                if path.is_symlink() and not (self._inside(path) and path.is_file()):
                    refused.append(Refused(relative, OUTSIDE))
                else:
                    found.append(relative)
        return sorted(found), sorted(refused)

    def list_files(self, folder: str) -> list[str]:
        return self._walk(folder)[0]

    def refused(self, folder: str) -> list[Refused]:
        return self._walk(folder)[1]


class MemoryTree:
    """A source root held in memory (``path -> bytes``): what ``fanout import`` renders to check itself."""

    def __init__(self, files: Mapping[str, bytes], description: str = "(in memory)") -> None:
        self.files = dict(files)
        self._description = description

    @property
    def description(self) -> str:
        return self._description

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def list_files(self, folder: str) -> list[str]:
        prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
        return sorted(
            p for p in self.files if p.startswith(prefix) and not any(s.startswith(".") for s in p.split("/"))
        )

    def refused(self, folder: str) -> list[Refused]:
        return []
