"""A pod as the views show it (`get rollout`, `get experiment`): name, status as kubectl words it,
ready containers, restarts, creation time. Pure."""

from __future__ import annotations


def pod_entry(pod: dict) -> dict:
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    ready = status.get("ready")
    if ready is None:  # a real Pod: count ready containers
        statuses = status.get("containerStatuses") or []
        ready = f"{sum(1 for c in statuses if c.get('ready'))}/{len(statuses) or len((pod.get('spec') or {}).get('containers') or [])}"
        restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
        if meta.get("deletionTimestamp"):
            reason = "Terminating"
        else:
            waiting = next((c.get("state", {}).get("waiting", {}).get("reason") for c in statuses if c.get("state", {}).get("waiting")), None)
            reason = waiting or status.get("phase") or "Pending"
    else:
        restarts = int(status.get("restarts") or 0)
    entry = {"name": meta.get("name", ""), "status": reason, "ready": ready, "createdAt": meta.get("creationTimestamp")}
    if restarts:
        entry["restarts"] = restarts
    return entry
