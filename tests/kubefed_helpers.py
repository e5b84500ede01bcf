"""Helpers for the KubeFed compatibility tests: KubeFed-style source roots and reading rendered output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from conftest import Invoke

KUBEFED_CLUSTERS = """
apiVersion: core.kubefed.io/v1beta1
kind: KubeFedCluster
metadata: {name: aws-east, namespace: kube-federation-system, labels: {cloud: aws, env: prod}}
spec: {apiEndpoint: "https://aws.example.com", secretRef: {name: aws-east-token}}
---
apiVersion: core.kubefed.io/v1beta1
kind: KubeFedCluster
metadata: {name: azure-west, namespace: kube-federation-system, labels: {cloud: azure, env: prod}}
spec: {apiEndpoint: "https://azure.example.com", secretRef: {name: azure-west-token}}
---
apiVersion: core.kubefed.io/v1beta1
kind: KubeFedCluster
metadata: {name: gcp-dev, namespace: kube-federation-system, labels: {cloud: gcp, env: dev}}
spec: {apiEndpoint: "https://gcp.example.com", secretRef: {name: gcp-dev-token}}
"""

ALL = ("aws-east", "azure-west", "gcp-dev")


def federated_namespace(name: str, placement: str = "clusterSelector: {}") -> str:
    return f"""
apiVersion: types.kubefed.io/v1beta1
kind: FederatedNamespace
metadata: {{name: {name}, namespace: {name}}}
spec:
  placement: {{{placement}}}
"""


def federated_deployment(name: str, namespace: str = "shop", placement: str = "clusterSelector: {}") -> str:
    return f"""
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  template:
    spec:
      replicas: 1
      template:
        spec:
          containers: [{{name: app, image: "app:1"}}]
  placement: {{{placement}}}
"""


def render(invoke: Invoke, source: Path) -> Path:
    out = source.parent / "out"
    result = invoke("render", str(source), "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    return out


def objects(out: Path, cluster: str) -> dict[str, Any]:
    """The rendered objects of one cluster, by path in its folder (kustomization.yaml left out)."""
    folder = out / cluster
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted(folder.rglob("*.yaml"))
        if p.name != "kustomization.yaml"
    }


def placed(out: Path, path: str) -> set[str]:
    """The clusters where the object at ``path`` (relative to a cluster folder) was rendered."""
    return {c.name for c in out.iterdir() if c.is_dir() and (c / path).is_file()}


def warnings(invoke: Invoke, source: Path) -> list[str]:
    result = invoke("validate", str(source))
    assert result.exit_code == 0, result.output
    # Warnings go to stderr as ``path:line:col: warning: message``; compared here without "warning: ".
    return [
        line.replace(": warning: ", ": ", 1) for line in result.stderr.splitlines() if ": warning: " in line
    ]


def errors(invoke: Invoke, source: Path) -> list[str]:
    result = invoke("validate", str(source))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.stderr.splitlines()[:-1]  # the last line counts the problems
