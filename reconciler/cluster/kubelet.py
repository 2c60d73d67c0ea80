"""The simulated kubelet: pure functions that say how a ReplicaSet's pods behave at time `now`.

Pods are virtual: they are derived from the ReplicaSet (its `spec.replicas` and the start time of
each pod, recorded in an annotation when the ReplicaSet is written), never stored. Both the embedded
`local` cluster and the kube API emulator use these functions.

Config (`DIR/kubelet.yaml` for the local cluster; docs/engine.md):

    crash: ["nginx:bad*"]              # pods of a matching image: CrashLoopBackOff, never available
    readyAfterSeconds: {"nginx:1.14.2": 10, "*": 0}   # ready N seconds (of the run's now) after start

Image patterns are shell globs (fnmatch) matched against each container's image. By default a pod
is ready at once. A ready pod counts as available once it has been ready for the ReplicaSet's
`spec.minReadySeconds` (as the ReplicaSet controller counts availableReplicas).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from reconciler import POD_TEMPLATE_HASH_LABEL, PREFIX
from reconciler.engine.hashing import short_hash
from reconciler.timestamps import iso, parse_iso

POD_STARTS_ANNOTATION = f"{PREFIX}/pod-starts"
CRASH_RESTART_SECONDS = 10  # one simulated restart per this many seconds of a crashing pod's life



def _containers(rs: Mapping) -> list[dict]:
    return list(((((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or [])


def _images(rs: Mapping) -> list[str]:
    return [str(c.get("image", "")) for c in _containers(rs)]


def _matches(image: str, pattern: str) -> bool:
    return fnmatchcase(image, pattern)


def crashes(rs: Mapping, config: Mapping | None) -> bool:
    patterns = list((config or {}).get("crash") or [])
    return any(_matches(image, p) for image in _images(rs) for p in patterns)


def ready_after_seconds(rs: Mapping, config: Mapping | None) -> float:
    table = (config or {}).get("readyAfterSeconds") or {}
    delay = 0.0
    for image in _images(rs):
        for pattern, seconds in table.items():
            if _matches(image, str(pattern)):
                delay = max(delay, float(seconds))
    return delay


def pod_starts(rs: Mapping) -> list[str]:
    raw = ((rs.get("metadata") or {}).get("annotations") or {}).get(POD_STARTS_ANNOTATION)
    if not raw:
        return []
    try:
        starts = json.loads(raw)
    except (TypeError, ValueError):
        return []
    return [str(s) for s in starts] if isinstance(starts, list) else []


def record_pod_starts(previous: Mapping | None, rs: dict, now: datetime) -> dict:
    """The ReplicaSet as written, with one start time per pod: kept pods keep theirs, new pods
    start `now`, a scale-down removes the newest pods (as the ReplicaSet controller does)."""
    out = copy.deepcopy(rs)
    replicas = int((out.get("spec") or {}).get("replicas") or 0)
    starts = pod_starts(previous) if previous is not None else pod_starts(out)
    starts = starts[:replicas] + [iso(now)] * max(0, replicas - len(starts))
    metadata = out.setdefault("metadata", {})
    annotations = metadata.setdefault("annotations", {})
    annotations[POD_STARTS_ANNOTATION] = json.dumps(starts, separators=(",", ":"))
    return out


def min_ready_seconds(rs: Mapping) -> float:
    """spec.minReadySeconds of the ReplicaSet (the Rollout's, copied by the engine)."""
    try:
        return max(0.0, float((rs.get("spec") or {}).get("minReadySeconds") or 0))
    except (TypeError, ValueError):
        return 0.0


def pod_available(rs: Mapping, start: datetime | None, config: Mapping | None, now: datetime) -> bool:
    """Ready for at least minReadySeconds (ready itself comes readyAfterSeconds after the start)."""
    if crashes(rs, config):
        return False
    start = now if start is None else start  # as _pod_state: an unreadable start is a pod started now
    ready_at = start + timedelta(seconds=ready_after_seconds(rs, config))
    return now >= ready_at + timedelta(seconds=min_ready_seconds(rs))


def _pod_state(rs: Mapping, start: datetime | None, config: Mapping | None, now: datetime) -> tuple[str, bool, int]:
    """(status, ready, restarts) of one pod."""
    if start is None:
        start = now
    age = (now - start).total_seconds()
    if crashes(rs, config):
        return "CrashLoopBackOff", False, max(0, int(age // CRASH_RESTART_SECONDS))
    delay = ready_after_seconds(rs, config)
    if age < delay:
        return ("Pending" if age < delay / 2 else "ContainerCreating"), False, 0
    return "Running", True, 0


def pods_for_replicaset(rs: Mapping, config: Mapping | None, now: datetime) -> list[dict]:
    """The ReplicaSet's pods as plain Pod objects, with deterministic names `<rs>-<5 chars>`."""
    metadata = rs.get("metadata") or {}
    name = metadata.get("name", "")
    namespace = metadata.get("namespace") or "default"
    template = (rs.get("spec") or {}).get("template") or {}
    labels = dict(((template.get("metadata") or {}).get("labels")) or {})
    pod_hash = ((metadata.get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL)) or labels.get(POD_TEMPLATE_HASH_LABEL, "")
    if pod_hash:
        labels[POD_TEMPLATE_HASH_LABEL] = pod_hash
    containers = _containers(rs)
    pods = []
    for index, start_text in enumerate(pod_starts(rs)[: int((rs.get("spec") or {}).get("replicas") or 0)]):
        start = parse_iso(start_text)
        status, ready, restarts = _pod_state(rs, start, config, now)
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{name}-{short_hash(f'{name}/{index}/{start_text}')}",
                    "namespace": namespace,
                    "labels": labels,
                    "creationTimestamp": start_text,
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name, "controller": True}],
                },
                "spec": copy.deepcopy(template.get("spec") or {}),
                "status": {
                    "phase": "Running" if status in ("Running", "CrashLoopBackOff") else "Pending",
                    "reason": status,
                    "ready": f"{len(containers) if ready else 0}/{len(containers)}",
                    "restarts": restarts,
                    "startTime": start_text,
                },
            }
        )
    return pods


def replicaset_status(rs: Mapping, config: Mapping | None, now: datetime) -> dict:
    """status.replicas / readyReplicas / availableReplicas as the ReplicaSet's pods are at `now`
    (the pods `pods_for_replicaset` gives, counted without building them): ready as `_pod_state`
    says, available when also ready for minReadySeconds (`pod_available`)."""
    starts = pod_starts(rs)[: int((rs.get("spec") or {}).get("replicas") or 0)]
    ready = available = 0
    if not crashes(rs, config):
        delay = ready_after_seconds(rs, config)
        for text in starts:
            start = parse_iso(text)
            if (now - (start or now)).total_seconds() >= delay:
                ready += 1
                if pod_available(rs, start, config, now):
                    available += 1
    status = dict(rs.get("status") or {})
    status.update(
        {
            "replicas": len(starts),
            "readyReplicas": ready,
            "availableReplicas": available,
            "fullyLabeledReplicas": len(starts),
            "observedGeneration": (rs.get("metadata") or {}).get("generation", 1),
        }
    )
    return status


def simulate_replicaset(rs: Mapping, config: Mapping | None, now: datetime) -> dict:
    """A copy of the ReplicaSet with its status as its pods are at `now` (replicaset_status)."""
    out = copy.deepcopy(dict(rs))
    out["status"] = replicaset_status(out, config, now)
    return out


def next_change_after(rs: Mapping, config: Mapping | None, now: datetime) -> datetime | None:
    """When the ReplicaSet's availability will next change on its own (a pod becoming ready)."""
    if crashes(rs, config):
        return None
    delay = ready_after_seconds(rs, config)
    best = None
    for text in pod_starts(rs):
        start = parse_iso(text)
        if start is None:
            continue
        ready_at = start + timedelta(seconds=delay)
        available_at = ready_at + timedelta(seconds=min_ready_seconds(rs))
        for moment in (ready_at, available_at):
            if moment > now and (best is None or moment < best):
                best = moment
    return best
