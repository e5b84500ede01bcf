"""Built-in knowledge about Kubernetes kinds: what KubeFed federates, and which kinds are cluster-scoped."""

from __future__ import annotations

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


def group_of(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` (the core group) -> ``""``."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


# Apply order groups: Namespaces and CRDs first, then other cluster-scoped objects, then the rest.
ORDER_FIRST, ORDER_CLUSTER, ORDER_NAMESPACED = 0, 1, 2


def apply_order(kind: str, namespaced: bool) -> int:
    if kind in ("Namespace", "CustomResourceDefinition"):
        return ORDER_FIRST
    return ORDER_NAMESPACED if namespaced else ORDER_CLUSTER
