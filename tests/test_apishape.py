"""Federated templates of an older API version than fanout's built-in type: refused, never rendered wrong.

fanout.formats.apishape; the real inputs that showed it are in tests/upstream/ (federation-dev's
FederatedIngress, and KubeFed's own samples in test_upstream.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT, Invoke, write_tree

CLUSTERS = """
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: cluster1}
---
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: cluster2}
"""

V1_INGRESS = """
apiVersion: types.kubefed.io/v1beta1
kind: FederatedIngress
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      rules:
      - http:
          paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: web, port: {number: 80}}}
  placement: {clusterSelector: {}}
"""

DEFAULT_BACKEND = """
apiVersion: types.kubefed.io/v1beta1
kind: FederatedIngress
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      backend: {serviceName: web, servicePort: 80}
  placement: {clusterSelector: {}}
"""

HPA = """
apiVersion: types.kubefed.io/v1beta1
kind: FederatedHorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
      minReplicas: 1
      maxReplicas: 5
      targetCPUUtilizationPercentage: 80
  placement: {clusterSelector: {}}
"""

HPA_V2BETA1 = """
apiVersion: types.kubefed.io/v1beta1
kind: FederatedHorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
      maxReplicas: 5
      metrics:
      - type: Resource
        resource: {name: cpu, targetAverageUtilization: 80}
  placement: {clusterSelector: {}}
"""

INGRESS_TYPE_CONFIG = """
apiVersion: core.kubefed.io/v1beta1
kind: FederatedTypeConfig
metadata: {name: ingresses.extensions}
spec:
  federatedType: {group: types.kubefed.io, kind: FederatedIngress, pluralName: federatedingresses,
                  scope: Namespaced, version: v1beta1}
  propagation: Enabled
  targetType: {group: extensions, kind: Ingress, pluralName: ingresses, scope: Namespaced,
               version: v1beta1}
"""


def _render(invoke: Invoke, tmp_path: Path, templates: dict[str, str]) -> tuple[int, str, Path]:
    root = write_tree(tmp_path / "src", {"clusters/all.yaml": CLUSTERS, **templates})
    out = tmp_path / "out"
    result = invoke("render", str(root), "--output-dir", str(out))
    return result.exit_code, result.stderr, out


def test_a_template_written_for_today_renders(invoke: Invoke, tmp_path: Path) -> None:
    code, err, out = _render(invoke, tmp_path, {"templates/ingress.yaml": V1_INGRESS})
    assert code == 0, err
    assert (out / "cluster1/shop/ingress.networking.k8s.io_web.yaml").is_file()


@pytest.mark.parametrize(
    ("text", "where", "start"),
    [
        (DEFAULT_BACKEND, "7:7", "spec.backend is extensions/v1beta1's; networking.k8s.io/v1 calls it"),
        (HPA, "10:7", "spec.targetCPUUtilizationPercentage is autoscaling/v1's; autoscaling/v2 writes"),
        (HPA_V2BETA1, "11:31", "resource.targetAverageUtilization is autoscaling/v2beta1's; autoscaling/v2"),
    ],
    ids=["ingress default backend", "autoscaler v1", "autoscaler v2beta1"],
)
def test_fields_of_an_older_version_are_located_errors(
    text: str, where: str, start: str, invoke: Invoke, tmp_path: Path
) -> None:
    code, err, out = _render(invoke, tmp_path, {"templates/t.yaml": text})
    assert code == 1
    assert err.startswith(f"templates/t.yaml:{where}: {start}")
    assert "or add the type config your control plane used" in err
    assert not out.exists()


def test_a_type_config_naming_the_old_version_renders_it_as_written(invoke: Invoke, tmp_path: Path) -> None:
    code, err, out = _render(
        invoke,
        tmp_path,
        {"templates/ingress.yaml": DEFAULT_BACKEND, "templates/ftc.yaml": INGRESS_TYPE_CONFIG},
    )
    assert code == 0, err
    written = (out / "cluster2/shop/ingress.extensions_web.yaml").read_text(encoding="utf-8")
    assert "apiVersion: extensions/v1beta1" in written and "serviceName: web" in written


def test_a_plain_manifest_keeps_the_version_it_names(invoke: Invoke, tmp_path: Path) -> None:
    plain = "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: web, namespace: shop}\n"
    plain += "spec: {backend: {serviceName: web, servicePort: 80}}\n"
    code, err, _ = _render(invoke, tmp_path, {"templates/ingress.yaml": plain})
    assert code == 0, err


def test_federation_dev_ingress(invoke: Invoke, tmp_path: Path) -> None:
    """openshift/federation-dev's 2019 FederatedIngress (tests/upstream/federation-dev/): fanout 0.1
    rendered it as a networking.k8s.io/v1 Ingress with serviceName and no pathType, exit 0."""
    root = write_tree(tmp_path / "src", {"clusters/all.yaml": CLUSTERS})
    (root / "templates").mkdir()
    shutil.copyfile(
        ROOT / "tests/upstream/federation-dev/ingress/federatedingress.yaml", root / "templates/ingress.yaml"
    )
    result = invoke("render", str(root), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("templates/ingress.yaml:13:13: networking.k8s.io/v1 requires pathType")
    assert lines[1].startswith("templates/ingress.yaml:14:13: backend.serviceName/servicePort are")
