"""``fanout import DIR...``: per-cluster copies in, a fanout source root out, checked by rendering it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fanout.core.errors import FanoutError, Location, Problem, Problems
from fanout.core.schemas import shipped
from fanout.core.validate import is_dns_label
from fanout.core.words import plural
from fanout.importer.factor import Factored, ValueBook, factor, named, per_cluster
from fanout.importer.read import ClusterFolder, Fleet, Key, read_fleet
from fanout.importer.verify import verify
from fanout.importer.write import SCHEMA_FOLDER, source_files
from fanout.source.git import resolve_source
from fanout.source.parse import load_documents

LAYOUTS = ("cluster", "clusters")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Each round imports the objects that did not come back the same as one template per cluster.
ROUNDS = 3
INPUT_FOLDERS = ("clusters", "templates", "overrides")


@dataclass(frozen=True)
class Imported:
    files: dict[str, bytes]
    factored: tuple[Factored, ...]
    per_cluster: dict[Key, str]  # objects imported as one template per cluster, and why


def cluster_folders(dirs: Sequence[str], layout: str, ref: str | None) -> list[ClusterFolder]:
    """The clusters: each DIR (layout ``cluster``), or each folder inside each DIR (``clusters``)."""
    problems = Problems()
    found: dict[str, ClusterFolder] = {}

    def add(name: str, path: str) -> None:
        if not DNS_LABEL.match(name) or len(name) > 63:
            problems.add(
                f"{path}: the folder's name {name!r} is not a usable cluster name (a DNS-1123 label:"
                " lowercase letters, digits and '-')"
            )
        elif name in found:
            problems.add(f"{path}: cluster {name!r} is also {found[name].shown}")
        else:
            found[name] = ClusterFolder(name, resolve_source(path, ref=ref).tree, path)

    for given in dirs:
        shown = given.rstrip("/") or given
        if layout == "cluster":
            add(Path(shown).resolve().name if shown in (".", "..") else Path(shown).name, shown)
            continue
        tree = resolve_source(shown, ref=ref).tree
        names = sorted(
            {p.split("/")[0] for p in tree.list_files("") if "/" in p and not p.split("/")[0].startswith(".")}
        )
        if not names:
            problems.add(f"{shown}: no cluster folders in it (--layout clusters reads <dir>/<cluster>/...)")
        for name in names:
            add(name, f"{shown}/{name}")
    problems.raise_if_any()
    return [found[name] for name in sorted(found)]


def read_labels(path: Path | None, clusters: Sequence[str]) -> dict[str, dict[str, str]]:
    """``--labels FILE``: a YAML map of cluster name to its labels."""
    if path is None:
        return {}
    shown = str(path)
    docs, problems = load_documents(shown, path.read_bytes())
    if problems:
        raise FanoutError(problems)
    data = docs[0].data if docs else {}
    if not isinstance(data, dict):
        raise FanoutError.at("expected a map of cluster name to labels", Location(shown))
    found = Problems()
    labels: dict[str, dict[str, str]] = {}
    for name, given in data.items():
        where = docs[0].location(f"/{name}")
        if name not in clusters:
            found.add(f"no cluster named {name!r} among the folders imported", where)
        elif not isinstance(given, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in given.items()
        ):
            found.add("labels are a map of strings to strings (quote numbers and booleans)", where)
        else:
            labels[name] = dict(given)
    found.raise_if_any()
    return labels


def build(fleet: Fleet, labels: Mapping[str, Mapping[str, str]], schemas: Mapping[str, bytes]) -> Imported:
    """Factor every object, write the source, render it in memory and compare; fall back where needed."""
    fallback: dict[Key, str] = {}
    for _ in range(ROUNDS):
        book = ValueBook()
        factored: list[Factored] = []
        for key, copies in fleet.copies.items():
            if key in fallback:
                factored += per_cluster(key, copies)
            else:
                factored.append(factor(key, copies, book, labels))
        names = book.names()
        factored = [named(item, names) for item in factored]
        files, owners = source_files(fleet.clusters, labels, factored, schemas)
        verdict = verify(files, owners, fleet.copies)
        if verdict.problems:
            raise FanoutError(Problem(f"the imported source does not render: {p}") for p in verdict.problems)
        if not verdict.failed:
            return Imported(files, tuple(factored), fallback)
        again = {key: why for key, why in verdict.failed.items() if key not in fallback}
        if not again:
            break
        fallback.update(again)
    raise FanoutError(
        Problem(
            f"{key.kind} {key.name} cannot be imported: {verdict.failed[key]}", fleet.copies[key][0].location
        )
        for key in verdict.failed
    )


def _blocking(target: Path, files: Mapping[str, bytes]) -> tuple[list[Path], list[Path]]:
    """What is in the way of writing ``files`` into ``target``: files it would write over, and other
    files in the input folders (which fanout would read with the imported ones)."""
    existing = [target / p for p in files if (target / p).exists() and not p.startswith(SCHEMA_FOLDER)]
    others = [
        p
        for folder in INPUT_FOLDERS
        if (target / folder).is_dir()
        for p in sorted((target / folder).rglob("*"))
        if p.is_file() and p.relative_to(target).as_posix() not in files
    ]
    return existing, others


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path`` would be created inside ``root``: its nearest existing folder, links followed, is."""
    probe = path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe.resolve().is_relative_to(root)


def _write(output_dir: Path, files: Mapping[str, bytes]) -> None:
    """Every file, each inside ``output_dir``: a link inside it leading elsewhere is refused first."""
    output_dir.mkdir(parents=True, exist_ok=True)  # a folder made now holds no link
    root = output_dir.resolve()
    outside = [output_dir / p for p in files if not _inside(root, output_dir / p)]
    if outside:
        raise FanoutError(
            Problem(f"{p}: leads outside {output_dir} through a link; not written") for p in outside
        )
    for path, content in files.items():
        target = output_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def run(
    dirs: Sequence[str],
    layout: str,
    labels_file: Path | None,
    output_dir: Path,
    ref: str | None,
    force: bool,
    echo: Callable[[str], None],
    warn: Callable[[str], None],
    namespace: str | None = None,
) -> int:
    if namespace is not None and not is_dns_label(namespace):
        raise FanoutError.at(f"--namespace: {namespace!r} is not a namespace name (a DNS-1123 label)")
    folders = cluster_folders(dirs, layout, ref)
    labels = read_labels(labels_file, [f.name for f in folders])
    fleet, problems = read_fleet(folders, namespace)
    if problems:
        raise FanoutError(problems)
    if not fleet.copies:
        raise FanoutError.at(f"no objects found in {', '.join(dirs)}")
    result = build(fleet, labels, shipped())

    existing, others = _blocking(output_dir, result.files)
    if (existing or others) and not force:
        raise FanoutError(
            [
                *(Problem(f"{p}: already exists") for p in existing),
                *(Problem(f"{p}: would be read with the imported files") for p in others),
                Problem(f"{output_dir}: not written; choose a new folder, or add --force to write over it"),
            ]
        )
    for path in existing:
        warn(f"{path}: warning: written over (--force)")
    for path in others:
        warn(f"{path}: warning: not from this import; fanout reads it with the imported files")
    for key, why in sorted(result.per_cluster.items()):
        warn(
            f"{fleet.copies[key][0].location}: warning: {key.kind} {key.name} imported as one template per"
            f" cluster ({why} when factored)"
        )
    _write(output_dir, result.files)
    _report(result, fleet, output_dir, echo)
    return 0


def _report(result: Imported, fleet: Fleet, output_dir: Path, echo: Callable[[str], None]) -> None:
    source = {p: c for p, c in result.files.items() if not p.startswith(SCHEMA_FOLDER)}
    size = sum(len(c) for c in source.values())
    lines = sum(c.count(b"\n") for c in source.values())
    templates = sum(1 for _ in result.factored)
    overrides = sum(c.count(b"\nkind: Override\n") for p, c in source.items() if p.startswith("overrides/"))
    values = len({k for f in result.factored for found in f.values.values() for k in found})
    objects = sum(len(c) for c in fleet.copies.values())
    echo(
        f"fanout: imported {plural(objects, 'object')} of {plural(len(fleet.clusters), 'cluster')} into"
        f" {output_dir}: {plural(templates, 'template')}, {plural(overrides, 'override')},"
        f" {plural(values, 'per-cluster value')}"
    )
    ratio = f" (the copies are {fleet.bytes / size:.1f}x the source)" if size else ""
    echo(
        f"  the source: {size:,} bytes in {plural(lines, 'line')}; the copies: {fleet.bytes:,} bytes in"
        f" {plural(fleet.lines, 'line')}, {plural(fleet.files, 'file')}{ratio}"
    )
    echo(f"  checked: rendering {output_dir} gives every cluster's objects exactly as in its folder")
    echo(f"next: review it, then fanout render {output_dir}")
