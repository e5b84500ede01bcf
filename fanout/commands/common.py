"""What several commands share: opening a source root and choosing clusters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fanout.core.errors import FanoutError, Problem
from fanout.core.model import Inputs
from fanout.core.selectors import SelectorSyntaxError, parse
from fanout.core.validate import did_you_mean
from fanout.render.pipeline import load_inputs
from fanout.report.machine import problem_line
from fanout.source.discover import CONFIG_FILE
from fanout.source.git import ResolvedSource, is_git_url, resolve_source
from fanout.source.memo import Memo
from fanout.source.tree import SourceTree


@dataclass(frozen=True)
class OpenSource:
    tree: SourceTree
    # The source root on disk; the default output folder is relative to it. None for a URL source.
    root: Path | None
    inputs: Inputs
    resolved: ResolvedSource  # where the tree came from: the working tree, or a commit (``--ref``, URLs)


def check_root(tree: SourceTree, shown: str, folder: Path | None = None) -> None:
    """Refuse a folder that is not a source root, before its emptiness reads as "no clusters".

    ``folder`` is the root on disk when the working tree is read: there an empty clusters/ folder
    exists (a commit cannot hold one) and deserves its own message.
    """
    if tree.read(CONFIG_FILE) is None and not tree.list_files("clusters"):
        if folder is not None and (folder / "clusters").is_dir():
            raise FanoutError.at(
                f"{shown}: no clusters in clusters/ (add a cluster file there; see fanout init)"
            )
        raise FanoutError.at(
            f"{shown}: not a fanout source root (no {CONFIG_FILE} and no clusters/ folder; see fanout init)"
        )


def open_source(
    source: Path | str, ref: str | None = None, cache_dir: Path | None = None, memo: bool = False
) -> OpenSource:
    """Read SOURCE (a folder or a git URL) from the working tree, or from commit REF.

    ``memo``: take the files read before from the input memo (``fanout.source.memo``), and keep it.
    """
    resolved = resolve_source(str(source), ref=ref, cache_dir=cache_dir)
    if not memo:
        return open_resolved(str(source), resolved)
    from fanout.output.cache import code_digest, input_memo_path
    from fanout.source import memo as input_memo

    kept = input_memo.load(input_memo_path(str(source), cache_dir), code_digest())
    opened = open_resolved(str(source), resolved, kept)
    input_memo.save(kept)
    return opened


def open_resolved(source: str, resolved: ResolvedSource, memo: Memo | None = None) -> OpenSource:
    tree = resolved.tree
    root = None if is_git_url(source) else Path(source)
    check_root(tree, source, root if resolved.commit is None else None)
    inputs = load_inputs(tree, memo)
    if not inputs.clusters:
        raise FanoutError.at(f"{source}: no clusters in {inputs.config.clusters}/")
    return OpenSource(tree, root, inputs, resolved)


def input_warnings(inputs: Inputs) -> list[Problem]:
    """What is legal but worth saying, in file order."""
    from fanout.render.place import warnings

    return sorted(dict.fromkeys((*inputs.warnings, *warnings(inputs))), key=Problem.sort_key)


def warning_text(problem: Problem) -> str:
    """``path:line:col: warning: message``, the text form of a warning (for stderr), with what came from
    input escaped as in an error's line: a value may hold a terminal's escape sequence."""
    return problem_line(problem, "warning", "text")


def choose_clusters(inputs: Inputs, names: Sequence[str], selector: str | None) -> set[str] | None:
    """The clusters named or selected on the command line (either matches); None means all."""
    if not names and selector is None:
        return None
    known = {c.name for c in inputs.clusters}
    problems = [
        Problem(f"--cluster: unknown cluster {n!r}{did_you_mean(n, known)}") for n in names if n not in known
    ]
    chosen = {n for n in names if n in known}
    if selector is not None:
        try:
            parsed = parse(selector)
        except SelectorSyntaxError as exc:
            problems.append(Problem(f"--selector: {exc}"))
        else:
            chosen |= {c.name for c in inputs.clusters if parsed.matches(c.labels)}
    if problems:
        raise FanoutError(problems)
    if not chosen:
        raise FanoutError.at(f"--selector {selector!r} matches no cluster")
    return chosen
