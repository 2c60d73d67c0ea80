"""Cluster backends: `local` (the embedded YAML-file cluster) and `kube` (a real API server).

Both implement `reconciler.cluster.base.Cluster`; the core never knows which one it talks to.
"""

from __future__ import annotations


def open_cluster(spec: str, *, now=None, context: str | None = None):
    """Open a backend from a `--cluster` value: `local`, `local:DIR` or `kube`."""
    from reconciler.errors import UsageError

    if spec == "local" or spec.startswith("local:"):
        from reconciler.cluster.local import LocalCluster

        directory = spec.partition(":")[2] or ".reconciler/cluster"
        return LocalCluster(directory, now=now)
    if spec == "kube":
        from reconciler.cluster.kube import KubeCluster

        return KubeCluster(context=context)
    raise UsageError(f"unknown cluster {spec!r}", hint="use --cluster local, --cluster local:DIR or --cluster kube")
