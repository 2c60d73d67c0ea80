"""The tests' view of a kube backend: the reconciler's own KubeCluster, whose `get` of one object
reads the way a run reads, by listing the namespace. deploy/rbac.yaml grants `get` only where the
code reads one object by name (the notifications ConfigMap, the Lease), so a test that looks at a
Service or a ReplicaSet must not need more than the ServiceAccount has."""

from __future__ import annotations

from reconciler.cluster.kube import KubeCluster
from reconciler.cluster.kube_grants import API_CALLS


class TestKubeCluster(KubeCluster):
    __test__ = False  # not a test class

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        if "get" in API_CALLS.get(kind, ()):
            return super().get(kind, namespace, name)
        return next((obj for obj in self.list(kind, namespace) if (obj.get("metadata") or {}).get("name") == name), None)
