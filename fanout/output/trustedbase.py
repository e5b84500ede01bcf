"""``render --check --trusted-base REF``: check a fresh clone without rendering what REF already vouches for.

A CI job in a fresh clone has no render cache, so a plain ``--check`` renders every cluster. But the
output committed at a trusted commit (the target branch, which CI checked before it moved) was rendered
from inputs whose digests its marker records (``clusters``, marker version 3). A cluster is up to date,
without being rendered, when all of these hold:

- REF's marker was written by this fanout release (its ``fanout`` field), and names the cluster;
- the cluster's inputs' digest now equals the one REF's marker records;
- git finds none of the cluster's output files changed, added or removed between REF and the working
  tree (``git diff REF``, which uses the index's stat data and so costs little more than an ``lstat`` per
  file, plus ``git ls-files --others``);
- the working tree's marker lists the same files with the same SHA-256 as REF's marker.

Every other cluster is rendered and compared as usual, and the whole new marker is compared byte for
byte, so nothing is taken from the working tree's own marker on trust: a pull request that edits output
files and the marker together cannot make the check pass, because only REF's marker is believed, and only
for files git shows unchanged since REF. What the fast path does trust is REF itself: that its output was
up to date (CI checked it before it was merged). That is why it is never automatic.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fanout import __version__
from fanout.core.errors import FanoutError
from fanout.output.cache import ClusterRecord, FileRecord
from fanout.output.folder import MARKER, Listing, Marker, by_cluster, parse_marker
from fanout.source.git import _NO_OPTIONAL_LOCKS_ENV, GIT_TIMED_OUT, git_answer, git_reason, start_git

if TYPE_CHECKING:
    from fanout.output.sync import Donor

# Records of vouched files carry no stat: they are only ever compared by content digest (never saved).
_NO_STAT = (-1, -1, -1, -1)


@dataclass(frozen=True)
class Base:
    """What REF says about the output folder: its marker, and the clusters whose files changed since."""

    ref: str
    marker: Marker | None  # None: REF has no marker there
    touched: frozenset[str]  # clusters with a file that differs between REF and the working tree
    raw: bytes = b""  # the marker's bytes as committed at REF

    @functools.cached_property
    def grouped(self) -> dict[str, dict[str, str | None]]:
        """REF's marker's files by cluster (``by_cluster``), worked out once."""
        return by_cluster(self.marker.files) if self.marker is not None else {}

    def donor(self) -> Donor | None:
        """REF's marker as a source of entries for the new one (``sync.plan``'s ``donor``), when it is
        one this fanout wrote. It is what CI checked REF's output against, byte for byte, before REF moved:
        the same trust as taking its digests."""
        marker = self.marker
        if marker is None or marker.renderer != __version__ or marker.pending or marker.warnings:
            return None
        return self.raw, self.grouped


def vouched(
    base: Base, current: Mapping[str, str | None], digests: Mapping[str, str], version: str = __version__
) -> dict[str, ClusterRecord]:
    """The clusters REF vouches for (see the module's rules), as records for ``sync.plan``.

    ``current``: the working tree marker's files; ``digests``: each planned cluster's inputs' digest now.
    """
    marker = base.marker
    if marker is None or marker.renderer != version or not marker.clusters:
        return {}
    then = base.grouped
    # The clusters whose entries differ between the two markers (usually none, or a few a pull request
    # re-rendered): one pass over the entries rather than regrouping the working tree's 100,000.
    listed = marker.files
    changed: set[str]
    if isinstance(current, Listing) and isinstance(listed, Listing):  # cluster by cluster, each map at once
        now, before = current.clusters, listed.clusters
        changed = {name for name in now.keys() | before.keys() if now.get(name) != before.get(name)}
    else:
        differs = {p for p, d in current.items() if p not in listed or listed[p] != d}
        differs.update(listed.keys() - current.keys())
        changed = {p.partition("/")[0] for p in differs if "/" in p}
    records: dict[str, ClusterRecord] = {}
    for name, digest in digests.items():
        files = then.get(name)
        if (
            marker.clusters.get(name) != digest
            or name in base.touched
            or not files
            or name in changed
            or "kustomization.yaml" not in files
        ):
            continue
        vouched_files: dict[str, FileRecord] = {}
        for relative, content in files.items():
            if content is None:
                break
            vouched_files[relative] = (*_NO_STAT, content)
        else:
            records[name] = ClusterRecord(digest, vouched_files)
    return records


def why_not(base: Base, version: str = __version__) -> str | None:
    """Why REF can vouch for no cluster at all, or None when it may vouch for some."""
    marker = base.marker
    if marker is None:
        return f"{base.ref} has no fanout output there"
    if marker.renderer != version:
        written = f"fanout {marker.renderer}" if marker.renderer else "a fanout before 0.2"
        return f"its output was written by {written}, and this is fanout {version}"
    if not marker.clusters:
        return "its marker records no input digests"
    return None


def start(target: Path, ref: str) -> Started:
    """Start git reading REF's marker for output folder ``target`` and listing the files changed since REF;
    ``Started.base`` takes its answers.

    Started before the inputs are read, git's listing of 100,000 output files runs on another core
    meanwhile. That listing may be older than the folder's lock, taken later; it can still vouch only for
    clusters whose files the working tree's marker, read under the lock, lists with REF's digests: a fanout
    that wrote the folder in between wrote exactly what its marker lists. A mistake (no repository, an
    unknown REF) is kept and raised by ``base``, after the inputs' own problems.
    """
    return Started(target, ref)


class Started:
    """REF's marker and git's listings of an output folder, being read by git processes (``start``)."""

    def __init__(self, target: Path, ref: str) -> None:
        self.target = target
        self.ref = ref
        self.error: FanoutError | None = None
        self.prefix = ""
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        try:
            self._start()
        except FanoutError as exc:
            self.error = exc
        except OSError as exc:  # no git at all
            self.error = FanoutError.at(f"--trusted-base: cannot run git: {exc.strerror or exc}")

    def _start(self) -> None:
        target, ref = self.target, self.ref
        where = target if target.is_dir() else target.parent
        if not where.is_dir():
            raise FanoutError.at(f"--trusted-base: {target} is not in a git repository")
        status, said, _ = _run(str(where), "rev-parse", "--show-toplevel")
        if status != 0:
            raise FanoutError.at(f"--trusted-base: {target} is not in a git repository")
        top = os.fsdecode(said.rstrip(b"\n"))
        try:
            relative = target.resolve().relative_to(Path(top).resolve()).as_posix()
        except ValueError:
            raise FanoutError.at(f"--trusted-base: {target} is outside the git repository {top}") from None
        status, commit, _ = _run(
            top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
        )
        if status != 0:
            raise FanoutError.at(
                f"--trusted-base {ref}: not a commit of {top} (a shallow CI clone must fetch it first, e.g."
                f" git fetch --depth=1 origin {ref.removeprefix('origin/')})"
            )
        sha = commit.decode("ascii").strip()
        self.prefix = "" if relative == "." else f"{relative}/"
        spec = f":(literal){relative}" if relative != "." else "."
        # Three git processes at once; each answer is taken only when needed (``base``).
        for name, args in (
            ("marker", ("cat-file", "blob", f"{sha}:{self.prefix}{MARKER}")),
            (
                "diff",
                (
                    "diff",
                    "--name-only",
                    "-z",
                    "--no-renames",
                    "--no-ext-diff",
                    "--no-textconv",
                    sha,
                    "--",
                    spec,
                ),
            ),
            ("others", ("ls-files", "-z", "--others", "--", spec)),
        ):
            self.processes[name] = _git(top, *args)

    def base(self, current: tuple[bytes, Marker] | None = None) -> Base:
        """What REF says about the folder; raises the mistake ``start`` met, if any.

        ``current``: the working tree's marker, as bytes and parsed; when REF's is the same bytes (a pull
        request that changed no output), its parse is taken rather than parsing 100,000 entries again.
        """
        if self.error is not None:
            raise self.error
        ref, prefix = self.ref, self.prefix
        status, raw, err = git_answer(self.processes["marker"])
        if status == GIT_TIMED_OUT:
            raise FanoutError.at(f"--trusted-base {ref}: git cat-file {git_reason(err)}")
        marker = None
        if status == 0:
            same = current is not None and current[0] == raw
            marker = (
                current[1] if same and current is not None else parse_marker(raw, f"{ref}:{prefix}{MARKER}")
            )
        if marker is None:
            return Base(ref, None, frozenset())
        touched: set[str] = set()
        for name, command in (("diff", "diff"), ("others", "ls-files")):
            status, listed, err = git_answer(self.processes[name])
            if status != 0:
                raise FanoutError.at(f"--trusted-base {ref}: git {command} failed: {git_reason(err)}")
            for path in os.fsdecode(listed).split("\0"):
                inside = path[len(prefix) :] if path.startswith(prefix) else None
                if inside and "/" in inside:
                    touched.add(inside.partition("/")[0])
        return Base(ref, marker, frozenset(touched), raw)

    def close(self) -> None:
        """Stop whatever git is still doing (the run ended another way) and reap it."""
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.communicate()

    def __enter__(self) -> Started:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _git(cwd: str, *args: str) -> subprocess.Popen[bytes]:
    return start_git(cwd, *args, env=_NO_OPTIONAL_LOCKS_ENV)


def _run(cwd: str, *args: str) -> tuple[int, bytes, str]:
    """A git command's answer; a timeout is said as such, not as the command's failure."""
    status, out, err = git_answer(_git(cwd, *args))
    if status == GIT_TIMED_OUT:
        raise FanoutError.at(f"--trusted-base: git {args[0]} {git_reason(err)}")
    return status, out, err
