"""The installed ``fanout`` entry point, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fanout import __version__


def _entry_point() -> str:
    script = Path(sys.executable).parent / "fanout"
    if not script.exists():
        pytest.skip("the fanout entry point is not installed in this environment")
    return str(script)


def test_version() -> None:
    done = subprocess.run([_entry_point(), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.strip() == f"fanout {__version__}"


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fanout", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "render" in done.stdout


def test_render_and_errors_through_the_entry_point(source: Path, tmp_path: Path) -> None:
    fanout = _entry_point()
    done = subprocess.run([fanout, "render", str(source)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (source / "rendered/aws-east/kustomization.yaml").is_file()

    (source / "templates/bad.yaml").write_text("a: {b\n")
    failed = subprocess.run([fanout, "validate", str(source)], capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("templates/bad.yaml:2:1: invalid YAML")
    assert "Traceback" not in failed.stderr

    usage = subprocess.run([fanout, "render", "--bogus"], capture_output=True, text=True, check=False)
    assert usage.returncode == 2


def test_clusters_table_and_matrix(source: Path) -> None:
    fanout = _entry_point()
    table = subprocess.run([fanout, "clusters", str(source)], capture_output=True, text=True, check=True)
    assert table.stdout.splitlines() == [
        "NAME        LABELS                                  OBJECTS",
        "aws-east    cloud=aws,env=prod,region=us-east-1     1",
        "azure-west  cloud=azure,env=prod,region=westeurope  1",
        "gcp-dev     cloud=gcp,env=dev,region=europe-west1   1",
    ]
    matrix = subprocess.run(
        [fanout, "clusters", "--matrix", str(source)], capture_output=True, text=True, check=True
    )
    assert matrix.stdout.splitlines()[:2] == [
        "TEMPLATE                                       1  2  3",
        "Deployment.apps shop/web (templates/web.yaml)  x  x  x",
    ]
    assert "  1  aws-east" in matrix.stdout


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # `fanout diff ... | head`: the reader goes away early; no "Broken pipe" message, no traceback.
    # The diff is far larger than a pipe's buffer, so fanout is still writing when the pipe closes.
    lines = "".join(f"    line {i} in ${{cluster.name}}\n" for i in range(20000))
    (tmp_path / "clusters").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "clusters/c.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n---\n"
        "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: b}\n"
    )
    (tmp_path / "templates/cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: x}\ndata:\n  text: |\n" + lines
    )
    fanout = subprocess.Popen(
        [sys.executable, "-m", "fanout", "diff", "--clusters", "a", "b", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert fanout.stdout is not None and fanout.stderr is not None
    fanout.stdout.readline()
    fanout.stdout.close()
    stderr = fanout.stderr.read().decode()
    assert fanout.wait() == 0
    assert stderr == ""
