"""fanout: render federated Kubernetes manifests into per-cluster GitOps directories."""

__version__ = "0.1.0"
