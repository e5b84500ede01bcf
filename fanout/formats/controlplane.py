"""Objects of a federation control plane found among the templates: refused, each with what to do.

They configured Federation v1, federation-v2 or KubeFed (clusters, controller settings, DNS records,
status, the control plane's own CRDs); none is something to deploy to a member cluster, and rendering
one as a plain manifest would send it to every cluster.
"""

from __future__ import annotations

import posixpath

from fanout.core.document import Document
from fanout.kube.kinds import group_of

# API groups of the federation control planes, by era.
CONTROL_GROUPS = frozenset(
    {
        "federation",  # Federation v1: federation/v1beta1 Cluster
        "clusterregistry.k8s.io",
        "core.federation.k8s.io",
        "multiclusterdns.federation.k8s.io",
        "scheduling.federation.k8s.io",
        "core.kubefed.k8s.io",
        "multiclusterdns.kubefed.k8s.io",
        "scheduling.kubefed.k8s.io",
        "core.kubefed.io",
        "multiclusterdns.kubefed.io",
        "scheduling.kubefed.io",
        # The federated types' own groups: only Federated<Kind> (and, in primitives, its Placement
        # and Override) are read from them.
        "types.federation.k8s.io",
        "primitives.federation.k8s.io",
        "types.kubefed.k8s.io",
        "types.kubefed.io",
    }
)

_CLUSTER = "a cluster registration belongs in the inventory (the clusters folder), not among the templates"
_DNS = "multi-cluster DNS is not reproduced by a renderer (run external-dns in each cluster)"
_STATUS = "status that KubeFed's controllers wrote"
_WHY = {
    "Cluster": _CLUSTER,
    "FederatedCluster": _CLUSTER,
    "KubeFedCluster": _CLUSTER,
    "KubeFedConfig": "KubeFed's controller settings; nothing in it is deployed to a member cluster",
    "FederationConfig": "federation-v2's controller settings; nothing in it is deployed to a member cluster",
    "EnableTypeDirective": "the input of kubefedctl enable; register the type with a FederatedTypeConfig",
    "ServiceDNSRecord": _DNS,
    "IngressDNSRecord": _DNS,
    "DNSEndpoint": _DNS,
    "Domain": _DNS,
    "PropagatedVersion": _STATUS,
    "ClusterPropagatedVersion": _STATUS,
    "FederatedServiceStatus": _STATUS,
    "FederatedTypeConfigList": "a list that kubectl exported; export its items",
}
_FIRST_V2 = (
    "federation-v2's first format (core.federation.k8s.io/v1alpha1, before 0.0.4) is not read: its"
    " objects are those of primitives.federation.k8s.io/v1alpha1, but with per-type override fields."
    " Change the group to primitives.federation.k8s.io and write overrides as clusterOverrides"
    " (path: spec.replicas, value: ...)"
)


# kustomize's own files (a Kustomization or a Component), found when a base folder is copied in whole.
KUSTOMIZE_GROUP = "kustomize.config.k8s.io"
KUSTOMIZE_FILES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})


def refusal(doc: Document, templates_folder: str) -> str | None:
    """Why ``doc`` cannot be among the templates, or None when it is not a control-plane object."""
    data = doc.data
    api, kind = str(data.get("apiVersion", "")), str(data.get("kind", ""))
    group = group_of(api)
    if kind == "CustomResourceDefinition" and group == "apiextensions.k8s.io":
        spec = data.get("spec")
        defined = str(spec.get("group", "")) if isinstance(spec, dict) else ""
        if defined in CONTROL_GROUPS:
            return (
                f"this CustomResourceDefinition defines the federation control plane's own API ({defined});"
                " it is not deployed to member clusters: remove it"
            )
        return None
    if group == KUSTOMIZE_GROUP or (posixpath.basename(doc.path) in KUSTOMIZE_FILES and not kind):
        return (
            f"{posixpath.basename(doc.path)} is kustomize's build file, not a manifest: fanout renders the"
            " templates as they are and takes an overlay's patches as Overrides"
            f" (docs/coming-from-kustomize.md); remove it from {templates_folder}/"
        )
    if group not in CONTROL_GROUPS:
        return None
    if group == "core.federation.k8s.io" and kind.startswith("Federated") and kind not in _WHY:
        return _FIRST_V2
    why = _WHY.get(kind, "it configures the federation control plane and is not deployed to member clusters")
    return f"{kind} ({api}) is not rendered: {why}; remove it from {templates_folder}/"
