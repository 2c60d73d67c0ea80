"""spec.rollbackWindow: going back to a recent revision is fast. As Argo (rollout/sync.go
isRollbackWithinWindow): the update is a rollback when the ReplicaSet of the new pod template
already exists and was created before the stable one; it is within the window when fewer than
`rollbackWindow.revisions` ReplicaSets (experiments' aside) were created between the two. Within
the window the canary steps, pauses and analysis are skipped and blue-green switches without its
pause or pre-promotion analysis: the update is promoted at once, as `promote --full` would.
Pure."""

from __future__ import annotations

from reconciler.engine.experiment_spec import ARGO_EXPERIMENT_ANNOTATION
from reconciler.timestamps import parse_iso


def _created(rs: dict):
    return parse_iso((rs.get("metadata") or {}).get("creationTimestamp"))


def within(spec: dict, new_rs: dict | None, stable_rs: dict | None, replicasets: list[dict]) -> tuple[bool, int]:
    """(is a rollback within the window, how many ReplicaSets lie between the two)."""
    revisions = int(((spec.get("rollbackWindow") or {}).get("revisions")) or 0)
    if new_rs is None or stable_rs is None or revisions <= 0:
        return False, 0
    new_at, stable_at = _created(new_rs), _created(stable_rs)
    if new_at is None or stable_at is None or not new_at < stable_at:
        return False, 0  # not a rollback: the new template's ReplicaSet is not older than the stable one
    between = 0
    for rs in replicasets:
        if ARGO_EXPERIMENT_ANNOTATION in ((rs.get("metadata") or {}).get("annotations") or {}):
            continue
        created = _created(rs)
        if created is not None and new_at < created < stable_at:
            between += 1
    return between < revisions, between
