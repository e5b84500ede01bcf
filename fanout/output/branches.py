"""What ``fanout publish`` commits where: the plan (the owned folder, kept files, the source commit) and its
targets (one branch for all clusters, or one per cluster), checked before any object is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import git

from fanout.core.errors import FanoutError
from fanout.output.contents import FileTree
from fanout.output.hydrator import Hydrator
from fanout.source.git import NO_PROMPT_ENV, git_reason, run_git

NO_PARTS: tuple[str, ...] = ()

# --- the plan and its targets ---


@dataclass(frozen=True)
class Plan:
    into: tuple[str, ...]  # the folder of the branch that fanout owns, as path parts; () for the whole branch
    keep: tuple[re.Pattern[str], ...]
    source_commit: str
    allow_rollback: bool = False
    clusters: frozenset[str] | None = None  # a subset: other clusters' folders are kept
    hydrator: Hydrator | None = None
    remote: str | None = None  # where to look for a source commit this clone lacks (with --push)


@dataclass(frozen=True)
class Target:
    branch: str
    files: Mapping[str, bytes]  # relative to the folder fanout owns on the branch
    cluster: str | None  # the one cluster of a per-cluster branch
    trees: Mapping[str, str] = field(default_factory=dict)  # folder -> an existing tree SHA to use whole
    built: dict[str, str] = field(default_factory=dict)  # cluster -> its folder's tree SHA, once built


def check_files(files: Mapping[str, bytes]) -> None:
    """The renderer's paths are trusted, but a bad one would corrupt a tree, so fail loudly (a bug, not a user
    mistake)."""
    folders: set[str] = set()
    for path in files:
        parts = path.split("/")
        if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
            raise ValueError(f"not a clean relative POSIX path: {path!r}")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    clashes = sorted(folders.intersection(files))
    if clashes:
        raise ValueError(f"paths used both as a file and as a folder: {clashes}")


def check_into(into: str | None) -> tuple[str, ...]:
    if into is None:
        return NO_PARTS
    parts = tuple(into.replace("\\", "/").strip("/").split("/"))
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        raise FanoutError.at(
            f"--into {into!r}: must be a folder path inside the branch, like team-a or env/prod"
        )
    return parts


def compile_keep(pattern: str) -> re.Pattern[str]:
    """A --keep glob as a regular expression over paths relative to the branch root.

    As in .gitignore: ``*`` and ``?`` stay within one folder, ``**`` crosses folders, a pattern without a
    slash matches at any depth, one with a slash is anchored at the branch root, and a pattern that matches a
    folder keeps everything inside it.
    """
    text = pattern.strip()
    body = text.strip("/")
    if not body:
        raise FanoutError.at(f"--keep {pattern!r}: empty pattern")
    anchored = "/" in body or text.startswith("/")
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        elif body[i] == "[" and (end := body.find("]", i + 2)) != -1:
            inner = body[i + 1 : end]
            inner = "^" + inner[1:] if inner.startswith("!") else inner
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    regex = ("" if anchored else "(?:.*/)?") + "".join(out) + "(?:/.*)?"
    try:
        return re.compile(regex, re.DOTALL)
    except re.error as err:
        raise FanoutError.at(f"--keep {pattern!r}: not a valid glob ({err})") from None


class _Under(Mapping[str, bytes]):
    """The files of ``files`` under ``prefix``, by their path below it."""

    def __init__(self, files: Mapping[str, bytes], prefix: str, rests: Iterable[str]) -> None:
        self._files = files
        self._prefix = prefix
        self._rests = dict.fromkeys(rests)

    def __getitem__(self, rest: str) -> bytes:
        if rest not in self._rests:
            raise KeyError(rest)
        return self._files[self._prefix + rest]

    def __contains__(self, rest: object) -> bool:
        return rest in self._rests

    def __iter__(self) -> Iterator[str]:
        return iter(self._rests)

    def __len__(self) -> int:
        return len(self._rests)


def plan_targets(
    files: Mapping[str, bytes], branch: str | None, template: str | None, trees: Mapping[str, str]
) -> list[Target]:
    if branch is not None:
        return [Target(branch, files, None, trees)]
    assert template is not None
    # Views of ``files`` (a rendering's compressed contents, or a folder read when asked), not copies of
    # every file's bytes.
    by_cluster: dict[str, Mapping[str, bytes]]
    if isinstance(files, FileTree):
        by_cluster = dict(files.by_cluster())
    else:
        grouped: dict[str, list[str]] = {}
        for path in files:
            cluster, sep, rest = path.partition("/")
            if sep:  # a file at the top of the output belongs to no cluster
                grouped.setdefault(cluster, []).append(rest)
        by_cluster = {name: _Under(files, f"{name}/", rests) for name, rests in grouped.items()}
    return [
        Target(
            template.replace("{cluster}", name),
            by_cluster.get(name, {}),
            name,
            {"": trees[name]} if name in trees else {},
        )
        for name in sorted(set(by_cluster) | set(trees))
    ]


def stale_branches(
    repo: git.Repo, remote: str, template: str, rendered: set[str | None], chosen: frozenset[str] | None
) -> tuple[str, ...]:
    """Branches the template names for clusters that were not rendered (none when publishing a subset)."""
    if chosen is not None:
        return ()
    head, tail = template.split("{cluster}")
    pattern = re.compile(re.escape(head) + r"([a-z0-9]([-a-z0-9]*[a-z0-9])?)" + re.escape(tail))
    refs = read_refs(repo, remote)
    names = set(refs.local) | set(refs.tracking)
    return tuple(
        sorted(n for n in names if (m := pattern.fullmatch(n)) is not None and m.group(1) not in rendered)
    )


def prune_branches(repo: git.Repo, remote: str, branches: Sequence[str], push: bool) -> None:
    refs = read_refs(repo, remote)
    for name in branches:
        if name in refs.local:
            run_git(repo, "update-ref", "-d", f"refs/heads/{name}", refs.local[name])
    if push:
        gone = [f":refs/heads/{n}" for n in branches if n in refs.tracking]
        if gone:
            status, _, err = run_git(repo, "push", "--porcelain", remote, *gone, env=NO_PROMPT_ENV)
            if status != 0:
                raise FanoutError.at(f"cannot delete stale branches on {remote}: {git_reason(err)}")


@dataclass(frozen=True)
class Refs:
    local: Mapping[str, str]
    tracking: Mapping[str, str]


def read_refs(repo: git.Repo, remote: str) -> Refs:
    status, out, err = run_git(
        repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/", f"refs/remotes/{remote}/"
    )
    if status != 0:
        raise FanoutError.at(f"cannot read the branches of {repo.git_dir}: {git_reason(err)}")
    local: dict[str, str] = {}
    tracking: dict[str, str] = {}
    tracking_prefix = f"refs/remotes/{remote}/"
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        if ref.startswith("refs/heads/"):
            local[ref[len("refs/heads/") :]] = sha
        elif ref.startswith(tracking_prefix):
            tracking[ref[len(tracking_prefix) :]] = sha
    return Refs(local, tracking)
