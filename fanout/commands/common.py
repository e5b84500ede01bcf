"""What several commands share: opening a source root and choosing clusters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fanout.errors import FanoutError, Problem
from fanout.load import CONFIG_FILE
from fanout.model import Inputs
from fanout.pipeline import load_inputs
from fanout.selectors import SelectorSyntaxError, parse
from fanout.source import DirectorySource, SourceTree
from fanout.validate import did_you_mean


@dataclass(frozen=True)
class OpenSource:
    tree: SourceTree
    root: Path  # the source root on disk; the default output folder is relative to it
    inputs: Inputs


def open_source(source: Path) -> OpenSource:
    if not source.is_dir():
        raise FanoutError.at(f"{source}: no such folder")
    tree = DirectorySource(source)
    if tree.read(CONFIG_FILE) is None and not (source / "clusters").is_dir():
        raise FanoutError.at(f"{source}: not a fanout source root (no {CONFIG_FILE} and no clusters/ folder)")
    inputs = load_inputs(tree)
    if not inputs.clusters:
        raise FanoutError.at(f"{source}: no clusters found in {inputs.config.clusters}/")
    return OpenSource(tree, source, inputs)


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
