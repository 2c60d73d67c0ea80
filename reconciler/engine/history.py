"""revisionHistoryLimit: how many old ReplicaSets a rollout keeps.

As Argo (rollout/sync.go cleanupRollouts; TestReconcileRevisionHistoryLimit): the ReplicaSets that
are neither the current revision nor the stable one (nor one a Service selects, nor one in its
scale-down delay) are "old"; when
there are more than `spec.revisionHistoryLimit` of them (default 10), the oldest ones are deleted,
but only those with no pods (spec 0 and no pod left in status). Keeping a ReplicaSet keeps its
revision available to `undo` without a new ReplicaSet. Pure: it only says which to delete.
"""

from __future__ import annotations

from reconciler.engine.context import rs_hash, rs_revision, rs_spec_replicas

DEFAULT_REVISION_HISTORY_LIMIT = 10


def history_limit(spec: dict) -> int:
    value = spec.get("revisionHistoryLimit")
    try:
        return DEFAULT_REVISION_HISTORY_LIMIT if value is None else max(0, int(value))
    except (TypeError, ValueError):
        return DEFAULT_REVISION_HISTORY_LIMIT


def _age_key(rs: dict) -> tuple:
    created = str((rs.get("metadata") or {}).get("creationTimestamp") or "")
    return (created, rs_revision(rs), str((rs.get("metadata") or {}).get("name") or ""))


def to_delete(replicasets: list[dict], keep_hashes: set[str], limit: int) -> list[dict]:
    """The old ReplicaSets past the limit, oldest first, that have no pods."""
    old = sorted((rs for rs in replicasets if rs_hash(rs) not in keep_hashes), key=_age_key)
    excess = len(old) - limit
    if excess <= 0:
        return []
    empty = lambda rs: rs_spec_replicas(rs) == 0 and int((rs.get("status") or {}).get("replicas") or 0) == 0  # noqa: E731
    return [rs for rs in old[:excess] if empty(rs)]


def prune(ctx) -> None:
    """Delete the old ReplicaSets past spec.revisionHistoryLimit: judged on the ReplicaSets as read
    (no pods left), never one this run scales."""
    state = ctx.state
    keep = {state.current_hash, state.stable_hash} | set(state.scale_down_at)
    keep |= {ctx.service_hash(name) for name in ctx.services} - {""}  # active / preview / canary / stable selectors
    for rs in to_delete(list(ctx.live.replicasets), keep, history_limit(ctx.spec)):
        planned = ctx.rs(rs_hash(rs))
        if planned is not None and rs_spec_replicas(planned) == 0:
            ctx.delete_replicaset(planned, f"revision {rs_revision(rs)} is past revisionHistoryLimit ({history_limit(ctx.spec)})")
