"""``fanout federate FILE... [--output-dir DIR]``: plain manifests in, ``Federated<Kind>`` objects out.

Every input file is checked before anything is written, so a mistake in one file leaves ``--output-dir``
untouched. Each input file gives one output file of the same name (all documents, in order).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from fanout.core.document import Document
from fanout.core.errors import Location, Problems
from fanout.importer.federate import check, dropped_annotations, federate
from fanout.render.emit import dump
from fanout.source.parse import load_documents


def federate_command(
    files: list[Path],
    out: Path | None,
    stdout: TextIO | None = None,
    warn: Callable[[str], None] | None = None,
) -> int:
    """Federate ``files`` into ``out`` (or print to ``stdout``); the exit code.

    User mistakes raise ``FanoutError`` before anything is written; ``warn`` hears what is not carried.
    """
    rendered = federate_files(files, warn)
    if out is None:
        stream = stdout if stdout is not None else sys.stdout
        stream.write("---\n".join(text for _, text in rendered if text))
        return 0
    _check_targets(files, out)
    out.mkdir(parents=True, exist_ok=True)
    for path, text in rendered:
        (out / path.name).write_text(text, encoding="utf-8")
    return 0


def run(files: list[Path], out: Path | None, echo: Callable[[str], None], warn: Callable[[str], None]) -> int:
    """The CLI's entry point: like ``federate_command``, printing through ``echo`` without --output-dir."""
    if out is not None:
        code = federate_command(files, out, warn=warn)
        echo(f"fanout: federated {len(files)} file{'s' if len(files) != 1 else ''} into {out}")
        return code
    text = "---\n".join(text for _, text in federate_files(files, warn) if text)
    if text:
        echo(text.removesuffix("\n"))
    return 0


def federate_files(files: list[Path], warn: Callable[[str], None] | None = None) -> list[tuple[Path, str]]:
    """Each input path with the YAML text of its federated documents; all problems at once."""
    problems = Problems()
    results: list[tuple[Path, str]] = []
    for path in files:
        label = str(path)
        try:
            content = path.read_bytes()
        except OSError as exc:
            problems.add(f"cannot read file: {exc.strerror or exc}", Location(label))
            continue
        federated: list[dict[str, Any]] = []
        for obj, where in _objects(label, content, problems):
            issues = check(obj)
            for issue in issues:
                problems.add(issue.message, where(issue.pointer))
            if not issues:
                federated.append(federate(obj))
                dropped = dropped_annotations(obj)
                if dropped and warn is not None:
                    warn(
                        f"{where('/metadata/annotations')}: warning: annotations {', '.join(dropped)} are not"
                        " carried: KubeFed did not propagate a template's annotations (set them with an"
                        " Override)"
                    )
        results.append((path, dump_all(federated)))
    problems.raise_if_any()
    return results


def _check_targets(files: list[Path], out: Path) -> None:
    problems = Problems()
    if out.exists() and not out.is_dir():
        problems.add(f"--output-dir {out} exists and is not a directory")
    seen: dict[str, Path] = {}
    inputs = {p.resolve() for p in files}
    for path in files:
        if path.name in seen and seen[path.name] != path:
            problems.add(f"{seen[path.name]} and {path} would both be written to {out / path.name}")
        seen.setdefault(path.name, path)
        if (out / path.name).resolve() in inputs:
            problems.add(f"writing {out / path.name} would overwrite an input file", Location(str(path)))
    problems.raise_if_any()


def _objects(
    label: str, content: bytes, problems: Problems
) -> Iterator[tuple[Any, Callable[[str], Location]]]:
    """The objects of a multi-document file (``kind: List`` items expanded), each with its locator."""
    documents, found = load_documents(label, content)
    problems.extend(found)
    for doc in documents:
        data = doc.data
        if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
            for index in range(len(data["items"])):
                prefix = f"/items/{index}"
                yield data["items"][index], functools.partial(_item_location, doc, prefix)
        else:
            yield data, doc.location


def _item_location(doc: Document, prefix: str, pointer: str) -> Location:
    return doc.location(prefix + pointer)


def dump_all(documents: list[dict[str, Any]]) -> str:
    """Documents in the renderer's YAML style, separated by ``---``."""
    return "---\n".join(dump(d) for d in documents)
