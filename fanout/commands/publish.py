"""``fanout publish``: render a source commit and commit the output to branches (see ``fanout.publish``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fanout.commands.common import open_resolved
from fanout.errors import FanoutError
from fanout.gitsource import ResolvedSource, is_git_url, resolve_source
from fanout.output import MARKER
from fanout.pipeline import render
from fanout.publish import BranchResult, publish

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


def run(source: str, options: Options, echo: Callable[[str], None]) -> int:
    resolved = _resolve(source, options)
    assert (
        resolved.commit is not None and resolved.repo_path is not None
    )  # read from a commit, in a repository
    if options.from_dir is not None:
        files = read_output_folder(options.from_dir)
    else:
        files = render(open_resolved(source, resolved).inputs).files()
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
    )
    for branch in result.branches:
        echo(describe(branch, options.remote))
    if not result.branches:
        echo("fanout: nothing to publish: the output has no cluster folders")
    return 0


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


def read_output_folder(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder written by ``fanout render`` (or several shards of it), except the
    marker, keyed by POSIX path."""
    if not folder.is_dir():
        raise FanoutError.at(f"--from-dir {folder}: no such folder")
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in filenames:
            path = Path(dirpath, name)
            relative = path.relative_to(folder).as_posix()
            if relative != MARKER:
                files[relative] = path.read_bytes()
    return files


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
