"""``fanout import``: per-cluster copies of manifests back into one source root.

The stages, each a module: ``read`` (the copies, one folder per cluster, into objects by identity) →
``factor`` (per object: the value most clusters share as the template, the rest as the fewest overrides,
values and ``${cluster.name}`` where a field follows the cluster) → ``write`` (the source root's files) →
``verify`` (render those files in memory and compare with the copies; an object that does not come back
the same is imported again as one template per cluster, and if even that fails, it is an error).
``federate`` turns plain manifests into KubeFed ``Federated<Kind>`` objects (``fanout federate``). Writing
sources, not output: uses fanout.render (to verify) and below.
"""
