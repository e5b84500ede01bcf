"""``fanout publish``: render a source commit and commit the output to branches (fanout.output.publish)."""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import git

from fanout.commands.common import choose_clusters, open_resolved
from fanout.core.cachefile import write_quietly
from fanout.core.errors import FanoutError, Problem
from fanout.core.model import Inputs
from fanout.output.cache import cache_dir, cluster_digests, code_digest
from fanout.output.contents import FileTree
from fanout.output.cores import default_jobs
from fanout.output.folder import MARKER, is_temporary
from fanout.output.hydrator import Hydrator
from fanout.output.parallel import render_files
from fanout.output.publish import BranchResult, publish
from fanout.render.place import ClusterPlan, plan
from fanout.source.git import (
    ResolvedSource,
    git_timeout,
    is_git_url,
    object_kinds,
    redact_url,
    resolve_source,
)

# Past this many, the summary line names the first few changed clusters and counts the rest.
_NAMED_CLUSTERS = 8


@dataclass(frozen=True)
class Options:
    branch: str | None
    per_cluster_prefix: str | None
    ref: str | None
    cache_dir: Path | None
    into: str | None
    keep: Sequence[str]
    push: bool
    remote: str
    force: bool
    from_dir: Path | None
    allow_rollback: bool = False
    clusters: Sequence[str] = ()
    selector: str | None = None
    per_cluster_branch: str | None = None
    prune: bool = False
    hydrator_metadata: bool = False


def phase_notes() -> Callable[[str], None]:
    """What a long publish is doing, on stderr when a person watches (a terminal); nothing in CI logs."""
    if not sys.stderr.isatty():
        return lambda _text: None
    return lambda text: print(f"fanout: {text}", file=sys.stderr, flush=True)


def _render(inputs: Inputs, plans: Sequence[ClusterPlan]) -> FileTree:
    """Every file of ``plans``, keyed ``<cluster>/<path>``, rendered on every core (the same bytes); the
    bytes are read from the compressed contents when the git objects are made."""
    rendered = render_files(inputs, plans, default_jobs())
    return FileTree.of([(c.name, c.paths, c.digests) for c in rendered.clusters], rendered.contents)


def run(source: str, options: Options, echo: Callable[[str], None]) -> int:
    note = phase_notes()
    note("loading the source")
    resolved = _resolve(source, options)
    assert (
        resolved.commit is not None and resolved.repo_path is not None
    )  # read from a commit, in a repository
    inputs = open_resolved(source, resolved).inputs
    only = choose_clusters(inputs, options.clusters, options.selector)
    trees: dict[str, str] = {}
    digests: dict[str, str] = {}
    if options.from_dir is not None:
        files: Mapping[str, bytes] = read_output_folder(options.from_dir)
        check_coverage(
            options.from_dir, files, only if only is not None else {c.name for c in inputs.clusters}
        )
    else:
        plans = plan(inputs, only)
        if not options.hydrator_metadata:
            # Clusters whose inputs are unchanged since a publish into this repository are not rendered:
            # their folder's tree is reused by its SHA.
            digests = cluster_digests(inputs, plans, code_digest())
            trees = reusable_trees(resolved.repo_path, digests, options.cache_dir)
        todo = tuple(p for p in plans if p.cluster.name not in trees)
        note(f"rendering {len(todo)} of {len(plans)} clusters (the others are as last published)")
        files = _render(inputs, todo)
    note("writing git objects" + (" and pushing" if options.push else ""))
    result = publish(
        resolved.repo_path,
        files,
        branch=options.branch,
        per_cluster_prefix=options.per_cluster_prefix,
        source_commit=resolved.commit,
        into=options.into,
        keep=options.keep,
        push=options.push,
        remote=options.remote,
        force=options.force,
        allow_rollback=options.allow_rollback,
        clusters=only,
        branch_template=options.per_cluster_branch,
        prune=options.prune,
        hydrator=hydrator_of(resolved, options) if options.hydrator_metadata else None,
        trees=trees,
    )
    if digests:
        built = {name: sha for b in result.branches for name, sha in b.cluster_trees.items()}
        remember_trees(
            resolved.repo_path, {digests[n]: built[n] for n in digests if n in built}, options.cache_dir
        )
    for branch in result.branches:
        echo(describe(branch, options.remote))
    if not result.branches:
        echo("fanout: nothing to publish: the output has no cluster folders")
    if result.stale:
        names = ", ".join(result.stale)
        if result.pruned:
            echo(f"fanout: deleted {len(result.stale)} branches of clusters no longer rendered: {names}")
        else:
            echo(f"fanout: branches of clusters no longer rendered (delete them with --prune): {names}")
    return 0


def _trees_file(repo: Path, folder: Path | None) -> Path:
    key = hashlib.sha256(str(repo.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir(folder) / "publish" / f"{key}.json"


def reusable_trees(repo: Path, digests: Mapping[str, str], folder: Path | None) -> dict[str, str]:
    """cluster -> the tree SHA its inputs gave when last published here, if the repository still has it."""
    try:
        known = json.loads(_trees_file(repo, folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(known, dict):
        return {}
    wanted = {name: known[d] for name, d in digests.items() if isinstance(known.get(d), str)}
    if not wanted:
        return {}
    try:
        kinds = object_kinds(repo, wanted.values())
    except FanoutError:  # a cache lookup: without it, the trees are only built again
        return {}
    return {name: sha for name, sha in wanted.items() if kinds.get(sha) == "tree"}


def remember_trees(repo: Path, trees: Mapping[str, str], folder: Path | None) -> None:
    """Keep digest -> tree SHA for the next publish (a cache: failing to write it only costs time)."""
    path = _trees_file(repo, folder)
    try:
        known = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        if not isinstance(known, dict):
            known = {}
        known.update(trees)
    except (OSError, ValueError):
        return
    write_quietly(path, json.dumps(known, sort_keys=True).encode("utf-8"))


def check_coverage(folder: Path, files: Mapping[str, bytes], wanted: Iterable[str]) -> None:
    """The folders must hold exactly the clusters to publish: a missing shard would delete clusters."""
    present = {path.split("/", 1)[0] for path in files if "/" in path}
    expected = set(wanted)
    missing, extra = sorted(expected - present), sorted(present - expected)
    problems = []
    if missing:
        problems.append(
            f"--from-dir {folder} lacks {len(missing)} of the clusters to publish ({', '.join(missing)});"
            " publishing it would remove them from the branch: render every shard into it first"
        )
    if extra:
        problems.append(
            f"--from-dir {folder} holds folders that are not clusters to publish ({', '.join(extra)})"
        )
    if problems:
        raise FanoutError(Problem(p) for p in problems)


def hydrator_of(resolved: ResolvedSource, options: Options) -> Hydrator:
    """The dry commit's facts and the commands that reproduce the render, for ``hydrator.metadata``, read as
    Argo CD reads them (``RevisionMetadata``, ``hydrator.GetCommitMetadata``; argoproj/argo-cd 37ee0097cf85):
    the message trimmed, the subject up to the first blank line, the body without valid
    ``Argocd-reference-commit-*`` trailers, which become ``references``; the author date in UTC."""
    assert resolved.repo_path is not None and resolved.commit is not None
    repo = git.Repo(resolved.repo_path)
    try:
        commit = repo.commit(resolved.commit)
        message = str(commit.message).strip()
        remote = ""
        with contextlib.suppress(Exception):  # a repository without the remote: leave the URL empty
            remote = redact_url(str(repo.remote(options.remote).url))
        subject, _, body = message.partition("\n\n")
        parsed = subprocess.run(
            ["git", "interpret-trailers", "--parse"],
            input=message,
            capture_output=True,
            text=True,
            check=False,
            timeout=git_timeout(),
            cwd=resolved.repo_path,
        )
        references, _ = argo_references(parsed.stdout if parsed.returncode == 0 else "")
        _, kept = argo_references(body)
        date = datetime.fromtimestamp(commit.authored_date, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Hydrator(
            remote if remote else (resolved.url or ""),
            f"{commit.author.name} <{commit.author.email}>",
            date,
            subject,
            kept,
            resolved.subdir or ".",
            tuple(references),
        )
    finally:
        repo.close()


_SHA = re.compile(r"^[0-9a-f]{5,40}$")
_TRAILER = "Argocd-reference-commit-"
_FIELDS = {
    "repourl": "repoUrl",
    "author": "author",
    "date": "date",
    "subject": "subject",
    "body": "body",
    "sha": "sha",
}


def argo_references(text: str) -> tuple[list[dict[str, Any]], str]:
    """The ``Argocd-reference-commit-*`` trailers of ``text`` as Argo CD's ``GetReferences`` reads them (a
    valid one per field; an invalid one stays in the text), and the text without them, each line ending in
    a newline."""
    commit: dict[str, str] = {}
    kept = []
    for line in text.splitlines():
        value = _trailer(line)
        if value is None:
            kept.append(line + "\n")
        else:
            commit[value[0]] = value[1]
    order = ("author", "date", "subject", "body", "sha", "repoUrl")
    found = [{"commit": {k: commit[k] for k in order if commit.get(k)}}] if commit else []
    return found, "".join(kept)


def _trailer(line: str) -> tuple[str, str] | None:
    if not line.startswith(_TRAILER) or ": " not in line:
        return None
    key, value = line.split(": ", 1)
    name = _FIELDS.get(key[len(_TRAILER) :])
    if name is None:
        return None
    if name == "author":
        display, address = email.utils.parseaddr(value)
        if "@" not in address:
            return None
        # mail.Address.String(): the name always quoted, then the address in angle brackets.
        quoted = display.replace("\\", "\\\\").replace('"', '\\"')
        return name, (f'"{quoted}" <{address}>' if display else f"<{address}>")
    if name == "date":
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            return None
        text = when.isoformat()
        return name, text.replace("+00:00", "Z")
    if name == "body":
        try:
            decoded = json.loads(value)
        except ValueError:
            return None
        return (name, decoded) if isinstance(decoded, str) else None
    if name == "sha" and not _SHA.match(value):
        return None
    return name, value


def _resolve(source: str, options: Options) -> ResolvedSource:
    """The commit to publish: REF, or HEAD of a source whose root has no uncommitted changes."""
    if is_git_url(source):
        if not options.push:
            raise FanoutError.at(
                f"{source}: a URL source is published into fanout's cache clone of it; add --push so that "
                "the branch reaches the remote"
            )
        return resolve_source(source, ref=options.ref, cache_dir=options.cache_dir)
    if options.ref is None:
        here = resolve_source(source, check_dirty=True)
        if here.repo_path is None:
            raise FanoutError.at(f"{source}: not inside a git repository; publish commits to a branch of one")
        if here.dirty:
            raise FanoutError.at(
                f"{source}: has uncommitted changes, so the output would match no commit; commit them, or "
                "pass --ref to publish a commit (--ref HEAD ignores the changes)"
            )
    return resolve_source(source, ref=options.ref or "HEAD")


class FolderFiles(Mapping[str, bytes]):
    """The files of a folder by POSIX path, each read when asked: a sharded fleet's combined output is too
    large to hold (the git objects are made from it file by file, and a file is read again to be written;
    ``ObjectWriter`` refuses one whose bytes changed in between)."""

    def __init__(self, folder: Path, paths: Iterable[str]) -> None:
        self._folder = folder
        self._root = f"{folder}/"  # (strings, not Paths: pathlib's parsing was a third of a publish's time)
        self._paths = dict.fromkeys(paths)

    def __getitem__(self, path: str) -> bytes:
        if path not in self._paths:
            raise KeyError(path)
        try:
            with open(self._root + path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise FanoutError.at(
                f"--from-dir {self._folder}: cannot read {path}: {exc.strerror or exc}"
            ) from None

    def __contains__(self, path: object) -> bool:
        return path in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def read_output_folder(folder: Path) -> FolderFiles:
    """Every file of an output folder written by ``fanout render`` (or several shards of it), except the
    marker, keyed by POSIX path (read when asked)."""
    if not folder.is_dir():
        raise FanoutError.at(f"--from-dir {folder}: no such folder")
    paths: list[str] = []
    root = str(folder)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        below = Path(dirpath).relative_to(root).as_posix()  # once a folder, not once a file
        prefix = "" if below == "." else f"{below}/"
        for name in filenames:
            relative = prefix + name
            if relative != MARKER and not is_temporary(relative):
                paths.append(relative)
    return FolderFiles(folder, paths)


def describe(result: BranchResult, remote: str) -> str:
    pushed = f", pushed to {remote}" if result.pushed else ""
    if result.up_to_date:
        return f"fanout: {result.branch}: up to date at {result.tip[:12]}{pushed}"
    names = list(result.changed_clusters)
    shown = ", ".join(names[:_NAMED_CLUSTERS]) + (
        f" and {len(names) - _NAMED_CLUSTERS} more" if len(names) > _NAMED_CLUSTERS else ""
    )
    changed = f"{len(names)} cluster{'s' if len(names) != 1 else ''} changed" + (
        f" ({shown})" if names else ""
    )
    created = "" if result.previous else " (new branch)"
    return f"fanout: {result.branch}: committed {result.tip[:12]}{created}, {changed}{pushed}"
