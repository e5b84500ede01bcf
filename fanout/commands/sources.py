"""Opening a source root as it is in the working tree or at a git revision, for commands that compare."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fanout.commands.common import check_root
from fanout.core.errors import FanoutError, Problem
from fanout.core.model import Inputs
from fanout.render.pipeline import validate_inputs
from fanout.report.diffing import Side
from fanout.source.git import resolve_source
from fanout.source.load import folders, read_source
from fanout.source.tree import SourceTree

WORKING_TREE = "working tree"


@dataclass(frozen=True)
class LoadedSource:
    tree: SourceTree
    inputs: Inputs
    side: Side  # what to call this version of the source


def load_tree(tree: SourceTree, side: Side, shown: str) -> LoadedSource:
    """Read and validate ``tree``; problems found at a revision say so, since the file may differ on disk."""
    check_root(tree, shown, Path(shown) if side.ref is None else None)
    raw = read_source(tree)
    try:
        inputs = validate_inputs(raw)
    except FanoutError as exc:
        if side.ref is None:
            raise
        raise FanoutError(Problem(f"(at {side.ref}) {p.message}", p.location) for p in exc.problems) from None
    if not inputs.clusters:
        where = folders(raw.config)["clusters"]
        raise FanoutError.at(f"{shown}: no clusters in {where}/")
    return LoadedSource(tree, inputs, side)


def load_source(source: str, ref: str | None, option: str = "--ref") -> LoadedSource:
    """SOURCE (a folder or a git URL) at REF, or in the working tree when REF is None; ``option`` is the
    command-line option that gave REF, for messages about it."""
    try:
        resolved = resolve_source(source, ref=ref)
    except FanoutError as exc:
        if option == "--ref":
            raise
        # gitsource speaks of --ref; the user typed --base or --head.
        raise FanoutError(
            Problem(p.message.replace(f"--ref {ref}", f"{option} {ref}"), p.location) for p in exc.problems
        ) from None
    if resolved.commit is None:
        side = Side(WORKING_TREE)
        shown = source
    else:
        side = Side(ref or resolved.commit[:12], ref, resolved.commit)
        shown = resolved.tree.description
    return load_tree(resolved.tree, side, shown)
