"""What fanout tells people and tools: diffs, explanations, checks of rendered objects, JSON output.

``diffing``/``diffreport`` (how clusters and commits differ), ``explain`` and ``provenance`` (where a field
comes from), ``kubecheck``/``kubereport`` (rendered objects against Kubernetes schemas), ``machine`` (JSON and
GitHub formats), ``github`` (pull-request annotations). Uses fanout.render and below; writes no file."""
