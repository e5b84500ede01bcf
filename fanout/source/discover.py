"""Finding the source root from a subfolder, as git finds ``.git`` and pre-commit its config."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_FILE = "fanout.yaml"


def find_root(source: str, here: Path | None = None) -> str:
    """SOURCE as given, except the default ``.``: the nearest folder upwards that holds fanout.yaml.

    The current folder counts as a source root when it has fanout.yaml or a clusters/ folder (a root
    may do without fanout.yaml); parents count only with fanout.yaml, so that a stray clusters/ folder
    above does not capture the command. Nothing found: ``.``, whose error then says what is missing.
    """
    if source != ".":
        return source
    start = (here or Path.cwd()).absolute()
    if (start / CONFIG_FILE).is_file() or (start / "clusters").is_dir():
        return "."
    for parent in start.parents:
        if (parent / CONFIG_FILE).is_file():
            return os.path.relpath(parent, start)
    return "."
