"""Publish a rendered tree to output branches, built from git objects.

Blobs, trees and commits are written straight into the object database and branches are moved with
``update-ref``, so the working tree, the index and the checked-out branch are never touched and
uncommitted changes do not matter. Trees are deterministic: the same files give the same tree SHA.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import git
from git.exc import InvalidGitRepositoryError, NoSuchPathError
from git.objects.fun import tree_entries_from_data
from gitdb import IStream  # type: ignore[import-untyped]

import fanout
from fanout.errors import FanoutError
from fanout.gitsource import NO_PROMPT_ENV, git_reason, run_git

DEFAULT_ATTEMPTS = 5

_TREE = "40000"
_FILE = "100644"
_EMPTY: tuple[str, ...] = ()


@dataclass(frozen=True)
class BranchResult:
    """What publishing did to one branch."""

    branch: str
    # The commit fanout created, or None when the branch already held exactly this output ("up to date").
    commit: str | None
    # The branch tip afterwards, and the tip the new commit was built on (None when the branch was created).
    tip: str
    previous: str | None
    # Top-level folders (clusters) whose content differs from the previous tip: changed, added or removed.
    changed_clusters: tuple[str, ...]
    # The remote holds ``tip`` under this branch name.
    pushed: bool

    @property
    def up_to_date(self) -> bool:
        return self.commit is None


@dataclass(frozen=True)
class PublishResult:
    branches: tuple[BranchResult, ...]

    @property
    def changed(self) -> bool:
        return any(not b.up_to_date for b in self.branches)


def publish(
    repo_path: Path,
    files: Mapping[str, bytes],
    *,
    branch: str | None = None,
    per_cluster_prefix: str | None = None,
    source_commit: str,
    into: str | None = None,
    keep: Sequence[str] = (),
    push: bool = False,
    remote: str = "origin",
    force: bool = False,
    max_attempts: int = DEFAULT_ATTEMPTS,
) -> PublishResult:
    """Commit FILES (POSIX paths relative to the output root -> bytes) to BRANCH, or to one branch
    ``<per_cluster_prefix><cluster>`` per top-level folder, in the repository at REPO_PATH.

    The new tree is exactly FILES (placed under INTO when given, the rest of the branch kept), plus the files
    of the previous tip matching a KEEP glob. With PUSH, the branches go to REMOTE; a rejected push is
    fetched, re-committed on the new remote tip and retried, up to MAX_ATTEMPTS times; forced only with FORCE.
    """
    if (branch is None) == (per_cluster_prefix is None):
        raise FanoutError.at("publish needs exactly one of --branch and --per-cluster-prefix")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    _check_files(files)
    plan = _Plan(_check_into(into), tuple(_compile_keep(k) for k in keep), source_commit)
    targets = _targets(files, branch, per_cluster_prefix)
    repo = _open(repo_path)
    try:
        for target in targets:
            _check_branch_name(repo, target.branch)
        _refuse_checked_out(repo, [t.branch for t in targets])
        if push:
            _check_remote(repo, remote)
        return _publish(repo, _ObjectWriter(repo), targets, plan, push, remote, force, max_attempts)
    finally:
        repo.close()


# --- the plan and its targets ---


@dataclass(frozen=True)
class _Plan:
    into: tuple[str, ...]  # the folder of the branch that fanout owns, as path parts; () for the whole branch
    keep: tuple[re.Pattern[str], ...]
    source_commit: str


@dataclass(frozen=True)
class _Target:
    branch: str
    files: Mapping[str, bytes]  # relative to the folder fanout owns on the branch
    cluster: str | None  # the one cluster of a per-cluster branch


def _check_files(files: Mapping[str, bytes]) -> None:
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


def _check_into(into: str | None) -> tuple[str, ...]:
    if into is None:
        return _EMPTY
    parts = tuple(into.replace("\\", "/").strip("/").split("/"))
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        raise FanoutError.at(
            f"--into {into!r}: must be a folder path inside the branch, like team-a or env/prod"
        )
    return parts


def _compile_keep(pattern: str) -> re.Pattern[str]:
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


def _targets(files: Mapping[str, bytes], branch: str | None, prefix: str | None) -> list[_Target]:
    if branch is not None:
        return [_Target(branch, files, None)]
    assert prefix is not None
    by_cluster: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        cluster, sep, rest = path.partition("/")
        if sep:  # a file at the top of the output belongs to no cluster
            by_cluster.setdefault(cluster, {})[rest] = data
    return [_Target(prefix + cluster, by_cluster[cluster], cluster) for cluster in sorted(by_cluster)]


# --- repository checks ---


def _open(repo_path: Path) -> git.Repo:
    try:
        return git.Repo(repo_path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise FanoutError.at(
            f"{repo_path}: not inside a git repository, so there is nothing to publish to"
        ) from None


def _check_branch_name(repo: git.Repo, branch: str) -> None:
    status, _, _ = run_git(repo, "check-ref-format", f"refs/heads/{branch}")
    if status != 0 or branch.startswith("-"):
        raise FanoutError.at(f"{branch!r} is not a valid branch name")


def _refuse_checked_out(repo: git.Repo, branches: Iterable[str]) -> None:
    """Moving a checked-out branch would change what its working tree appears to hold."""
    status, out, err = run_git(repo, "worktree", "list", "--porcelain")
    if status != 0:
        raise FanoutError.at(f"cannot list the worktrees of {repo.git_dir}: {git_reason(err)}")
    checked_out: dict[str, str] = {}
    worktree = ""
    for line in out.splitlines():
        if line.startswith("worktree "):
            worktree = line[len("worktree ") :]
        elif line.startswith("branch refs/heads/"):
            checked_out[line[len("branch refs/heads/") :]] = worktree
    for branch in branches:
        if branch in checked_out:
            raise FanoutError.at(
                f"branch {branch} is checked out in {checked_out[branch]}; fanout never touches a checkout, "
                "so publish to a branch that is not checked out"
            )


def _check_remote(repo: git.Repo, remote: str) -> None:
    status, out, _ = run_git(repo, "remote")
    if status != 0 or remote not in out.split():
        raise FanoutError.at(f"no git remote named {remote!r} (see `git remote -v`); pass --remote NAME")


# --- git objects ---


@dataclass(frozen=True)
class _Leaf:
    """An existing object carried into the new tree: a file, link or submodule, or a whole sub-folder."""

    mode: str  # as git writes it in a tree: 100644, 100755, 120000, 160000, or 40000 for a folder
    sha: bytes


class _Dir:
    """A folder being built."""

    def __init__(self) -> None:
        self.entries: dict[str, _Dir | _Leaf] = {}


class _ObjectWriter:
    """Writes blobs and trees into the object database, each distinct content once per publish."""

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        self._written: dict[tuple[str, bytes], bytes] = {}

    def _store(self, kind: str, data: bytes) -> bytes:
        key = (kind, data)
        sha = self._written.get(key)
        if sha is None:
            sha = bytes(self._repo.odb.store(IStream(kind, len(data), BytesIO(data))).binsha)
            self._written[key] = sha
        return sha

    def folder(self, files: Mapping[str, bytes]) -> _Dir:
        root = _Dir()
        for path in sorted(files):
            *folders, name = path.split("/")
            node = root
            for part in folders:
                child = node.entries.setdefault(part, _Dir())
                assert isinstance(child, _Dir)  # _check_files rules out a file in the way
                node = child
            node.entries[name] = _Leaf(_FILE, self._store("blob", files[path]))
        return root

    def tree(self, node: _Dir) -> bytes | None:
        """Write NODE and its sub-folders; None for a folder with no files (git keeps no empty folders)."""
        items: list[tuple[bytes, str, bytes]] = []
        for name, child in node.entries.items():
            if isinstance(child, _Dir):
                sha = self.tree(child)
                if sha is not None:
                    items.append((name.encode(), _TREE, sha))
            else:
                items.append((name.encode(), child.mode, child.sha))
        if not items:
            return None
        # Git's order: byte-wise by name, a folder sorting as if its name ended in "/".
        items.sort(key=lambda item: item[0] + b"/" if item[1] == _TREE else item[0])
        data = b"".join(mode.encode() + b" " + name + b"\0" + sha for name, mode, sha in items)
        return self._store("tree", data)

    def root_tree(self, node: _Dir) -> bytes:
        return self.tree(node) or self._store("tree", b"")


def _entries(repo: git.Repo, tree: bytes | None) -> dict[str, _Leaf]:
    if tree is None:
        return {}
    data = repo.odb.stream(tree).read()
    return {name: _Leaf(f"{mode:o}", binsha) for binsha, mode, name in tree_entries_from_data(data)}


def _subtree(repo: git.Repo, tree: bytes | None, parts: Sequence[str]) -> bytes | None:
    for part in parts:
        leaf = _entries(repo, tree).get(part)
        if leaf is None or leaf.mode != _TREE:
            return None
        tree = leaf.sha
    return tree


def _walk(repo: git.Repo, tree: bytes | None, prefix: str = "") -> Iterable[tuple[str, _Leaf]]:
    """Every non-folder entry below TREE, with its path."""
    for name, leaf in sorted(_entries(repo, tree).items()):
        path = f"{prefix}{name}"
        if leaf.mode == _TREE:
            yield from _walk(repo, leaf.sha, path + "/")
        else:
            yield path, leaf


def _insert(root: _Dir, path: str, leaf: _Leaf) -> None:
    """Add a kept file unless something fanout rendered occupies its path (the rendered output wins)."""
    *folders, name = path.split("/")
    node = root
    for part in folders:
        child = node.entries.setdefault(part, _Dir())
        if not isinstance(child, _Dir):
            return
        node = child
    node.entries.setdefault(name, leaf)


def _graft(repo: git.Repo, base_tree: bytes | None, parts: Sequence[str], folder: _Dir) -> _Dir:
    """The base tree with the folder at PARTS replaced by FOLDER; everything else carried over whole."""
    root = _Dir()
    root.entries.update(_entries(repo, base_tree))
    node = root
    for part in parts[:-1]:
        existing = node.entries.get(part)
        child = _Dir()
        if isinstance(existing, _Leaf) and existing.mode == _TREE:
            child.entries.update(_entries(repo, existing.sha))
        node.entries[part] = child
        node = child
    node.entries[parts[-1]] = folder
    return root


def _changed_clusters(repo: git.Repo, before: bytes | None, after: bytes | None) -> tuple[str, ...]:
    old, new = _entries(repo, before), _entries(repo, after)
    names = {n for n, leaf in old.items() if leaf.mode == _TREE} | {
        n for n, leaf in new.items() if leaf.mode == _TREE
    }
    return tuple(sorted(n for n in names if old.get(n) != new.get(n)))


# --- commits and branches ---


@dataclass(frozen=True)
class _Refs:
    local: Mapping[str, str]
    tracking: Mapping[str, str]


def _read_refs(repo: git.Repo, remote: str) -> _Refs:
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
    return _Refs(local, tracking)


def _is_ancestor(repo: git.Repo, older: str, newer: str) -> bool:
    return run_git(repo, "merge-base", "--is-ancestor", older, newer)[0] == 0


def _initial_base(repo: git.Repo, refs: _Refs, branch: str) -> str | None:
    """The branch's previous tip: the local branch, or the remote-tracking one when it is newer (a CI checkout
    usually has only ``origin/<branch>``)."""
    local, tracking = refs.local.get(branch), refs.tracking.get(branch)
    if tracking is None or local == tracking:
        return local
    if local is None or _is_ancestor(repo, local, tracking):
        return tracking
    return local


@dataclass(frozen=True)
class _Outcome:
    branch: str
    commit: str | None
    tip: str
    previous: str | None
    changed: tuple[str, ...]

    def result(self, pushed: bool) -> BranchResult:
        return BranchResult(self.branch, self.commit, self.tip, self.previous, self.changed, pushed)


def _build(
    repo: git.Repo, writer: _ObjectWriter, target: _Target, plan: _Plan, base_tree: bytes | None
) -> bytes:
    """The tree SHA of the branch after publishing TARGET on a tip whose tree is BASE_TREE."""
    folder = writer.folder(target.files)
    if plan.keep:
        owned = "/".join(plan.into) + "/" if plan.into else ""
        for path, leaf in _walk(repo, _subtree(repo, base_tree, plan.into)):
            if any(p.fullmatch(owned + path) for p in plan.keep):
                _insert(folder, path, leaf)
    root = _graft(repo, base_tree, plan.into, folder) if plan.into else folder
    return writer.root_tree(root)


def _message(target: _Target, plan: _Plan, changed: Sequence[str], before: set[str], after: set[str]) -> str:
    source = plan.source_commit
    where = f" into {'/'.join(plan.into)}/" if plan.into else ""
    if target.cluster is not None:
        subject = f"Render {source[:12]}{where} for cluster {target.cluster}"
    elif not changed:
        subject = f"Render {source[:12]}{where}"
    elif len(changed) <= 3:
        subject = f"Render {source[:12]}{where} for {', '.join(changed)}"
    else:
        subject = f"Render {source[:12]}{where} for {len(changed)} clusters"
    body = [f"fanout rendered source commit {source}{where}."]
    if target.cluster is None and changed:
        body.append("")
        body.append(f"Clusters changed ({len(changed)}):")
        for name in changed:
            note = " (new)" if name not in before else " (removed)" if name not in after else ""
            body.append(f"- {name}{note}")
    trailers = [f"Fanout-Source-Commit: {source}", f"Fanout-Version: {fanout.__version__}"]
    return "\n".join([subject, "", *body, "", *trailers]) + "\n"


def _commit_target(
    repo: git.Repo, writer: _ObjectWriter, target: _Target, plan: _Plan, base: str | None, local: str | None
) -> _Outcome:
    """Commit TARGET on BASE unless that changes nothing; move the local branch (at LOCAL) to the result."""
    if base is not None and _is_ancestor(repo, plan.source_commit, base):
        # An output branch never contains source commits; replacing this one's tree would wipe the source.
        raise FanoutError.at(
            f"branch {target.branch} contains the source commit {plan.source_commit[:12]}: it holds the "
            "source, not rendered output; publish to another branch"
        )
    base_tree = bytes(repo.commit(base).tree.binsha) if base else None
    tree = _build(repo, writer, target, plan, base_tree)
    if base is not None and tree == base_tree:
        outcome = _Outcome(target.branch, None, base, base, _EMPTY)
    else:
        before_root = _subtree(repo, base_tree, plan.into)
        after_root = _subtree(repo, tree, plan.into)
        changed = (
            (target.cluster,)
            if target.cluster is not None
            else _changed_clusters(repo, before_root, after_root)
        )
        names_before = {n for n, leaf in _entries(repo, before_root).items() if leaf.mode == _TREE}
        names_after = {n for n, leaf in _entries(repo, after_root).items() if leaf.mode == _TREE}
        message = _message(target, plan, changed, names_before, names_after)
        parents = ["-p", base] if base else []
        status, out, err = run_git(repo, "commit-tree", tree.hex(), *parents, "-m", message)
        if status != 0:
            raise FanoutError.at(
                f"git cannot create the commit for branch {target.branch}: {git_reason(err)} "
                "(set user.name and user.email with git config)"
            )
        outcome = _Outcome(target.branch, out.strip(), out.strip(), base, changed)
    if outcome.tip != local:
        null = "0" * len(outcome.tip)
        status, _, err = run_git(
            repo,
            "update-ref",
            "-m",
            f"fanout publish {plan.source_commit[:12]}",
            f"refs/heads/{target.branch}",
            outcome.tip,
            local or null,
        )
        if status != 0:
            raise FanoutError.at(
                f"branch {target.branch} moved while fanout published to it ({git_reason(err)}); run it again"
            )
    return outcome


# --- pushing ---

_RETRYABLE_REMOTE = ("lock", "failed to update ref", "incorrect old value", "stale info")


def _push(repo: git.Repo, remote: str, outcomes: Sequence[_Outcome], force: bool) -> set[str]:
    """Push every outcome's tip; return the branches rejected because the remote moved on."""
    plus = "+" if force else ""
    refspecs = [f"{plus}{o.tip}:refs/heads/{o.branch}" for o in outcomes]
    status, out, err = run_git(repo, "push", "--porcelain", remote, *refspecs, env=NO_PROMPT_ENV)
    reports: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and len(fields[0]) == 1:
            _, _, dst = fields[1].partition(":")
            reports[dst.removeprefix("refs/heads/")] = (fields[0], fields[2])
    rejected: set[str] = set()
    failures: list[str] = []
    for o in outcomes:
        flag, summary = reports.get(o.branch, ("?", ""))
        if flag in (" ", "+", "*", "="):
            continue
        if flag == "!" and (
            summary.startswith("[rejected]")
            or (summary.startswith("[remote rejected]") and any(r in summary for r in _RETRYABLE_REMOTE))
        ):
            rejected.add(o.branch)
        else:
            failures.append(f"{o.branch}: {summary or git_reason(err)}")
    if failures:
        raise FanoutError.at(f"cannot push to {remote}: {'; '.join(failures)}")
    if status != 0 and not rejected:
        raise FanoutError.at(f"cannot push to {remote}: {git_reason(err)}")
    return rejected


def _fetch(repo: git.Repo, remote: str, branches: Iterable[str]) -> dict[str, str]:
    """Fetch BRANCHES from REMOTE into their remote-tracking refs; return their new tips."""
    names = sorted(branches)
    refspecs = [f"+refs/heads/{b}:refs/remotes/{remote}/{b}" for b in names]
    status, _, err = run_git(repo, "fetch", "--quiet", "--no-tags", remote, *refspecs, env=NO_PROMPT_ENV)
    if status != 0:
        raise FanoutError.at(f"cannot fetch from {remote}: {git_reason(err)}")
    tracking = _read_refs(repo, remote).tracking
    return {b: tracking[b] for b in names}


def _publish(
    repo: git.Repo,
    writer: _ObjectWriter,
    targets: Sequence[_Target],
    plan: _Plan,
    push: bool,
    remote: str,
    force: bool,
    max_attempts: int,
) -> PublishResult:
    refs = _read_refs(repo, remote)
    local = dict(refs.local)
    bases = {t.branch: _initial_base(repo, refs, t.branch) for t in targets}
    results: dict[str, BranchResult] = {}
    pending = list(targets)
    for attempt in range(1, max_attempts + 1):
        outcomes = [
            _commit_target(repo, writer, t, plan, bases[t.branch], local.get(t.branch)) for t in pending
        ]
        local.update({o.branch: o.tip for o in outcomes})
        rejected = _push(repo, remote, outcomes, force) if push and outcomes else set()
        results.update({o.branch: o.result(pushed=push) for o in outcomes if o.branch not in rejected})
        if not rejected:
            return PublishResult(tuple(results[t.branch] for t in targets))
        if attempt == max_attempts:
            break
        # Someone published first: build the same output again on top of what they pushed.
        bases.update(_fetch(repo, remote, rejected))
        pending = [t for t in pending if t.branch in rejected]
    names = ", ".join(sorted(rejected))
    raise FanoutError.at(
        f"push of {names} to {remote} was rejected {max_attempts} times as others kept publishing first; "
        "run fanout publish again"
    )
