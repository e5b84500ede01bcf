"""The render pipeline after the front ends: place, patch (merge, JSON Patch, strategic merge), emit.

``pipeline`` runs source -> load -> formats -> ``place`` -> ``patch`` -> ``emit`` in memory; ``strategic`` and
``smp_*`` are strategic merge as kustomize and Kubernetes apply it; ``shard`` splits clusters across jobs.
Uses fanout.formats, fanout.source, fanout.kube and fanout.core; writes no file."""
