"""Helpers for tests that need real git repositories.

They drive the git command line directly (not GitPython), so the code under test is checked against git
itself rather than against the library it is written with.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FileContent = str | bytes


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    """Run git in CWD, fail the test on a non-zero exit, return stdout without the final newline."""
    done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}:\n{done.stderr.decode(errors='replace')}")
    return done.stdout.decode().rstrip("\n")


def configure_identity(repo: Path) -> None:
    git(repo, "config", "user.name", "fanout tests")
    git(repo, "config", "user.email", "tests@fanout.invalid")
    git(repo, "config", "commit.gpgsign", "false")


def write_files(root: Path, files: Mapping[str, FileContent]) -> None:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)


def init_repo(path: Path, files: Mapping[str, FileContent] | None = None, message: str = "initial") -> Path:
    """A new repository on branch main; with FILES, they are written and committed."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "-b", "main")
    configure_identity(path)
    if files:
        write_files(path, files)
        commit_all(path, message)
    return path


def init_bare(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--bare", "-b", "main")
    return path


def clone(url: str, dest: Path) -> Path:
    git(dest.parent, "clone", "--quiet", url, str(dest))
    configure_identity(dest)
    return dest


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return head(repo)


def head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}")


def ref_exists(repo: Path, ref: str) -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", ref], cwd=repo, capture_output=True, check=False
    )
    return done.returncode == 0


def file_url(path: Path) -> str:
    return path.resolve().as_uri()


@dataclass(frozen=True)
class RepoState:
    """Everything fanout promises not to touch: HEAD (and what it points at), the index, the working tree."""

    head_ref: str
    head: str
    index: bytes
    status: str
    worktree: Mapping[str, bytes]


def snapshot(repo: Path) -> RepoState:
    head_ref = git(repo, "symbolic-ref", "--quiet", "HEAD")
    index_file = Path(git(repo, "rev-parse", "--git-path", "index"))
    index = (index_file if index_file.is_absolute() else repo / index_file).read_bytes()
    # Optional locks off, so that taking the snapshot does not refresh the index itself.
    done = subprocess.run(
        ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        check=True,
    )
    worktree = {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }
    return RepoState(head_ref, head(repo), index, done.stdout.decode(), worktree)


def tree_files(repo: Path, rev: str) -> dict[str, bytes]:
    """Every file of REV's tree: path -> content."""
    listing = git(repo, "ls-tree", "-r", "-z", "--name-only", rev)
    return {
        path: subprocess.run(
            ["git", "cat-file", "blob", f"{rev}:{path}"], cwd=repo, capture_output=True, check=True
        ).stdout
        for path in listing.split("\0")
        if path
    }


def trailers(repo: Path, commit: str) -> dict[str, str]:
    """The commit message's trailers, as git itself parses them."""
    message = git(repo, "log", "-1", "--format=%B", commit).encode()
    parsed = git(repo, "interpret-trailers", "--parse", input=message)
    found: dict[str, str] = {}
    for line in parsed.splitlines():
        key, _, value = line.partition(":")
        found[key.strip()] = value.strip()
    return found


def commit_count(repo: Path, rev: str) -> int:
    return int(git(repo, "rev-list", "--count", rev))


def changed_paths(repo: Path, commit: str) -> list[str]:
    """Paths COMMIT changed against its first parent (or all of them for a root commit)."""
    out = git(repo, "diff-tree", "--root", "-r", "--no-commit-id", "--name-only", "-z", commit)
    return sorted(p for p in out.split("\0") if p)
