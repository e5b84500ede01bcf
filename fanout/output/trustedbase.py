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

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fanout import __version__
from fanout.core.errors import FanoutError
from fanout.output.cache import ClusterRecord, FileRecord
from fanout.output.folder import MARKER, Marker, by_cluster, parse_marker

# Records of vouched files carry no stat: they are only ever compared by content digest (never saved).
_NO_STAT = (-1, -1, -1, -1)


@dataclass(frozen=True)
class Base:
    """What REF says about the output folder: its marker, and the clusters whose files changed since."""

    ref: str
    marker: Marker | None  # None: REF has no marker there
    touched: frozenset[str]  # clusters with a file that differs between REF and the working tree


def vouched(
    base: Base, current: Mapping[str, str | None], digests: Mapping[str, str], version: str = __version__
) -> dict[str, ClusterRecord]:
    """The clusters REF vouches for (see the module's rules), as records for ``sync.plan``.

    ``current``: the working tree marker's files; ``digests``: each planned cluster's inputs' digest now.
    """
    marker = base.marker
    if marker is None or marker.renderer != version or not marker.clusters:
        return {}
    then = by_cluster(marker.files)
    # Usually the working tree lists exactly REF's files: one comparison instead of one per cluster.
    now = then if current == marker.files else by_cluster(current)
    records: dict[str, ClusterRecord] = {}
    for name, digest in digests.items():
        files = then.get(name)
        if (
            marker.clusters.get(name) != digest
            or name in base.touched
            or not files
            or now.get(name) != files
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


def read_base(target: Path, ref: str, current: tuple[bytes, Marker] | None = None) -> Base:
    """REF's marker for output folder ``target``, and the clusters whose files git sees changed since REF.

    ``current``: the working tree's marker, as bytes and parsed; when REF's is the same bytes (a pull
    request that changed no output), its parse is taken rather than parsing 100,000 entries again.
    """
    import git

    from fanout.source.git import _NO_OPTIONAL_LOCKS_ENV, git_reason, run_git

    where = target if target.is_dir() else target.parent
    if not where.is_dir():
        raise FanoutError.at(f"--trusted-base: {target} is not in a git repository")
    status, top, _ = run_git(git.Git(str(where)), "rev-parse", "--show-toplevel")
    if status != 0:
        raise FanoutError.at(f"--trusted-base: {target} is not in a git repository")
    runner = git.Git(top)
    try:
        relative = target.resolve().relative_to(Path(top).resolve()).as_posix()
    except ValueError:
        raise FanoutError.at(f"--trusted-base: {target} is outside the git repository {top}") from None
    status, commit, err = run_git(
        runner, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
    )
    if status != 0:
        raise FanoutError.at(
            f"--trusted-base {ref}: not a commit of {top} (a shallow CI clone must fetch it first, e.g."
            f" git fetch --depth=1 origin {ref.removeprefix('origin/')})"
        )
    prefix = "" if relative == "." else f"{relative}/"
    status, raw, _ = run_git(runner, "cat-file", "blob", f"{commit}:{prefix}{MARKER}")
    marker = None
    if status == 0:
        data = raw.encode("utf-8")
        # (git's output as GitPython gives it: without the file's final newline)
        same = current is not None and current[0] == data + b"\n"
        marker = current[1] if same and current is not None else parse_marker(data, f"{ref}:{prefix}{MARKER}")
    if marker is None:
        return Base(ref, None, frozenset())
    spec = f":(literal){relative}" if relative != "." else "."
    touched: set[str] = set()
    env = dict(_NO_OPTIONAL_LOCKS_ENV)
    for args in (
        ("diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", commit, "--", spec),
        ("ls-files", "-z", "--others", "--", spec),
    ):
        status, listed, err = run_git(runner, *args, env=env)
        if status != 0:
            raise FanoutError.at(f"--trusted-base {ref}: git {args[0]} failed: {git_reason(err)}")
        for path in listed.split("\0"):
            inside = path[len(prefix) :] if path.startswith(prefix) else None
            if inside and "/" in inside:
                touched.add(inside.partition("/")[0])
    return Base(ref, marker, frozenset(touched))
