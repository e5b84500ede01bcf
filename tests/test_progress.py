"""On a terminal, a render of many clusters says what it is doing: a bar while rendering, then a line
while the files are written and flushed (which can take longer than rendering them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_benchmark_generate import load_generator


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_render_on_a_terminal_shows_both_phases(tmp_path: Path) -> None:
    import pty

    src = tmp_path / "src"
    load_generator().generate(src, clusters=24, templates=3, overrides=2, seed=0)
    primary, secondary = pty.openpty()
    env = {**os.environ, "FANOUT_CACHE_DIR": str(tmp_path / "cache"), "TERM": "xterm", "COLUMNS": "100"}
    with subprocess.Popen(
        [sys.executable, "-m", "fanout", "render", str(src)],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
    ) as process:
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        stdout = process.stdout.read() if process.stdout else b""
    os.close(primary)
    assert process.returncode == 0, shown
    assert b"rendered 24 clusters" in stdout
    assert b"rendering" in shown
    assert b"writing 96 files and flushing them to disk" in shown
