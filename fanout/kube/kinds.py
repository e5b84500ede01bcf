"""Built-in knowledge about Kubernetes kinds: what KubeFed federates, and which kinds are cluster-scoped."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import NamedTuple


class TargetType(NamedTuple):
    api_version: str
    kind: str
    namespaced: bool


def _t(api_version: str, kind: str, namespaced: bool = True) -> tuple[str, TargetType]:
    return kind, TargetType(api_version, kind, namespaced)


# The types `kubefedctl enable` set up out of the box (plus the common workload kinds teams
# enabled next); a FederatedTypeConfig in the source registers more.
FEDERATED_TYPES: dict[str, TargetType] = dict(
    [
        _t("v1", "ConfigMap"),
        _t("v1", "Secret"),
        _t("v1", "Service"),
        _t("v1", "ServiceAccount"),
        _t("v1", "Namespace", namespaced=False),
        _t("v1", "PersistentVolumeClaim"),
        _t("v1", "LimitRange"),
        _t("v1", "ResourceQuota"),
        _t("apps/v1", "Deployment"),
        _t("apps/v1", "ReplicaSet"),
        _t("apps/v1", "StatefulSet"),
        _t("apps/v1", "DaemonSet"),
        _t("batch/v1", "Job"),
        _t("batch/v1", "CronJob"),
        _t("networking.k8s.io/v1", "Ingress"),
        _t("networking.k8s.io/v1", "NetworkPolicy"),
        _t("autoscaling/v2", "HorizontalPodAutoscaler"),
        _t("policy/v1", "PodDisruptionBudget"),
        _t("rbac.authorization.k8s.io/v1", "Role"),
        _t("rbac.authorization.k8s.io/v1", "RoleBinding"),
        _t("rbac.authorization.k8s.io/v1", "ClusterRole", namespaced=False),
        _t("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", namespaced=False),
        _t("storage.k8s.io/v1", "StorageClass", namespaced=False),
        _t("scheduling.k8s.io/v1", "PriorityClass", namespaced=False),
        _t("apiextensions.k8s.io/v1", "CustomResourceDefinition", namespaced=False),
    ]
)

# Cluster-scoped kinds of Kubernetes itself, by kind name (kinds are unique across the core groups).
CLUSTER_SCOPED: frozenset[str] = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)

# Namespaced kinds of Kubernetes itself: such an object without a namespace is an error, because
# each sync agent would otherwise put it in a namespace of its own choosing.
NAMESPACED: frozenset[str] = frozenset(
    {t.kind for t in FEDERATED_TYPES.values() if t.namespaced}
    | {"Pod", "Endpoints", "EndpointSlice", "Event", "Lease", "PodTemplate", "ReplicationController"}
)


DATA_DIR = Path(__file__).resolve().parent / "data"


@functools.cache
def well_known_scopes() -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for custom kinds that charts use without shipping their definitions
    (ServiceMonitor, HTTPRoute, ClusterIssuer): read from each project's CustomResourceDefinitions, with the
    commit, in ``data/wellknown-scopes.json``. A kind of "*" is every kind of its group (Gatekeeper's
    constraints, whose kinds its ConstraintTemplates make): ask ``well_known_scope``."""
    data = json.loads((DATA_DIR / "wellknown-scopes.json").read_text())
    found: dict[tuple[str, str], bool] = {}
    for source in data["sources"]:
        for key, scope in source["kinds"].items():
            kind, _, group = key.partition(".")
            found[(group, kind)] = scope == "Namespaced"
    return found


def well_known_scope(group: str, kind: str) -> bool | None:
    """Whether a well-known custom kind is namespaced; None when fanout does not know it."""
    known = well_known_scopes()
    found = known.get((group, kind))
    return known.get((group, "*")) if found is None else found


def group_of(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` (the core group) -> ``""``."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


# Apply order groups: Namespaces and CRDs first, then other cluster-scoped objects, then the rest.
ORDER_FIRST, ORDER_CLUSTER, ORDER_NAMESPACED = 0, 1, 2


def apply_order(kind: str, namespaced: bool) -> int:
    if kind in ("Namespace", "CustomResourceDefinition"):
        return ORDER_FIRST
    return ORDER_NAMESPACED if namespaced else ORDER_CLUSTER


class Removal(NamedTuple):
    release: str  # the first Kubernetes release that no longer serves it
    use: str  # the apiVersion to write instead


def _removed(release: str, use: str, old: str, *kinds: str) -> list[tuple[tuple[str, str], Removal]]:
    return [((old, kind), Removal(release, use)) for kind in kinds]


# Built-in API versions that Kubernetes stopped serving (the deprecated API migration guide,
# kubernetes.io/docs/reference/using-api/deprecation-guide/). Material from the federation years is
# full of them; a sync agent's apply of such an object fails on every cluster of today.
REMOVED_APIS: dict[tuple[str, str], Removal] = dict(
    _removed("1.16", "apps/v1", "extensions/v1beta1", "Deployment", "DaemonSet", "ReplicaSet")
    + _removed("1.16", "networking.k8s.io/v1", "extensions/v1beta1", "NetworkPolicy")
    + _removed("1.16", "policy/v1beta1", "extensions/v1beta1", "PodSecurityPolicy")
    + _removed("1.16", "apps/v1", "apps/v1beta1", "Deployment", "StatefulSet", "ReplicaSet")
    + _removed("1.16", "apps/v1", "apps/v1beta2", "Deployment", "StatefulSet", "ReplicaSet", "DaemonSet")
    + _removed("1.22", "networking.k8s.io/v1", "extensions/v1beta1", "Ingress")
    + _removed("1.22", "networking.k8s.io/v1", "networking.k8s.io/v1beta1", "Ingress", "IngressClass")
    + _removed(
        "1.22",
        "rbac.authorization.k8s.io/v1",
        "rbac.authorization.k8s.io/v1beta1",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
    )
    + _removed("1.22", "apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1", "CustomResourceDefinition")
    + _removed(
        "1.22",
        "admissionregistration.k8s.io/v1",
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    )
    + _removed("1.22", "apiregistration.k8s.io/v1", "apiregistration.k8s.io/v1beta1", "APIService")
    + _removed("1.22", "certificates.k8s.io/v1", "certificates.k8s.io/v1beta1", "CertificateSigningRequest")
    + _removed("1.22", "coordination.k8s.io/v1", "coordination.k8s.io/v1beta1", "Lease")
    + _removed("1.22", "scheduling.k8s.io/v1", "scheduling.k8s.io/v1beta1", "PriorityClass")
    + _removed(
        "1.22",
        "storage.k8s.io/v1",
        "storage.k8s.io/v1beta1",
        "CSIDriver",
        "CSINode",
        "StorageClass",
        "VolumeAttachment",
    )
    + _removed("1.25", "batch/v1", "batch/v1beta1", "CronJob")
    + _removed("1.25", "policy/v1", "policy/v1beta1", "PodDisruptionBudget")
    + _removed("1.25", "discovery.k8s.io/v1", "discovery.k8s.io/v1beta1", "EndpointSlice")
    + _removed("1.25", "events.k8s.io/v1", "events.k8s.io/v1beta1", "Event")
    + _removed("1.25", "autoscaling/v2", "autoscaling/v2beta1", "HorizontalPodAutoscaler")
    + _removed("1.25", "node.k8s.io/v1", "node.k8s.io/v1beta1", "RuntimeClass")
    + _removed("1.26", "autoscaling/v2", "autoscaling/v2beta2", "HorizontalPodAutoscaler")
    + _removed("1.27", "storage.k8s.io/v1", "storage.k8s.io/v1beta1", "CSIStorageCapacity")
)
