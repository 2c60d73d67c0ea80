"""The Cluster interface: the only way the reconciler touches live state.

Objects are plain dicts shaped exactly like Kubernetes objects (apiVersion, kind, metadata, spec,
status). Kinds are those of `reconciler.kinds`. Every backend honours the same rules:

- `list` is the read path: one call per kind per namespace per run (the engine never reads per
  rollout), optionally narrowed by an equality label selector.
- Writes use optimistic concurrency: `replace` and `delete` with a `metadata.resourceVersion`
  that no longer matches raise `reconciler.errors.Conflict`. `create` of an existing name raises
  Conflict too.
- `reads` and `writes` count calls, so benchmarks and tests can check the read budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass
class HeldLease:
    """A coordination.k8s.io Lease this process holds. `obj` is the stored Lease (its
    resourceVersion is what the next renewal or the release sends); `renewed_at` is the renewTime
    last written."""

    name: str
    namespace: str
    holder: str
    duration_seconds: int
    renewed_at: datetime
    obj: dict = field(default_factory=dict, repr=False)


@runtime_checkable
class Cluster(Protocol):
    name: str  # "local" or "kube", for messages
    reads: int
    writes: int

    def list(self, kind: str, namespace: str | None = None, selector: Mapping[str, str] | None = None) -> list[dict]:
        """All objects of a kind in a namespace (None: all namespaces, or cluster-scoped kinds)."""

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        """One object, or None. Not for the per-rollout read path (use list); for commands like promote."""

    def create(self, obj: dict) -> dict:
        """Create; returns the stored object (with resourceVersion). Existing name -> Conflict."""

    def replace(self, obj: dict) -> dict:
        """Replace the whole object, status included; stale resourceVersion -> Conflict."""

    def delete(self, kind: str, namespace: str | None, name: str, resource_version: str | None = None, *, api_version: str = "") -> None:
        """Delete; missing object is not an error. Stale resourceVersion -> Conflict. `api_version`: a
        kind applied from Git as a plain object (pruned by `--prune`), as for `list`."""

    def emit_event(self, involved: dict, reason: str, message: str, *, type: str = "Normal", now: datetime) -> None:
        """Record a Kubernetes Event about `involved` (RolloutUpdated, ScalingReplicaSet, ...)."""

    def lease(self, name: str, namespace: str, holder: str, *, duration_seconds: int, now: datetime) -> AbstractContextManager[HeldLease]:
        """Hold a coordination.k8s.io Lease while acting (released on exit). Raises ClusterError if
        another live holder has it; an expired one is taken over."""

    def renew_lease(self, lease: HeldLease, *, now: datetime) -> None:
        """Write renewTime = now on a held lease (updating `lease` in place). Raises ClusterError when
        it was lost meanwhile (someone took over an expired lease): the caller must stop acting."""
