"""Checking an import: render the written source in memory and compare every cluster with its copies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fanout.core.errors import FanoutError, Problem
from fanout.importer.read import Copy, Key
from fanout.importer.write import Owners
from fanout.render.pipeline import load_inputs, render
from fanout.source.tree import MemoryTree


@dataclass(frozen=True)
class Verdict:
    failed: dict[Key, str]  # object -> why it did not come back the same
    problems: tuple[Problem, ...]  # what fanout said about the source, when it did not render at all


def owners_at(owners: Owners, path: str, line: int) -> tuple[Key, ...]:
    """The objects of the document at ``path`` that holds ``line``."""
    found: tuple[Key, ...] = ()
    for start, keys in owners.get(path, []):
        if start > line:
            break
        found = keys
    return found


def verify(files: Mapping[str, bytes], owners: Owners, copies: Mapping[Key, tuple[Copy, ...]]) -> Verdict:
    """Which objects do not render back to their copies, in every cluster."""
    try:
        rendering = render(load_inputs(MemoryTree(files)))
    except FanoutError as exc:
        failed: dict[Key, str] = {}
        stray = []
        for problem in exc.problems:
            loc = problem.location
            keys = owners_at(owners, loc.path, loc.line) if loc is not None else ()
            if not keys:
                stray.append(problem)
            for key in keys:
                failed.setdefault(key, problem.message)
        return Verdict(failed, tuple(stray))
    got: dict[tuple[str, str, str, str, str, str], object] = {}
    for output in rendering.clusters:
        for rendered in output.objects:
            ident = rendered.ident
            api = str(rendered.obj.get("apiVersion", ""))
            got[(output.cluster.name, ident.group, ident.kind, ident.namespace, ident.name, api)] = (
                rendered.obj
            )
    failed = {}
    expected = set()
    for key, found in copies.items():
        for copy in found:
            where = (copy.cluster, key.group, key.kind, key.namespace, key.name, key.api_version)
            expected.add(where)
            if where not in got:
                failed.setdefault(key, f"it is not rendered in cluster {copy.cluster}")
            elif got[where] != copy.data:
                failed.setdefault(key, f"it renders differently in cluster {copy.cluster}")
    for where in sorted(set(got) - expected):
        key = Key(*where[1:])
        failed.setdefault(key, f"it is rendered in cluster {where[0]}, where it was not")
    return Verdict(failed, ())
