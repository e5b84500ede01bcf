"""The output folder's marker, ``.fanout-output.json``: the files fanout wrote there, and what it wrote.

fanout refuses a non-empty folder without a marker, never overwrites a file it does not list, and
deletes a listed file only while its content is still what fanout wrote (the marker keeps a SHA-256 of
each file). The marker is input like any other: an entry that is absolute or climbs out with ``..`` is
ignored with a warning, never followed. While a write is under way the marker also lists its temporary
files (``pending``), so that the next run can clear what a killed one left behind.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fanout.errors import FanoutError

MARKER = ".fanout-output.json"
MARKER_VERSION = 2
# Names of fanout's own temporary and backup files beside the files they stand for.
TEMP_PREFIX = ".fanout-"
TEMP_SUFFIXES = (".tmp", ".bak")


@dataclass(frozen=True)
class Changes:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    marker: bytes  # the marker's new content
    marker_changed: bool
    kept: tuple[str, ...] = ()  # listed files that are no longer rendered but whose content someone changed

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.marker_changed)

    @property
    def count(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)

    def by_cluster(self) -> dict[str, dict[str, list[str]]]:
        """``{cluster: {"added": [...], ...}}`` with paths relative to the cluster folder."""
        result: dict[str, dict[str, list[str]]] = {}
        for state, paths in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            for path in paths:
                cluster, _, rest = path.partition("/")
                result.setdefault(cluster, {"added": [], "changed": [], "removed": []})[state].append(rest)
        return dict(sorted(result.items()))


@dataclass(frozen=True)
class Marker:
    files: Mapping[str, str | None]  # path -> SHA-256 of what fanout wrote (None: a marker of fanout 0.1)
    pending: tuple[str, ...] = ()  # temporary files of an interrupted write
    warnings: tuple[str, ...] = field(default=())  # entries not trusted, and why


def safe_path(path: str) -> bool:
    """A relative path that stays inside the folder (no ``..``, no absolute path, no empty part)."""
    if not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def is_temporary(path: str) -> bool:
    name = posixpath.basename(path)
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIXES)


def read_marker(out: Path) -> Marker | None:
    """The marker of ``out``, or None when there is none; FanoutError when it is not a marker at all."""
    marker = out / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        listed = data["files"]
        pending = data.get("pending", [])
        if isinstance(listed, list):  # fanout 0.1 listed paths without digests
            listed = dict.fromkeys(listed)
        if not isinstance(listed, dict) or not isinstance(pending, list):
            raise ValueError("files is not a list of paths")
        if not all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in listed.items()):
            raise ValueError("files is not a list of paths")
        if not all(isinstance(p, str) for p in pending):
            raise ValueError("pending is not a list of paths")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise FanoutError.at(
            f"{marker}: not a fanout marker file ({exc}); remove the folder or fix the file"
        ) from None
    warnings = [
        f"{marker}: warning: entry {path!r} ignored: it leads outside the output folder"
        for path in [*listed, *pending]
        if not safe_path(path)
    ]
    warnings += [
        f"{marker}: warning: pending entry {path!r} ignored: it is not a fanout temporary file"
        for path in pending
        if safe_path(path) and not is_temporary(path)
    ]
    files = {p: d for p, d in listed.items() if safe_path(p) and p != MARKER}
    temporary = tuple(p for p in pending if safe_path(p) and is_temporary(p))
    return Marker(files, temporary, tuple(warnings))


def marker_content(files: Mapping[str, str | None], pending: Iterable[str] = ()) -> bytes:
    document: dict[str, object] = {
        "generator": "fanout",
        "version": MARKER_VERSION,
        "note": "Files fanout wrote here, with the SHA-256 of each; fanout deletes only these.",
        "files": dict(sorted(files.items())),
    }
    waiting = sorted(pending)
    if waiting:
        document["pending"] = waiting
    return (json.dumps(document, indent=1) + "\n").encode("utf-8")


class _Folder:
    """The output folder, with a guard against any path that would leave it.

    Resolving every file's path is slow with 100,000 files; resolving each parent folder once
    still catches a symlinked folder that points elsewhere.
    """

    def __init__(self, out: Path) -> None:
        self.root = out.resolve()
        self._parents: dict[str, bool] = {}

    def path(self, relative: str) -> Path:
        parent, _, name = relative.rpartition("/")
        if not safe_path(relative) or not name or not self._inside(parent):
            raise FanoutError.at(f"refusing to write outside the output folder: {relative}")
        return self.root / relative

    def _inside(self, parent: str) -> bool:
        known = self._parents.get(parent)
        if known is None:
            known = self._parents[parent] = (self.root / parent).resolve().is_relative_to(self.root)
        return known
