"""Deleting a pod of the simulated kubelet: its ReplicaSet starts a replacement at once.

Simulated pods are derived from their ReplicaSet (one start time per pod in an annotation, see
kubelet.py), so "delete pod P" is "the pod at P's index starts again now": a new name, a new
creationTimestamp, and readiness as kubelet.yaml says for its image. Used by the embedded cluster
(and any backend built on the simulated kubelet) for `spec.restartAt`.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime

from reconciler.cluster import kubelet
from reconciler.engine.hashing import short_hash


def pod_names(rs: dict) -> list[str]:
    """The names kubelet.pods_for_replicaset gives the ReplicaSet's pods, by index."""
    name = (rs.get("metadata") or {}).get("name", "")
    replicas = int((rs.get("spec") or {}).get("replicas") or 0)
    return [f"{name}-{short_hash(f'{name}/{index}/{start}')}" for index, start in enumerate(kubelet.pod_starts(rs)[:replicas])]


def restart_pod(rs: dict, pod_name: str, now: datetime) -> dict | None:
    """The ReplicaSet with pod `pod_name` replaced by one started `now`; None if it has no such pod."""
    names = pod_names(rs)
    if pod_name not in names:
        return None
    starts = kubelet.pod_starts(rs)
    starts[names.index(pod_name)] = kubelet.iso(now)
    out = copy.deepcopy(rs)
    out.setdefault("metadata", {}).setdefault("annotations", {})[kubelet.POD_STARTS_ANNOTATION] = json.dumps(starts, separators=(",", ":"))
    return out
