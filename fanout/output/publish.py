"""Publish a rendered tree to output branches, built from git objects.

Blobs, trees and commits are written straight into the object database and branches are moved with
``update-ref``, so the working tree, the index and the checked-out branch are never touched and
uncommitted changes do not matter. Trees are deterministic: the same files give the same tree SHA.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import git
from git.exc import InvalidGitRepositoryError, NoSuchPathError
from git.objects.fun import tree_entries_from_data

import fanout
from fanout.core.errors import FanoutError
from fanout.source.git import NO_PROMPT_ENV, git_reason, git_timeout, run_git

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
    # Each cluster's folder in the published tree, by its tree SHA (for reuse by the next publish).
    cluster_trees: Mapping[str, str] = field(default_factory=dict)

    @property
    def up_to_date(self) -> bool:
        return self.commit is None


@dataclass(frozen=True)
class PublishResult:
    branches: tuple[BranchResult, ...]
    # Per-cluster branches of clusters that are no longer rendered; deleted with ``prune``.
    stale: tuple[str, ...] = ()
    pruned: bool = False

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
    allow_rollback: bool = False,
    clusters: Collection[str] | None = None,
    branch_template: str | None = None,
    prune: bool = False,
    hydrator: Hydrator | None = None,
    trees: Mapping[str, str] | None = None,
) -> PublishResult:
    """Commit FILES (POSIX paths relative to the output root -> bytes) to BRANCH, or to one branch
    ``<per_cluster_prefix><cluster>`` per top-level folder, in the repository at REPO_PATH.

    The new tree is exactly FILES (placed under INTO when given, the rest of the branch kept), plus the files
    of the previous tip matching a KEEP glob. With PUSH, the branches go to REMOTE; a rejected push is
    fetched, re-committed on the new remote tip and retried, up to MAX_ATTEMPTS times; forced only with FORCE.

    A branch whose output came from a newer source commit is not rolled back unless ALLOW_ROLLBACK. With
    CLUSTERS (a subset), the other clusters' folders of the branch are kept. BRANCH_TEMPLATE (``{cluster}``
    for the name) is the general form of PER_CLUSTER_PREFIX. HYDRATOR adds what Argo CD's hydrator
    tooling reads; PRUNE deletes the per-cluster branches of clusters no longer rendered. TREES (cluster ->
    tree SHA, from an earlier publish of the same inputs) stand for clusters that were not rendered again.
    """
    if per_cluster_prefix is not None:
        branch_template = per_cluster_prefix + "{cluster}"
    if (branch is None) == (branch_template is None):
        raise FanoutError.at("publish needs exactly one of --branch and --per-cluster-branch")
    if branch_template is not None and branch_template.count("{cluster}") != 1:
        raise FanoutError.at(
            f"--per-cluster-branch {branch_template!r}: write {{cluster}} once where the name goes"
        )
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    _check_files(files)
    chosen = frozenset(clusters) if clusters is not None else None
    plan = _Plan(
        _check_into(into),
        tuple(_compile_keep(k) for k in keep),
        source_commit,
        allow_rollback,
        chosen,
        hydrator,
        remote if push else None,
    )
    targets = _targets(files, branch, branch_template, trees or {})
    repo = _open(repo_path)
    try:
        for target in targets:
            _check_branch_name(repo, target.branch)
        _refuse_checked_out(repo, [t.branch for t in targets])
        if push:
            _check_remote(repo, remote)
        result = _publish(repo, _ObjectWriter(repo), targets, plan, push, remote, force, max_attempts)
        if branch_template is None:
            return result
        stale = _stale_branches(repo, remote, branch_template, {t.cluster for t in targets}, chosen)
        if prune and stale:
            _prune(repo, remote, stale, push)
        return replace(result, stale=stale, pruned=prune and bool(stale))
    finally:
        repo.close()


@dataclass(frozen=True)
class Hydrator:
    """What Argo CD's source hydrator and GitOps Promoter read from a rendered branch (``hydrator.metadata``).

    As Argo CD's commit server writes them (argoproj/argo-cd at 37ee0097cf85, ``commitserver/commit/
    hydratorhelper.go`` and ``util/hydrator/hydrator.go``): the top-level file holds the dry commit (repoURL,
    drySha, author, date, subject, body without its ``Argocd-reference-commit-*`` trailers, references); each
    cluster's holds repoURL, drySha and the commands that reproduce it. ``commands`` reproduce the render.
    """

    repo_url: str
    author: str
    date: str  # RFC 3339, UTC, as Argo CD formats the dry commit's date
    subject: str
    body: str  # without the reference trailers
    source_root: str  # the source root inside the repository, for the commands
    references: tuple[Mapping[str, Any], ...] = ()

    def commands(self, cluster: str | None) -> list[str]:
        only = f" -c {cluster}" if cluster else ""
        return [f"fanout render{only} --output-dir rendered {self.source_root}"]

    def metadata(self, source_commit: str, cluster: str | None) -> bytes:
        """``hydrator.metadata``: the dry commit at the top (``cluster`` None), the commands per cluster."""
        if cluster is not None:
            fields: dict[str, Any] = {
                "repoURL": self.repo_url,
                "drySha": source_commit,
                "commands": self.commands(cluster),
            }
        else:
            fields = {
                "repoURL": self.repo_url,
                "drySha": source_commit,
                "author": self.author,
                "date": self.date,
                "subject": self.subject,
                "body": self.body,
                "references": list(self.references),
            }
        return go_json({k: v for k, v in fields.items() if v})  # omitempty

    def readme(self, source_commit: str, cluster: str | None) -> bytes:
        commands = self.commands(cluster)
        what = f"cluster {cluster}" if cluster else "every cluster"
        lines = [
            f"# Rendered manifests for {what}",
            "",
            "Generated by fanout: do not edit. To reproduce them, run:",
            "",
            "```shell",
            f"git clone {self.repo_url}",
            "# cd into the cloned directory",
            f"git checkout {source_commit}",
            *commands,
            "```",
            "",
        ]
        return "\n".join(lines).encode("utf-8")


def go_json(value: Any) -> bytes:
    """JSON as Go's ``json.Encoder`` with two-space indent and no HTML escaping writes it (a newline at the
    end; U+2028 and U+2029 escaped, which Go always does)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return (text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n").encode("utf-8")


HYDRATOR_FILES = ("hydrator.metadata", "README.md")
# Argo CD's own .gitattributes (gitAttributesContents): only these are generated, so a promotion pull request
# still shows the manifests' diffs.
GITATTRIBUTES = b"**/README.md linguist-generated=true\n**/hydrator.metadata linguist-generated=true"


# --- the plan and its targets ---


@dataclass(frozen=True)
class _Plan:
    into: tuple[str, ...]  # the folder of the branch that fanout owns, as path parts; () for the whole branch
    keep: tuple[re.Pattern[str], ...]
    source_commit: str
    allow_rollback: bool = False
    clusters: frozenset[str] | None = None  # a subset: other clusters' folders are kept
    hydrator: Hydrator | None = None
    remote: str | None = None  # where to look for a source commit this clone lacks (with --push)


@dataclass(frozen=True)
class _Target:
    branch: str
    files: Mapping[str, bytes]  # relative to the folder fanout owns on the branch
    cluster: str | None  # the one cluster of a per-cluster branch
    trees: Mapping[str, str] = field(default_factory=dict)  # folder -> an existing tree SHA to use whole
    built: dict[str, str] = field(default_factory=dict)  # cluster -> its folder's tree SHA, once built


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


def _targets(
    files: Mapping[str, bytes], branch: str | None, template: str | None, trees: Mapping[str, str]
) -> list[_Target]:
    if branch is not None:
        return [_Target(branch, files, None, trees)]
    assert template is not None
    by_cluster: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        cluster, sep, rest = path.partition("/")
        if sep:  # a file at the top of the output belongs to no cluster
            by_cluster.setdefault(cluster, {})[rest] = data
    return [
        _Target(
            template.replace("{cluster}", name),
            by_cluster.get(name, {}),
            name,
            {"": trees[name]} if name in trees else {},
        )
        for name in sorted(set(by_cluster) | set(trees))
    ]


def _stale_branches(
    repo: git.Repo, remote: str, template: str, rendered: set[str | None], chosen: frozenset[str] | None
) -> tuple[str, ...]:
    """Branches the template names for clusters that were not rendered (none when publishing a subset)."""
    if chosen is not None:
        return ()
    head, tail = template.split("{cluster}")
    pattern = re.compile(re.escape(head) + r"([a-z0-9]([-a-z0-9]*[a-z0-9])?)" + re.escape(tail))
    refs = _read_refs(repo, remote)
    names = set(refs.local) | set(refs.tracking)
    return tuple(
        sorted(n for n in names if (m := pattern.fullmatch(n)) is not None and m.group(1) not in rendered)
    )


def _prune(repo: git.Repo, remote: str, branches: Sequence[str], push: bool) -> None:
    refs = _read_refs(repo, remote)
    for name in branches:
        if name in refs.local:
            run_git(repo, "update-ref", "-d", f"refs/heads/{name}", refs.local[name])
    if push:
        gone = [f":refs/heads/{n}" for n in branches if n in refs.tracking]
        if gone:
            status, _, err = run_git(repo, "push", "--porcelain", remote, *gone, env=NO_PROMPT_ENV)
            if status != 0:
                raise FanoutError.at(f"cannot delete stale branches on {remote}: {git_reason(err)}")


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
        self.sha: bytes | None = None  # once written


class _ObjectWriter:
    """Blobs and trees, hashed in process and written only when the repository lacks them.

    GitPython's default object database starts a ``git`` process per object written (11,433 processes for
    a 200-cluster publish). Here every object is hashed with hashlib first; ``flush`` asks git once
    (``cat-file --batch-check``) which of them it already has, and writes the others as loose objects
    itself. A publish that changes nothing never calls ``flush`` and so writes nothing at all.
    """

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        self._hashed: dict[tuple[str, bytes], bytes] = {}
        self._pending: dict[bytes, tuple[str, bytes]] = {}  # sha -> (kind, data), not known to be stored
        self.written = 0

    def _store(self, kind: str, data: bytes) -> bytes:
        key = (kind, data)
        sha = self._hashed.get(key)
        if sha is None:
            sha = hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).digest()
            self._hashed[key] = sha
            self._pending[sha] = key
        return sha

    def flush(self) -> None:
        """Store every object hashed so far that the repository does not have yet."""
        if not self._pending:
            return
        shas = list(self._pending)
        listing = "".join(sha.hex() + "\n" for sha in shas)
        done = subprocess.run(
            ["git", "cat-file", "--batch-check"],
            input=listing,
            capture_output=True,
            text=True,
            cwd=self._repo.git_dir,
            timeout=git_timeout(),
            check=False,
        )
        if done.returncode != 0:
            raise FanoutError.at(
                f"cannot read the objects of {self._repo.git_dir}: {git_reason(done.stderr)}"
            )
        missing = {line.split(" ", 1)[0] for line in done.stdout.splitlines() if line.endswith(" missing")}
        objects = Path(self._repo.common_dir) / "objects"
        for sha in shas:
            if sha.hex() in missing:
                kind, data = self._pending[sha]
                _write_loose(objects, sha.hex(), f"{kind} {len(data)}\0".encode() + data)
                self.written += 1
        self._pending.clear()

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
                sha = child.sha = self.tree(child)
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


def _write_loose(objects: Path, hexsha: str, raw: bytes) -> None:
    """A loose object, as git writes one: zlib-compressed, renamed into place once complete."""
    folder = objects / hexsha[:2]
    target = folder / hexsha[2:]
    if target.exists():
        return
    folder.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="tmp_obj_")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(zlib.compress(raw, 1))
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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

    trees: Mapping[str, str] = field(default_factory=dict)

    def result(self, pushed: bool) -> BranchResult:
        return BranchResult(
            self.branch, self.commit, self.tip, self.previous, self.changed, pushed, self.trees
        )


def _hydrator_files(target: _Target, plan: _Plan) -> dict[str, bytes]:
    """The files Argo CD's hydrator tooling reads, relative to the folder fanout owns on the branch."""
    hydrator = plan.hydrator
    if hydrator is None:
        return {}
    source = plan.source_commit
    if target.cluster is not None:
        return {
            "hydrator.metadata": hydrator.metadata(source, target.cluster),
            "README.md": hydrator.readme(source, target.cluster),
            ".gitattributes": GITATTRIBUTES,
        }
    files = {"hydrator.metadata": hydrator.metadata(source, None), ".gitattributes": GITATTRIBUTES}
    for cluster in sorted({p.split("/", 1)[0] for p in target.files if "/" in p}):
        files[f"{cluster}/hydrator.metadata"] = hydrator.metadata(source, cluster)
        files[f"{cluster}/README.md"] = hydrator.readme(source, cluster)
    return files


def _build(
    repo: git.Repo,
    writer: _ObjectWriter,
    target: _Target,
    plan: _Plan,
    base_tree: bytes | None,
    extra: Mapping[str, bytes] | None = None,
) -> bytes:
    """The tree SHA of the branch after publishing TARGET (and EXTRA files) on a tip with tree BASE_TREE."""
    folder = writer.folder({**target.files, **(extra or {})})
    for name, sha in target.trees.items():
        if name:
            folder.entries.setdefault(name, _Leaf(_TREE, bytes.fromhex(sha)))
        else:  # a per-cluster branch whose whole tree is reused: its extra files go on top of it
            for entry, leaf in _entries(repo, bytes.fromhex(sha)).items():
                folder.entries.setdefault(entry, leaf)
    if plan.clusters is not None and target.cluster is None:
        # A subset of the clusters: the others' folders (and the top-level files) of the branch stay.
        for name, leaf in _entries(repo, _subtree(repo, base_tree, plan.into)).items():
            if name not in plan.clusters:
                folder.entries.setdefault(name, leaf)
    if plan.keep:
        owned = "/".join(plan.into) + "/" if plan.into else ""
        for path, leaf in _walk(repo, _subtree(repo, base_tree, plan.into)):
            if any(p.fullmatch(owned + path) for p in plan.keep):
                _insert(folder, path, leaf)
    root = _graft(repo, base_tree, plan.into, folder) if plan.into else folder
    tree = writer.root_tree(root)
    if target.cluster is not None:
        target.built[target.cluster] = tree.hex()
    else:
        for name, child in folder.entries.items():
            found = child.sha if isinstance(child, _Dir) else child.sha if child.mode == _TREE else None
            if found is not None:
                target.built[name] = found.hex()
    return tree


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


SYNC_SUFFIX = "-next"  # GitOps Promoter's hydrated branch beside its sync branch
_SOURCE_TRAILER = re.compile(r"^Fanout-Source-Commit: ([0-9a-f]{40})$", re.MULTILINE)
NOTES_REF = "refs/notes/hydrator.metadata"


def _refuse_rollback(repo: git.Repo, branch: str, tip: str, source: str, remote: str | None) -> None:
    """Refuse to commit an older source's output over a newer one's (checked again on every retry)."""
    found = _SOURCE_TRAILER.findall(str(repo.commit(tip).message))
    published = found[-1] if found else None
    if published is None or published == source:
        return

    def known() -> bool:
        return run_git(repo, "cat-file", "-e", f"{published}^{{commit}}")[0] == 0

    if not known() and remote is not None:
        # Another publisher's source commit, pushed after this clone was made: ask the remote for it.
        run_git(repo, "fetch", "--quiet", "--no-tags", remote, published, env=NO_PROMPT_ENV)
    if not known():
        return  # the branch holds another repository's output (--into): nothing to compare with
    if _is_ancestor(repo, source, published):
        raise FanoutError.at(
            f"branch {branch} holds the output of source commit {published[:12]}, which is newer than"
            f" {source[:12]}: publishing {source[:12]} would roll it back; pass --allow-rollback to do that"
            " on purpose"
        )


def _carried(
    repo: git.Repo, base_tree: bytes | None, into: Sequence[str], wanted: Iterable[str]
) -> dict[str, bytes]:
    """Those of the hydrator files ``wanted`` that the base tip holds, as it holds them."""
    root = _subtree(repo, base_tree, into)
    carried: dict[str, bytes] = {}
    for path in wanted:
        *folders, name = path.split("/")
        leaf = _entries(repo, _subtree(repo, root, folders)).get(name)
        if leaf is not None and leaf.mode != _TREE:
            carried[path] = bytes(repo.odb.stream(leaf.sha).read())
    return carried


def _hydrated(
    repo: git.Repo, writer: _ObjectWriter, target: _Target, plan: _Plan, base_tree: bytes | None
) -> tuple[bytes, bool]:
    """The tree with Argo CD's hydrator files, and whether no manifest changed (WriteForPaths): the top-level
    files are written every time, a cluster's hydrator.metadata and README.md only where its manifests
    changed (the others keep the base's, so their drySha does not move)."""
    fresh = _hydrator_files(target, plan)

    def per_cluster(path: str) -> bool:
        return (target.cluster is not None and path != ".gitattributes") or "/" in path

    if base_tree is None:
        return _build(repo, writer, target, plan, base_tree, fresh), False
    carried = _carried(repo, base_tree, plan.into, [p for p in fresh if per_cluster(p)])
    trial = _build(repo, writer, target, plan, base_tree, {**fresh, **carried})
    if target.cluster is not None:
        changed: set[str] = {target.cluster} if trial != base_tree else set()
    else:
        # The trial tree is not written yet: compare the cluster folders _build recorded with the base's.
        old = {
            name: leaf.sha.hex()
            for name, leaf in _entries(repo, _subtree(repo, base_tree, plan.into)).items()
            if leaf.mode == _TREE
        }
        changed = {n for n in old.keys() | target.built.keys() if old.get(n) != target.built.get(n)}
    if not changed:
        return base_tree, True
    files = {
        p: (b if not per_cluster(p) or _cluster_of(target, p) in changed else carried.get(p, b))
        for p, b in fresh.items()
    }
    return _build(repo, writer, target, plan, base_tree, files), False


def _cluster_of(target: _Target, path: str) -> str | None:
    return target.cluster if target.cluster is not None else path.split("/", 1)[0]


def _note(repo: git.Repo, tip: str, plan: _Plan) -> None:
    """Record the dry commit a commit was hydrated from (Argo CD's AddNote: ``{"drySha": ...}``)."""
    assert plan.hydrator is not None
    note = json.dumps({"drySha": plan.source_commit})
    status, _, err = run_git(repo, "notes", f"--ref={NOTES_REF}", "add", "-f", "-m", note, tip)
    if status != 0:
        raise FanoutError.at(f"cannot write the git note on {tip[:12]}: {git_reason(err)}")


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
    if base is not None and not plan.allow_rollback:
        _refuse_rollback(repo, target.branch, base, plan.source_commit, plan.remote)
    base_tree = bytes(repo.commit(base).tree.binsha) if base else None
    if plan.hydrator is None:
        tree = _build(repo, writer, target, plan, base_tree)
        unchanged = base is not None and tree == base_tree
    else:
        tree, unchanged = _hydrated(repo, writer, target, plan, base_tree)
        if unchanged:
            # No manifest changed: as Argo CD's commit server, no commit, and a note names the new dry commit.
            assert base is not None
            _note(repo, base, plan)
    if unchanged:
        assert base is not None
        outcome = _Outcome(target.branch, None, base, base, _EMPTY, dict(target.built))
    else:
        writer.flush()  # only now: a publish that changes nothing writes no object
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
        outcome = _Outcome(target.branch, out.strip(), out.strip(), base, changed, dict(target.built))
        if plan.hydrator is not None:
            _note(repo, out.strip(), plan)  # every hydrated commit names its dry commit (AddNote)
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
    if plan.hydrator is not None:
        # Argo CD's commit server checks a new target branch out from its sync branch (CheckoutOrNew), so that
        # GitOps Promoter's `<branch>-next` starts at `<branch>` and its pull request shows only what changes.
        for name, found in bases.items():
            if found is None and name.endswith(SYNC_SUFFIX):
                bases[name] = _initial_base(repo, refs, name[: -len(SYNC_SUFFIX)])
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
            if (
                push
                and plan.hydrator is not None
                and run_git(repo, "rev-parse", "--verify", "-q", NOTES_REF)[0] == 0
            ):
                status, _, err = run_git(repo, "push", remote, f"{NOTES_REF}:{NOTES_REF}", env=NO_PROMPT_ENV)
                if status != 0:
                    raise FanoutError.at(
                        f"the branches were pushed, but not the notes {NOTES_REF}: {git_reason(err)}"
                    )
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
