"""Looking referenced objects up in the live cluster, for validation: `validate --cluster`, and every
`plan` / `run` (a Rollout's Services, VirtualService, DestinationRule, workloadRef Deployment or
analysis templates may be kept in the cluster rather than in SOURCE, as many of the plugin's users do).

SOURCE is checked first (validation.Context); only a reference SOURCE lacks reaches here. Reads
follow the cluster's rule: one `list` per kind and namespace, cached, never a read per object.
"""

from __future__ import annotations

from reconciler.errors import ClusterError, Refused


class LiveLookup:
    """Callable `(kind, namespace, name) -> object | None` over a Cluster."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.name = getattr(cluster, "name", "cluster")
        self._lists: dict[tuple[str, str | None], dict[str, dict]] = {}
        self.refused: dict[tuple[str, str | None], str] = {}  # could not look: why (RBAC, kind not served)

    def __call__(self, kind: str, namespace: str | None, name: str) -> dict | None:
        key = (kind, namespace)
        if key not in self._lists:
            try:
                objects = self.cluster.list(kind, namespace)
            except (Refused, ClusterError) as err:  # Istio not installed, the Role does not cover the kind: reported, not fatal
                self.refused[key] = err.message
                objects = []
            self._lists[key] = {str((obj.get("metadata") or {}).get("name", "")): obj for obj in objects}
        return self._lists[key].get(name)
