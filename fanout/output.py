"""Writing rendered files into the output folder: only what changed, only files fanout wrote.

The folder holds a marker, ``.fanout-output.json``, listing every file fanout wrote there. fanout
refuses a non-empty folder without it, never overwrites or deletes a file it does not list, and
computes every change before touching the disk, so a failed render leaves the folder as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from fanout.errors import FanoutError, Problem

MARKER = ".fanout-output.json"


@dataclass(frozen=True)
class Changes:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    marker: bytes  # the marker's new content
    marker_changed: bool

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


def _read_marker(out: Path) -> list[str] | None:
    marker = out / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        files = data["files"]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise ValueError("files is not a list of paths")
    except (ValueError, KeyError, TypeError) as exc:
        raise FanoutError.at(
            f"{marker}: not a fanout marker file ({exc}); remove the folder or fix the file"
        ) from None
    return files


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
        if relative.startswith("/") or ".." in relative.split("/") or not name or not self._inside(parent):
            raise FanoutError.at(f"refusing to write outside the output folder: {relative}")
        return self.root / relative

    def _inside(self, parent: str) -> bool:
        known = self._parents.get(parent)
        if known is None:
            known = self._parents[parent] = (self.root / parent).resolve().is_relative_to(self.root)
        return known


def marker_content(files: Collection[str]) -> bytes:
    document = {
        "generator": "fanout",
        "note": "Files fanout wrote here; fanout deletes only these.",
        "files": sorted(files),
    }
    return (json.dumps(document, indent=1) + "\n").encode("utf-8")


def plan_changes(out: Path, files: Mapping[str, bytes], scope: Collection[str] | None = None) -> Changes:
    """What writing ``files`` into ``out`` changes; ``scope`` names the clusters replaced (None: all)."""
    if out.exists() and not out.is_dir():
        raise FanoutError.at(f"output {out} exists and is not a folder")
    previous = _read_marker(out) if out.is_dir() else None
    if previous is None and out.is_dir() and any(out.iterdir()):
        raise FanoutError.at(
            f"refusing to write into {out}: it is not empty and fanout did not create it (no {MARKER});"
            " choose another --out or empty the folder"
        )
    owned = set(previous or ())

    def in_scope(path: str) -> bool:
        return scope is None or path.split("/", 1)[0] in scope

    folder = _Folder(out)
    added, changed, foreign = [], [], []
    unchanged = 0
    for path in sorted(files):
        target = folder.path(path)
        if not target.is_file():
            if target.exists():
                foreign.append(Problem(f"refusing to replace {target}: it is not a file"))
            added.append(path)
        elif target.read_bytes() == files[path]:
            unchanged += 1
        elif path in owned:
            changed.append(path)
        else:
            foreign.append(Problem(f"refusing to overwrite {target}: fanout did not write it"))
    if foreign:
        raise FanoutError(foreign)
    removed = sorted(p for p in owned if in_scope(p) and p not in files and (out / p).is_file())
    kept = {p for p in owned if not in_scope(p)}
    marker = marker_content(kept | set(files))
    marker_path = out / MARKER
    marker_changed = not marker_path.is_file() or marker_path.read_bytes() != marker
    return Changes(tuple(added), tuple(changed), tuple(removed), unchanged, marker, marker_changed)


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".fanout-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply_changes(out: Path, files: Mapping[str, bytes], changes: Changes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    folder = _Folder(out)
    for path in (*changes.added, *changes.changed):
        _write(folder.path(path), files[path])
    root = folder.root
    for path in changes.removed:
        target = folder.path(path)
        target.unlink()
        # Remove folders the removal emptied, up to (not including) the output folder.
        parent = target.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    if changes.marker_changed:
        _write(out / MARKER, changes.marker)
