"""Federated templates written for an API version older than the one fanout renders them as.

A ``Federated<Kind>`` whose source registers no FederatedTypeConfig for its kind renders as the current
API version of that kind (``fanout.kinds.FEDERATED_TYPES``). Templates of 2017-2019 were written for the
versions of their day, and some of those fields mean nothing, or are refused, in today's version: an
Ingress backend's ``serviceName`` (extensions/v1beta1; networking.k8s.io/v1 writes ``service.name``
and requires ``pathType``), an autoscaler's ``targetCPUUtilizationPercentage`` (autoscaling/v1) or a
metric's ``targetAverageUtilization`` (autoscaling/v2beta1). Rendering such a template under today's
apiVersion would write an object that the cluster rejects, or reads differently, with exit code 0; so
each such field is a located error that says both ways out: rewrite the template, or register the
version the control plane used. (Fields today's version merely requires, such as a Deployment's
``selector``, are left to ``validate --kubernetes``.)

Found on real input: openshift/federation-dev (97e63c70b558), archive/ingress/federatedingress.yaml, and
the samples of KubeFed v0.1.0-rc1, rc3 and federation-v2 v0.0.4 (tests/upstream/).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Finding = tuple[str, str]  # (JSON Pointer below the template body, what is wrong)


def _ingress(spec: Mapping[str, Any]) -> Iterator[Finding]:
    if "backend" in spec:
        yield (
            "/spec/backend",
            "spec.backend is extensions/v1beta1's; networking.k8s.io/v1 calls it spec.defaultBackend",
        )
    rules = spec.get("rules")
    for r, rule in enumerate(rules if isinstance(rules, list) else []):
        http = rule.get("http") if isinstance(rule, dict) else None
        paths = http.get("paths") if isinstance(http, dict) else None
        for p, path in enumerate(paths if isinstance(paths, list) else []):
            if not isinstance(path, dict):
                continue
            where = f"/spec/rules/{r}/http/paths/{p}"
            backend = path.get("backend")
            if isinstance(backend, dict) and ("serviceName" in backend or "servicePort" in backend):
                yield (
                    f"{where}/backend",
                    "backend.serviceName/servicePort are extensions/v1beta1's; networking.k8s.io/v1 writes"
                    " backend.service.name and backend.service.port.number (or .name)",
                )
            if "pathType" not in path:
                yield (
                    where,
                    "networking.k8s.io/v1 requires pathType on every path (extensions/v1beta1 did not)",
                )


def outdated_fields(kind: str, api_version: str, body: Any) -> list[Finding]:
    """The fields of template ``body`` that belong to an older API version than ``api_version``."""
    spec = body.get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        return []
    if (kind, api_version) == ("Ingress", "networking.k8s.io/v1"):
        return list(_ingress(spec))
    if (kind, api_version) == ("HorizontalPodAutoscaler", "autoscaling/v2"):
        return list(_autoscaler(spec))
    return []


# autoscaling/v2beta1 wrote a metric's goal as fields of its source; v2 writes them under ``target``.
_V2BETA1_TARGETS = ("targetAverageUtilization", "targetAverageValue", "targetValue")


def _autoscaler(spec: Mapping[str, Any]) -> Iterator[Finding]:
    if "targetCPUUtilizationPercentage" in spec:
        yield (
            "/spec/targetCPUUtilizationPercentage",
            "spec.targetCPUUtilizationPercentage is autoscaling/v1's; autoscaling/v2 writes spec.metrics",
        )
    metrics = spec.get("metrics")
    for m, metric in enumerate(metrics if isinstance(metrics, list) else []):
        for source, body in metric.items() if isinstance(metric, dict) else ():
            for field in _V2BETA1_TARGETS if isinstance(body, dict) else ():
                if field in body:
                    yield (
                        f"/spec/metrics/{m}/{source}/{field}",
                        f"{source}.{field} is autoscaling/v2beta1's; autoscaling/v2 writes {source}.target",
                    )
