"""progressDeadlineSeconds (default 600), for canary and blue-green alike: no progress of the new
ReplicaSet for that long while not paused -> Degraded with Argo's message ("ReplicaSet "X" has
timed out progressing."), then spec.progressDeadlineAbort decides whether that aborts the update
(engine/progress_abort.py). Progress is a change of the revision, of the rollout's position in it,
or of the new ReplicaSet's available or desired pods; waiting with every pod available (a pause,
an analysis) is not a stalled rollout. Pure."""

from __future__ import annotations

from reconciler.engine import progress_abort
from reconciler.engine.context import Context, iso, rs_available, rs_fully_available, rs_spec_replicas

DEFAULT_PROGRESS_DEADLINE = 600


def check(ctx: Context, paused: bool, position: str | None = None) -> None:
    """`position`: where the rollout is within its revision (the canary's step), part of progress."""
    state = ctx.state
    new_rs = ctx.rs(state.current_hash)
    parts = [str(state.revision), *([position] if position is not None else []), str(rs_available(new_rs)), str(rs_spec_replicas(new_rs))]
    marker = ":".join(parts)
    if paused:
        return  # paused time does not count against the progress deadline
    if marker != state.progress_marker:
        state.progress_marker = marker
        state.last_progress_at = iso(ctx.now)
        state.timed_out_message = ""
        return
    if rs_fully_available(new_rs):
        return
    deadline = ctx.spec.get("progressDeadlineSeconds")
    deadline = DEFAULT_PROGRESS_DEADLINE if deadline is None else int(deadline)
    if not state.timed_out_message and ctx.after_seconds(state.last_progress_at, deadline):
        name = (new_rs or {}).get("metadata", {}).get("name", f"{ctx.name}-{state.current_hash}")
        state.timed_out_message = f'ReplicaSet "{name}" has timed out progressing.'
        ctx.event("ProgressDeadlineExceeded", state.timed_out_message, "Warning")
    progress_abort.check(ctx)  # progressDeadlineAbort: a timed-out update goes back to stable
