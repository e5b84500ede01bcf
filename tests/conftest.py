"""Shared test helpers: real files, real git, the real CLI."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fanout.cli import app

ROOT = Path(__file__).resolve().parent.parent


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root`` (text is dedented)."""
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root``, keyed by POSIX path relative to it."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


Invoke = Callable[..., Result]


@pytest.fixture
def invoke() -> Invoke:
    """Run the CLI in-process: ``invoke("render", str(path))``."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


CLUSTERS = """
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: aws-east, labels: {cloud: aws, env: prod, region: us-east-1}}
spec: {values: {domain: east.example.com, replicas: 4, db: {size: 10Gi}}}
---
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: azure-west, labels: {cloud: azure, env: prod, region: westeurope}}
spec: {values: {domain: west.example.com, replicas: 3, db: {size: 20Gi}}}
---
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: gcp-dev, labels: {cloud: gcp, env: dev, region: europe-west1}}
spec: {values: {domain: dev.example.com, replicas: 1, db: {size: 1Gi}}}
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - {name: web, image: "web:1"}
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A small valid source root with three clusters and one Deployment."""
    return write_tree(tmp_path / "src", {"clusters/all.yaml": CLUSTERS, "templates/web.yaml": DEPLOYMENT})
