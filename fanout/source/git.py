"""Read a source root out of git: a commit of a local repository, or of a remote URL kept in a cache.

Everything here reads git objects (trees and blobs) directly, so the working tree, the index and
HEAD of the user's repository are never touched, even when they hold uncommitted changes.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fanout.core.errors import FanoutError, Location
from fanout.core.lock import exclusive, lock_file
from fanout.source.tree import LINKED_FOLDER, OUTSIDE, SUBMODULE, DirectorySource, Refused, SourceTree

if TYPE_CHECKING:
    import git

_TREE_MODE = 0o040000
_SYMLINK_MODE = 0o120000
_GITLINK_MODE = 0o160000
_MAX_SYMLINK_HOPS = 16

# fanout runs in CI jobs and git hooks, where a credential prompt would hang forever; a source URL is
# untrusted input, so only the plain transports are allowed (not ext:: or fd::, which run commands or
# read standard input).
NO_PROMPT_ENV: Mapping[str, str] = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ALLOW_PROTOCOL": "https:ssh:git:file",
    "GIT_PROTOCOL_FROM_USER": "0",
}
# Seconds any one git command may take (a fetch of a big repository included); FANOUT_GIT_TIMEOUT changes it.
DEFAULT_GIT_TIMEOUT = 600
# `git status` refreshes and rewrites the index when it can; fanout leaves the index byte-identical.
_NO_OPTIONAL_LOCKS_ENV: Mapping[str, str] = {"GIT_OPTIONAL_LOCKS": "0"}

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# scp-like syntax, as git understands it: [user@]host:path, with a host of at least two characters so that a
# Windows drive letter (C:\...) is never mistaken for one.
_SCP_LIKE = re.compile(r"^(?:[^@/:\\]+@)?[^@/:\\]{2,}:")
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/@]*@")


def run_git(
    repo: git.Repo | git.Git, *args: str, env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """Run ``git <args>`` and return (status, stdout, stderr) without raising; callers turn failures into
    FanoutErrors with git's own explanation."""
    import git  # GitPython costs a tenth of a second to import: only commands that read git pay it

    runner = repo.git if isinstance(repo, git.Repo) else repo
    status, out, err = runner.execute(
        ["git", *args],
        with_extended_output=True,
        with_exceptions=False,
        env=dict(env) if env else None,
        istream=subprocess.DEVNULL,  # never wait for input that will not come
        kill_after_timeout=git_timeout(),
    )
    return int(status or 0), str(out), str(err)


# The status ``git_answer`` gives a command that ran past ``git_timeout`` (and was killed).
GIT_TIMED_OUT = -1


def start_git(cwd: str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``git <args>`` in ``cwd``, started and not waited for: ``git_answer`` takes its answer. Without
    GitPython (a tenth of a second to import), with its conventions: no standard input, messages in English
    (``git_reason`` reads "fatal:")."""
    return subprocess.Popen(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **(env or {}), "LANGUAGE": "C", "LC_ALL": "C"},
        stdin=subprocess.DEVNULL,  # never wait for input that will not come
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def git_answer(process: subprocess.Popen[bytes]) -> tuple[int, bytes, str]:
    """A started git's exit status, output and error text; ``GIT_TIMED_OUT`` (the process killed) when it
    runs past ``git_timeout``."""
    try:
        out, err = process.communicate(timeout=git_timeout())
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return GIT_TIMED_OUT, b"", f"fatal: timed out after {git_timeout():g} s (FANOUT_GIT_TIMEOUT)"
    return process.returncode, out, err.decode("utf-8", "replace")


def git_timeout() -> float:
    try:
        return float(os.environ.get("FANOUT_GIT_TIMEOUT", DEFAULT_GIT_TIMEOUT))
    except ValueError:
        return DEFAULT_GIT_TIMEOUT


def object_kinds(cwd: str | os.PathLike[str], shas: Iterable[str]) -> dict[str, str | None]:
    """Each object's kind (``blob``, ``tree``, ...) in the repository at ``cwd``, None where it lacks the
    object: one ``git cat-file --batch-check`` for them all."""
    done = subprocess.run(
        ["git", "cat-file", "--batch-check"],
        input="".join(f"{sha}\n" for sha in shas),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=git_timeout(),
        check=False,
    )
    if done.returncode != 0:
        raise FanoutError.at(f"cannot read the objects of {cwd}: {git_reason(done.stderr)}")
    # "<sha> <kind> <size>" for an object the repository has, "<sha> missing" for one it lacks.
    kinds: dict[str, str | None] = {}
    for line in done.stdout.splitlines():
        sha, _, rest = line.partition(" ")
        kinds[sha] = None if rest == "missing" else rest.split(" ", 1)[0]
    return kinds


def git_reason(stderr: str) -> str:
    """The most useful single line of a failed git command's stderr."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else "git failed"


def redact_url(url: str) -> str:
    """The URL without a password, so that tokens never reach logs or error messages."""
    return _URL_PASSWORD.sub(r"\1:***@", url)


def is_git_url(source: str) -> bool:
    """Whether SOURCE names a remote repository rather than a local folder."""
    if _URL_SCHEME.match(source):
        return True
    if Path(source).exists():
        return False
    return bool(_SCP_LIKE.match(source))


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/fanout``, else ``~/.cache/fanout`` (a relative XDG_CACHE_HOME is ignored)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "fanout"


def resolve_commit(repo: git.Repo, ref: str) -> str:
    """The full SHA of the commit REF names (branch, tag, SHA, ``HEAD~2``); FanoutError if none."""
    if not ref or ref.startswith("-"):
        raise FanoutError.at(f"--ref {ref!r}: not a valid git revision")
    if re.fullmatch(r"[\w./-]+", ref) and not ref.startswith("refs/"):
        # git would pick one silently (the tag); a renderer must not guess which commit is meant.
        _, found, _ = run_git(
            repo, "for-each-ref", "--format=%(refname)", f"refs/heads/{ref}", f"refs/tags/{ref}"
        )
        names = [line for line in found.splitlines() if line]
        if len(names) > 1:
            raise FanoutError.at(
                f"--ref {ref} names both a branch and a tag; write heads/{ref} or tags/{ref}"
            )
    status, out, _ = run_git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if status != 0 or not out.strip():
        raise FanoutError.at(f"--ref {ref}: no such branch, tag or commit in {_repo_label(repo)}")
    return out.strip()


def _repo_label(repo: git.Repo) -> str:
    return str(repo.working_tree_dir or repo.git_dir)


def _normalize(path: str) -> str | None:
    """A POSIX path relative to the root, or None when it would leave the root."""
    if path in ("", "."):
        return ""
    norm = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    if norm == ".":
        return ""
    if norm == ".." or norm.startswith("../"):
        return None
    return norm


class GitTreeSource:
    """A source root read from one commit's tree objects; implements ``fanout.source.tree.SourceTree``."""

    def __init__(self, repo: git.Repo, commit: str, root: str = "", label: str | None = None) -> None:
        """COMMIT is a full SHA (see ``resolve_commit``); ROOT is the source root inside the repository."""
        self.repo = repo
        self.commit = commit
        norm = _normalize(root)
        if norm is None:
            raise FanoutError.at(f"{root}: the source root must be inside the repository")
        self.root = norm
        self._label = label if label is not None else (self.root or ".")
        self._commit_tree = repo.commit(commit).tree
        root_tree = self._commit_tree
        if self.root:
            try:
                found = self._commit_tree / self.root
            except KeyError:
                found = None
            if found is None or found.type != "tree":
                raise FanoutError.at(
                    f"{self._label}: no such folder in commit {commit[:12]} (the path is {self.root!r} "
                    "inside the repository)"
                )
            root_tree = found
        self._root_tree_sha = root_tree.hexsha
        self._entries: dict[str, tuple[int, bytes]] | None = None

    @property
    def description(self) -> str:
        return f"{self._label}@{self.commit[:12]}"

    def _index(self) -> dict[str, tuple[int, bytes]]:
        """Every blob and symlink below the root: path -> (mode, binary SHA). One ``ls-tree`` for the lot."""
        if self._entries is None:
            status, out, err = run_git(self.repo, "ls-tree", "-r", "-z", self._root_tree_sha)
            if status != 0:
                raise FanoutError.at(f"{self.description}: cannot list the tree: {git_reason(err)}")
            entries: dict[str, tuple[int, bytes]] = {}
            for record in out.split("\0"):
                if not record:
                    continue
                meta, _, path = record.partition("\t")
                mode_text, _kind, sha = meta.split(" ")
                mode = int(mode_text, 8)  # a gitlink is a submodule's commit: listed to be refused
                entries[path] = (mode, bytes.fromhex(sha))
            self._entries = entries
        return self._entries

    def _blob(self, binsha: bytes) -> bytes:
        return bytes(self.repo.odb.stream(binsha).read())

    def _follow(self, path: str) -> bytes | None:
        """The blob SHA that PATH (relative to the root) ends up at after following symlinks, resolved inside
        the commit as a checkout would; None for a missing file, a folder, or a link leaving the repo."""
        entry = self._index().get(path)
        if entry is None:
            return None
        mode, binsha = entry
        repo_path = posixpath.join(self.root, path) if self.root else path
        for _ in range(_MAX_SYMLINK_HOPS):
            if mode != _SYMLINK_MODE:
                return binsha
            target = os.fsdecode(self._blob(binsha))
            if target.startswith("/"):
                return None
            joined = _normalize(posixpath.join(posixpath.dirname(repo_path), target))
            if not joined or (self.root and not joined.startswith(self.root + "/")):
                return None  # leaves the source root, as DirectorySource refuses it
            try:
                obj = self._commit_tree / joined
            except KeyError:
                return None
            if obj.type != "blob":
                return None
            mode, binsha, repo_path = obj.mode, obj.binsha, joined
        return None

    def read(self, path: str) -> bytes | None:
        norm = _normalize(path)
        if not norm:
            return None
        entry = self._index().get(norm)
        if entry is None or entry[0] == _GITLINK_MODE:
            return None
        binsha = self._follow(norm)
        if binsha is None and entry[0] == _SYMLINK_MODE:
            raise FanoutError.at(OUTSIDE, Location(norm))
        return None if binsha is None else self._blob(binsha)

    def _walk(self, folder: str) -> tuple[list[str], list[Refused]]:
        """The same files, and the same refusals, as DirectorySource finds in a checkout of the commit."""
        prefix = _normalize(folder)
        if prefix is None:
            return [], []
        found: list[str] = []
        refused: list[Refused] = []
        for path, (mode, _) in self._index().items():
            if prefix:
                if not path.startswith(prefix + "/"):
                    if path == prefix and mode == _SYMLINK_MODE:
                        refused.append(Refused(path, LINKED_FOLDER))
                    continue
                rest = path[len(prefix) + 1 :]
            else:
                rest = path
            # Same rule as DirectorySource: hidden folders below the listed folder are skipped.
            if any(part.startswith(".") for part in rest.split("/")[:-1]):
                continue
            if mode == _GITLINK_MODE:
                if not rest.startswith("."):
                    refused.append(Refused(path, SUBMODULE))
                continue
            if mode == _SYMLINK_MODE and self._follow(path) is None:
                why = LINKED_FOLDER if self._links_to_tree(path) else OUTSIDE
                refused.append(Refused(path, why))
                continue
            found.append(path)
        return sorted(found), sorted(refused)

    def _links_to_tree(self, path: str) -> bool:
        target = os.fsdecode(self._blob(self._index()[path][1]))
        repo_path = posixpath.join(self.root, path) if self.root else path
        joined = _normalize(posixpath.join(posixpath.dirname(repo_path), target))
        if not joined or (self.root and not joined.startswith(self.root + "/")):
            return False
        try:
            return bool((self._commit_tree / joined).type == "tree")
        except KeyError:
            return False

    def list_files(self, folder: str) -> list[str]:
        return self._walk(folder)[0]

    def refused(self, folder: str) -> list[Refused]:
        return self._walk(folder)[1]


@dataclass(frozen=True)
class ResolvedSource:
    """What a command reads, and the git facts about where it came from."""

    tree: SourceTree
    # The repository: its working tree root, or its git dir when it has none (a bare or cached clone).
    # None when the source is a folder outside any repository.
    repo_path: Path | None
    # The source root inside the repository, POSIX, "" for the top.
    subdir: str
    # The commit read, or None when the working tree is read.
    commit: str | None
    # The source root has uncommitted or untracked changes in the working tree; None when not asked for
    # (``check_dirty``), as `git status` costs time in a large repository.
    dirty: bool | None
    # The URL (password removed) for a remote source.
    url: str | None = None


def resolve_source(
    source: str, *, ref: str | None = None, cache_dir: Path | None = None, check_dirty: bool = False
) -> ResolvedSource:
    """Decide what SOURCE (a folder, or a git URL with an optional ``#sub/folder``) at REF means.

    Without REF a local folder is read from disk. With REF, or for a URL, the source root is read from the
    commit's tree objects. Every failure is a FanoutError with one line.
    """
    if is_git_url(source):
        return _resolve_url(source, ref, cache_dir if cache_dir is not None else default_cache_dir())
    return _resolve_local(source, ref, check_dirty)


def _find_repo(path: Path) -> git.Repo | None:
    """The repository holding PATH, searching from its nearest existing ancestor upwards."""
    import git
    from git.exc import InvalidGitRepositoryError, NoSuchPathError

    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        repo = git.Repo(probe, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None
    if repo.working_tree_dir is not None and "GIT_WORK_TREE" in os.environ:
        # Git exports GIT_WORK_TREE to hooks; it must not pair another working tree with this repository.
        repo.git.update_environment(GIT_WORK_TREE=os.fspath(repo.working_tree_dir))
    return repo


def _is_dirty(repo: git.Repo, subdir: str) -> bool:
    status, out, err = run_git(
        repo,
        "status",
        "--porcelain",
        "-z",
        "--untracked-files=all",
        "--",
        f":(top,literal){subdir}" if subdir else ":(top)",
        env=_NO_OPTIONAL_LOCKS_ENV,
    )
    if status != 0:
        raise FanoutError.at(f"{_repo_label(repo)}: git status failed: {git_reason(err)}")
    return bool(out.strip("\0\n"))


def _looks_bare(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _resolve_local(source: str, ref: str | None, check_dirty: bool) -> ResolvedSource:
    path = Path(source).expanduser()
    absolute = path.resolve()
    if ref is None and not check_dirty and absolute.is_dir() and not _looks_bare(absolute):
        # The working tree as it is on disk: nothing to ask git, so GitPython is not even imported.
        if ".git" in absolute.parts:
            raise FanoutError.at(f"{source}: inside the .git folder, not a source folder")
        return ResolvedSource(DirectorySource(path), None, "", None, None)
    repo = _find_repo(absolute)
    if repo is None:
        if ref is not None:
            raise FanoutError.at(f"{source}: not inside a git repository, so --ref {ref} cannot be read")
        if not absolute.is_dir():
            raise FanoutError.at(f"{source}: no such folder")
        return ResolvedSource(DirectorySource(path), None, "", None, False)

    if repo.bare or repo.working_tree_dir is None:
        # A bare repository has nothing to read but commits.
        repo_root = Path(repo.git_dir).resolve()
        if absolute != repo_root:
            raise FanoutError.at(f"{source}: inside the git dir of {repo_root}, not a source folder")
        commit = resolve_commit(repo, ref or "HEAD")
        return ResolvedSource(GitTreeSource(repo, commit, "", source), repo_root, "", commit, False)

    repo_root = Path(repo.working_tree_dir).resolve()
    try:
        subdir = absolute.relative_to(repo_root).as_posix()
    except ValueError:
        # Only when GIT_DIR / GIT_WORK_TREE point elsewhere (as inside a git hook). The folder itself can
        # still be read from disk; a commit of it cannot be found.
        if ref is None and not check_dirty and absolute.is_dir():
            return ResolvedSource(DirectorySource(path), None, "", None, None)
        raise FanoutError.at(f"{source}: not inside the working tree of {repo_root}") from None
    subdir = "" if subdir == "." else subdir
    if subdir == ".git" or subdir.startswith(".git/"):
        raise FanoutError.at(f"{source}: inside the .git folder, not a source folder")
    if ref is None:
        if not absolute.is_dir():
            raise FanoutError.at(f"{source}: no such folder")
        dirty = _is_dirty(repo, subdir) if check_dirty else None
        return ResolvedSource(DirectorySource(path), repo_root, subdir, None, dirty)
    commit = resolve_commit(repo, ref)
    tree = GitTreeSource(repo, commit, subdir, source)
    return ResolvedSource(tree, repo_root, subdir, commit, _is_dirty(repo, subdir) if check_dirty else None)


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def cache_path(cache_dir: Path, url: str) -> Path:
    """Where the clone of URL lives: one bare repository per URL, named by a hash of it."""
    return cache_dir / "repos" / (hashlib.sha256(url.encode("utf-8")).hexdigest()[:32] + ".git")


def _resolve_url(source: str, ref: str | None, cache_dir: Path) -> ResolvedSource:
    url, _, fragment = source.partition("#")
    subdir = _normalize(fragment)
    shown = redact_url(url)
    if subdir is None:
        raise FanoutError.at(f"{shown}#{fragment}: the source root must be inside the repository")
    # One fetch at a time per clone: two runs fetching into one repository race on its refs.
    with exclusive(lock_file(cache_dir, "clone", url), f"the cached clone of {shown}", True, _say):
        repo = _update_cache(url, cache_path(cache_dir, url))
    if ref is None:
        status, out, _ = run_git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        if status != 0:
            raise FanoutError.at(f"{shown}: the remote has no default branch; pass --ref")
        commit = out.strip()
    else:
        commit = _resolve_remote_ref(repo, ref, shown)
    label = f"{shown}#{subdir}" if subdir else shown
    tree = GitTreeSource(repo, commit, subdir, label)
    return ResolvedSource(tree, Path(repo.git_dir), subdir, commit, False, shown)


def _resolve_remote_ref(repo: git.Repo, ref: str, shown: str) -> str:
    try:
        return resolve_commit(repo, ref)
    except FanoutError:
        if ref.startswith("-"):
            raise
    # Not a branch or tag of the remote: it may still be a commit or ref the server hands out on request
    # (a SHA not on any branch, refs/pull/1/head).
    status, _, _ = run_git(repo, "fetch", "--quiet", "--no-tags", "origin", ref, env=NO_PROMPT_ENV)
    if status == 0:
        status, out, _ = run_git(repo, "rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}")
        if status == 0 and out.strip():
            return out.strip()
    raise FanoutError.at(f"--ref {ref}: no such branch, tag or commit in {shown}")


def _update_cache(url: str, target: Path) -> git.Repo:
    """Fetch URL into its cached bare clone, cloning it first when the cache has none (or a broken one)."""
    import git
    from git.exc import InvalidGitRepositoryError, NoSuchPathError

    shown = redact_url(url)
    if (target / "HEAD").is_file():
        try:
            repo = git.Repo(target)
        except (InvalidGitRepositoryError, NoSuchPathError):
            shutil.rmtree(target, ignore_errors=True)
        else:
            _fetch_all(repo, f"cannot fetch {shown}")
            return repo
    target.parent.mkdir(parents=True, exist_ok=True)
    # Clone next to the target and rename at the end, so that an interrupted clone never looks like a cache.
    staging = Path(tempfile.mkdtemp(prefix=".clone-", dir=target.parent))
    try:
        repo = git.Repo.init(staging, bare=True)
        run_git(repo, "remote", "add", "origin", url)
        # Branches and tags only, mirrored onto local names (a --mirror clone would also drag in refs/pull/*).
        run_git(repo, "config", "--replace-all", "remote.origin.fetch", "+refs/heads/*:refs/heads/*")
        run_git(repo, "config", "--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*")
        _fetch_all(repo, f"cannot clone {shown}")
        repo.close()
        try:
            staging.rename(target)
        except OSError:
            # Another fanout cloned the same URL at the same time; use theirs.
            shutil.rmtree(staging, ignore_errors=True)
            if not (target / "HEAD").is_file():
                raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return git.Repo(target)


def _fetch_all(repo: git.Repo, failure: str) -> None:
    status, _, err = run_git(repo, "fetch", "--quiet", "--prune", "origin", env=NO_PROMPT_ENV)
    if status != 0:
        raise FanoutError.at(f"{failure}: {git_reason(err)}")
    # Follow the remote's default branch, which may have changed since the clone.
    status, out, _ = run_git(repo, "ls-remote", "--symref", "origin", "HEAD", env=NO_PROMPT_ENV)
    for line in out.splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            run_git(repo, "symbolic-ref", "HEAD", line[len("ref: ") : -len("\tHEAD")])
            break
