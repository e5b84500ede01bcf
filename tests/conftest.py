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


@pytest.fixture(autouse=True)
def _render_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep ``render``'s cache state out of the user's home folder (one cache folder per test)."""
    monkeypatch.setenv("FANOUT_CACHE_DIR", str(tmp_path_factory.mktemp("fanout-cache")))


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


def app_of(index: int) -> str:
    """The app label of cluster ``index`` in ``varied_source``: neighbours differ, the pattern is irregular."""
    return ("aaa", "bbb", "ccc")[(index * 7) % 5 % 3]


def varied_source(root: Path, clusters: int = 60) -> Path:
    """Clusters c00, c01, ... labelled app=aaa/bbb/ccc (``app_of``), and one ConfigMap per app placed by it.

    Neighbouring clusters get different objects and kustomizations of the same length: the input that
    once made a cluster's kustomization another's.
    """
    files = {
        "clusters/all.yaml": "".join(
            f"---\napiVersion: fanout.dev/v1alpha1\nkind: Cluster\n"
            f"metadata: {{name: c{i:02d}, labels: {{app: {app_of(i)}}}}}\n"
            for i in range(clusters)
        )
    }
    for label in ("aaa", "bbb", "ccc"):
        files[f"templates/{label}.yaml"] = (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {label}\n  namespace: shop\n"
            f"  annotations: {{fanout.dev/placement: app={label}}}\ndata: {{k: v}}\n"
        )
    return write_tree(root, files)
