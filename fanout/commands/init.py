"""``fanout init [FOLDER]``: a minimal source root to start from, never written over anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fanout.core.errors import FanoutError, Problem
from fanout.core.schemas import COPY_FOLDER, modeline, shipped

SCHEMA_FOLDER = COPY_FOLDER

FILES: dict[str, tuple[str, str]] = {
    # path: (schema, content)
    "fanout.yaml": (
        "config",
        """\
# fanout's configuration. Every key is optional; these are the defaults.
apiVersion: fanout.dev/v1alpha1
kind: Config
clusters: clusters    # the inventory: one document (kind: Cluster) per cluster
templates: templates  # what to deploy: plain manifests and KubeFed Federated<Kind> objects
overrides: overrides  # per-cluster patches (kind: Override)
output: rendered      # one folder per cluster, for Argo CD, Flux or kubectl apply -k
""",
    ),
    "clusters/example.yaml": (
        "cluster",
        """\
# One cluster. Labels choose where templates and overrides go; values fill ${cluster.values.*}.
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata:
  name: example
  labels:
    env: dev
spec:
  values:
    greeting: hello from example
""",
    ),
    "templates/hello.yaml": (
        "fanout",
        """\
# One template, a KubeFed FederatedConfigMap: the object in spec.template, the clusters in spec.placement.
apiVersion: types.kubefed.io/v1beta1
kind: FederatedConfigMap
metadata:
  name: hello
  namespace: default
spec:
  template:
    data:
      cluster: ${cluster.name}
      greeting: ${cluster.values.greeting}
  placement:
    clusterSelector: {}  # every cluster
""",
    ),
    "overrides/dev.yaml": (
        "override",
        """\
# One override: a JSON Patch for the clusters its selector picks.
apiVersion: fanout.dev/v1alpha1
kind: Override
metadata:
  name: dev-settings
spec:
  clusters:
    clusterSelector:
      matchLabels:
        env: dev
  resources:
    - {kind: ConfigMap, name: hello, namespace: default}
  patch:
    - {op: add, path: /data/logLevel, value: debug}
""",
    ),
}


def planned() -> dict[str, bytes]:
    """Every file ``init`` writes, by path relative to the new source root."""
    files = {path: (modeline(path, schema) + text).encode() for path, (schema, text) in FILES.items()}
    for name, content in shipped().items():
        files[f"{SCHEMA_FOLDER}/{name}"] = content
    return files


def run(folder: Path, echo: Callable[[str], None]) -> int:
    files = planned()
    existing = [path for path in files if (folder / path).exists() or (folder / path).is_symlink()]
    if existing:
        inputs = [p for p in existing if not p.startswith(SCHEMA_FOLDER)]
        problems = [
            Problem(f"{folder / p}: already exists; fanout init writes only new files") for p in inputs
        ]
        if len(inputs) < len(existing):
            problems.append(
                Problem(
                    f"{folder / SCHEMA_FOLDER}: already holds schemas; refresh them with"
                    f" fanout schema --output-dir {folder / SCHEMA_FOLDER}"
                )
            )
        raise FanoutError(problems)
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x": create only; a file that appeared since the check above is left alone.
        with target.open("xb") as handle:
            handle.write(content)
    written = [p for p in files if not p.startswith(SCHEMA_FOLDER)]
    echo(
        f"fanout: wrote a source root in {folder}: {', '.join(written)}, and the schemas in {SCHEMA_FOLDER}/"
    )
    shown = "" if str(folder) == "." else f" {folder}"
    echo(f"next: fanout render{shown}, then fanout explain example configmap/hello{shown}")
    return 0
