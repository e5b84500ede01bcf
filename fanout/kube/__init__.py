"""What fanout knows of Kubernetes itself: kinds and their scopes and order, the OpenAPI schemas objects are
checked against, and the patch metadata strategic merge reads (with its data files in ``data/``).
Uses only fanout.core."""
