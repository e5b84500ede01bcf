"""A small source root for the diff and explain tests: three clusters, a FederatedDeployment with an
inline override, two Override files, a Secret and a placed ConfigMap.

``SHOP`` maps paths (relative to the source root) to file contents; ``line_of`` finds where a value is
written, so tests state locations without hard-coding line numbers.
"""

from __future__ import annotations

from pathlib import Path

from tests.gitutil import init_repo

CLUSTERS = """\
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata:
  name: prod-east
  labels: {env: prod, cloud: aws}
spec:
  values: {domain: east.example.com, replicas: 4}
---
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata:
  name: prod-west
  labels: {env: prod, cloud: gcp}
spec:
  values: {domain: west.example.com, replicas: 4}
---
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata:
  name: dev-1
  labels: {env: dev, cloud: aws}
spec:
  values: {domain: dev.example.com, replicas: 1}
---
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata:
  name: edge-1
  labels: {env: dev, cloud: onprem}
spec:
  values: {domain: edge.example.com, replicas: 1}
"""

WEB = """\
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      replicas: 2
      template:
        spec:
          containers:
            - name: web
              image: web:1.0
              env:
                - {name: URL, value: "https://${cluster.values.domain}"}
  placement:
    clusterSelector:
      matchExpressions:
        - {key: cloud, operator: In, values: [aws, gcp]}
  overrides:
    - clusterName: prod-east
      clusterOverrides:
        - path: /spec/replicas
          value: 3
"""

BASE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: shop
stringData:
  password: s3cret-${cluster.name}
  user: admin
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prod-only
  namespace: shop
  annotations:
    fanout.dev/placement: env=prod
data:
  mode: production
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations:
    fanout.dev/clusters: prod-east, dev-1
spec:
  ports:
    - port: 80
"""

PROD = """\
apiVersion: fanout.dev/v1alpha1
kind: Override
metadata: {name: prod-replicas}
spec:
  clusters:
    clusterSelector: {matchLabels: {env: prod}}
  resources:
    - {kind: Deployment, name: web, namespace: shop}
  patch:
    - {op: replace, path: /spec/replicas, value: "${cluster.values.replicas}"}
"""

EAST = """\
apiVersion: fanout.dev/v1alpha1
kind: Override
metadata: {name: east-boost}
spec:
  clusters:
    names: [prod-east]
  resources:
    - {kind: Deployment, name: web}
  merge:
    metadata:
      labels: {boost: "yes"}
  patch:
    - {op: replace, path: /spec/replicas, value: 5}
"""

SHOP: dict[str, str] = {
    "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\n",
    "clusters/clusters.yaml": CLUSTERS,
    "templates/web.yaml": WEB,
    "templates/base.yaml": BASE,
    "overrides/prod.yaml": PROD,
    "overrides/x.yaml": EAST,
}

# The source root lives in a sub-folder of its repository, as sample-repo/ does.
ROOT = "src"


def line_of(text: str, needle: str, after: str = "") -> int:
    """The 1-based line of the first ``needle`` (after the first ``after``) in ``text``."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def shop_repo(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """A git repository whose ``src/`` holds the shop source root, committed; returns the source root."""
    repo = init_repo(tmp_path / "repo", {f"{ROOT}/{p}": c for p, c in (files or SHOP).items()})
    return repo / ROOT


def write(root: Path, path: str, content: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(content, encoding="utf-8")
