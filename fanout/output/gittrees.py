"""Git objects written in process: blobs, deterministic trees and the repository checks before them.

Blobs, trees and commits go straight into the object database (loose objects), so the working tree, the
index and the checked-out branch are never touched: the same files give the same tree SHA.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import git
from git.exc import InvalidGitRepositoryError, NoSuchPathError
from git.objects.fun import tree_entries_from_data

from fanout.core.errors import FanoutError
from fanout.output.contents import FileTree
from fanout.source.git import git_reason, git_timeout, object_kinds, run_git

TREE = "40000"
FILE = "100644"

# --- repository checks ---


def open_repo(repo_path: Path) -> git.Repo:
    try:
        return git.Repo(repo_path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise FanoutError.at(
            f"{repo_path}: not inside a git repository, so there is nothing to publish to"
        ) from None


def check_branch_name(repo: git.Repo, branch: str) -> None:
    status, _, _ = run_git(repo, "check-ref-format", f"refs/heads/{branch}")
    # git's own rules for a branch name (`git check-ref-format --branch`, which would also expand @{-1}):
    # not "HEAD", which a refs/heads/HEAD would make ambiguous in every later git command, nor a leading "-".
    if status != 0 or branch.startswith("-") or branch == "HEAD":
        raise FanoutError.at(f"{branch!r} is not a valid branch name")


def refuse_checked_out(repo: git.Repo, branches: Iterable[str]) -> None:
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


def check_remote(repo: git.Repo, remote: str) -> None:
    status, out, _ = run_git(repo, "remote")
    if status != 0 or remote not in out.split():
        raise FanoutError.at(f"no git remote named {remote!r} (see `git remote -v`); pass --remote NAME")


# --- git objects ---


@dataclass(frozen=True)
class Leaf:
    """An existing object carried into the new tree: a file, link or submodule, or a whole sub-folder."""

    mode: str  # as git writes it in a tree: 100644, 100755, 120000, 160000, or 40000 for a folder
    sha: bytes


class Dir:
    """A folder being built."""

    def __init__(self) -> None:
        self.entries: dict[str, Dir | Leaf] = {}
        self.sha: bytes | None = None  # once written


class _Again(NamedTuple):
    """Where a blob's bytes are read again when it is written."""

    files: Mapping[str, bytes]
    path: str

    def read(self) -> bytes:
        return self.files[self.path]


class ObjectWriter:
    """Blobs and trees, hashed in process and written only when the repository lacks them.

    GitPython's default object database starts a ``git`` process per object written (11,433 processes for
    a 200-cluster publish). Here every object is hashed with hashlib first; ``flush`` asks git once
    (``cat-file --batch-check``) which of them it already has, and writes the others itself: as loose
    objects when they are few, else as one pack that ``git index-pack`` checks and indexes. A publish that
    changes nothing never calls ``flush`` and so writes nothing at all.
    """

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        # sha -> (kind, the data or where to read it again), not known to be stored. A file's bytes are not
        # kept: a publish of 200,000 distinct objects would hold them all (they are read again to be written).
        self._pending: dict[bytes, tuple[str, bytes | _Again]] = {}
        self._of_digest: dict[str, bytes] = {}  # a ``FileTree`` content digest -> its blob's sha
        self.written = 0

    def _store(self, kind: str, data: bytes, again: _Again | None = None) -> bytes:
        sha = hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).digest()
        if sha not in self._pending:
            self._pending[sha] = (kind, data if again is None else again)
        return sha

    def _blob(self, files: Mapping[str, bytes], path: str) -> bytes:
        """The blob sha of ``files[path]``; files with the same content digest are hashed once."""
        if not isinstance(files, FileTree):
            return self._store("blob", files[path], _Again(files, path))
        digest = files.digest(path)
        sha = self._of_digest.get(digest)
        if sha is None:
            sha = self._of_digest[digest] = self._store("blob", files[path], _Again(files, path))
        elif sha not in self._pending:  # flushed since: git is asked about it again, at the next flush
            self._pending[sha] = ("blob", _Again(files, path))
        return sha

    def flush(self) -> None:
        """Store every object hashed so far that the repository does not have yet."""
        if not self._pending:
            return
        shas = list(self._pending)
        todo: list[bytes] = []
        # Asked in parts: git's answer about 200,000 objects, parsed at once, took 60 MB.
        for at in range(0, len(shas), ASK_AT_ONCE):
            part = shas[at : at + ASK_AT_ONCE]
            kinds = object_kinds(self._repo.git_dir, (sha.hex() for sha in part))
            missing = {sha for sha, kind in kinds.items() if kind is None}
            todo += [sha for sha in part if sha.hex() in missing]
        objects = Path(self._repo.common_dir) / "objects"
        if len(todo) >= PACK_FROM:
            self._write_pack(todo)
        else:
            for sha in todo:
                kind, data = self._object(sha)
                write_loose(objects, sha.hex(), f"{kind} {len(data)}\0".encode() + data)
        self.written += len(todo)
        self._pending.clear()

    def _object(self, sha: bytes) -> tuple[str, bytes]:
        """A pending object's kind and bytes; a file read again must still hash to ``sha`` (a folder that
        changed while fanout published it would otherwise give a tree naming an object nobody wrote)."""
        kind, held = self._pending[sha]
        if not isinstance(held, _Again):
            return kind, held
        data = held.read()
        if hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).digest() != sha:
            raise FanoutError.at(f"{held.path} changed while it was being published; publish again")
        return kind, data

    def _write_pack(self, objects: Sequence[bytes]) -> None:
        """Store ``objects`` as one pack (git's pack format, version 2, no deltas), indexed and checked by
        ``git index-pack``: one file instead of a loose file per object (four times faster at 50,000)."""
        process = subprocess.Popen(
            ["git", "index-pack", "--stdin"],
            cwd=self._repo.git_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdin is not None
        digest = hashlib.sha1()

        def send(part: bytes) -> None:
            digest.update(part)
            process.stdin.write(part)  # type: ignore[union-attr]

        try:
            send(b"PACK" + (2).to_bytes(4, "big") + len(objects).to_bytes(4, "big"))
            for sha in objects:
                kind, data = self._object(sha)
                send(_pack_header(_PACK_TYPES[kind], len(data)) + zlib.compress(data, 1))
            process.stdin.write(digest.digest())
        except BrokenPipeError:  # git stopped reading: its error follows
            pass
        except BaseException:  # a file that changed under fanout: git gets no pack, and is not left behind
            process.kill()
            process.communicate()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        # Only now: git says nothing on a pipe until it is done, so nothing waits on a full pipe.
        assert process.stderr is not None and process.stdout is not None
        err = process.stderr.read()
        process.stdout.read()
        if process.wait(timeout=git_timeout()) != 0:
            raise FanoutError.at(
                f"cannot write objects into {self._repo.git_dir}: {git_reason(err.decode(errors='replace'))}"
            )

    def folder(self, files: Mapping[str, bytes], extra: Mapping[str, bytes] | None = None) -> Dir:
        """The folder of ``files`` and ``extra`` (which wins where both have a path), its blobs hashed."""
        root = Dir()
        more = extra or {}
        for path in sorted({*files, *more}):
            *folders, name = path.split("/")
            node = root
            for part in folders:
                child = node.entries.setdefault(part, Dir())
                assert isinstance(child, Dir)  # check_files rules out a file in the way
                node = child
            node.entries[name] = Leaf(FILE, self._blob(more if path in more else files, path))
        return root

    def tree(self, node: Dir) -> bytes | None:
        """Write NODE and its sub-folders; None for a folder with no files (git keeps no empty folders)."""
        items: list[tuple[bytes, str, bytes]] = []
        for name, child in node.entries.items():
            if isinstance(child, Dir):
                sha = child.sha = self.tree(child)
                if sha is not None:
                    items.append((name.encode(), TREE, sha))
            else:
                items.append((name.encode(), child.mode, child.sha))
        if not items:
            return None
        # Git's order: byte-wise by name, a folder sorting as if its name ended in "/".
        items.sort(key=lambda item: item[0] + b"/" if item[1] == TREE else item[0])
        data = b"".join(mode.encode() + b" " + name + b"\0" + sha for name, mode, sha in items)
        return self._store("tree", data)

    def root_tree(self, node: Dir) -> bytes:
        return self.tree(node) or self._store("tree", b"")


# How many objects one ``git cat-file --batch-check`` is asked about.
ASK_AT_ONCE = 20_000

# From this many new objects on, one pack instead of loose objects.
PACK_FROM = 256
_PACK_TYPES = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}


def _pack_header(kind: int, size: int) -> bytes:
    """A pack entry's type and size: 3 bits of type and 4 of size, then 7 bits of size a byte, low first."""
    out = bytearray()
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def write_loose(objects: Path, hexsha: str, raw: bytes) -> None:
    """A loose object, as git writes one: zlib-compressed, renamed into place once complete."""
    folder = objects / hexsha[:2]
    target = folder / hexsha[2:]
    if target.exists():
        return
    folder.mkdir(exist_ok=True)
    # A name of this process and object only (git's own temporary objects start with tmp_obj_ too),
    # created exclusively: cheaper than mkstemp's random names, and safe across threads.
    tmp = folder / f"tmp_obj_{os.getpid()}_{hexsha}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o444)
    except FileExistsError:  # left by a killed process that had this process's number: garbage
        tmp.unlink()
        fd = os.open(tmp, flags, 0o444)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(zlib.compress(raw, 1))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def entries(repo: git.Repo, tree: bytes | None) -> dict[str, Leaf]:
    if tree is None:
        return {}
    data = repo.odb.stream(tree).read()
    return {name: Leaf(f"{mode:o}", binsha) for binsha, mode, name in tree_entries_from_data(data)}


def subtree(repo: git.Repo, tree: bytes | None, parts: Sequence[str]) -> bytes | None:
    for part in parts:
        leaf = entries(repo, tree).get(part)
        if leaf is None or leaf.mode != TREE:
            return None
        tree = leaf.sha
    return tree


def walk(repo: git.Repo, tree: bytes | None, prefix: str = "") -> Iterable[tuple[str, Leaf]]:
    """Every non-folder entry below TREE, with its path."""
    for name, leaf in sorted(entries(repo, tree).items()):
        path = f"{prefix}{name}"
        if leaf.mode == TREE:
            yield from walk(repo, leaf.sha, path + "/")
        else:
            yield path, leaf


def insert(root: Dir, path: str, leaf: Leaf) -> None:
    """Add a kept file unless something fanout rendered occupies its path (the rendered output wins)."""
    *folders, name = path.split("/")
    node = root
    for part in folders:
        child = node.entries.setdefault(part, Dir())
        if not isinstance(child, Dir):
            return
        node = child
    node.entries.setdefault(name, leaf)


def graft(repo: git.Repo, base_tree: bytes | None, parts: Sequence[str], folder: Dir) -> Dir:
    """The base tree with the folder at PARTS replaced by FOLDER; everything else carried over whole."""
    root = Dir()
    root.entries.update(entries(repo, base_tree))
    node = root
    for part in parts[:-1]:
        existing = node.entries.get(part)
        child = Dir()
        if isinstance(existing, Leaf) and existing.mode == TREE:
            child.entries.update(entries(repo, existing.sha))
        node.entries[part] = child
        node = child
    node.entries[parts[-1]] = folder
    return root


def changed_clusters(repo: git.Repo, before: bytes | None, after: bytes | None) -> tuple[str, ...]:
    old, new = entries(repo, before), entries(repo, after)
    names = {n for n, leaf in old.items() if leaf.mode == TREE} | {
        n for n, leaf in new.items() if leaf.mode == TREE
    }
    return tuple(sorted(n for n in names if old.get(n) != new.get(n)))
