"""The blue-green strategy: the new revision comes up beside the active one behind the preview
Service; the active Service switches once it is available (autoPromotionEnabled, default true;
autoPromotionSeconds delays it; false pauses for `promote`); the old ReplicaSet is scaled to 0
after scaleDownDelaySeconds (default 30). A revision replaced before promotion is scaled down
at once (seed 002: two image changes before promotion skip the middle revision)."""

from __future__ import annotations

from datetime import timedelta

from reconciler.engine.context import SCALE_DOWN_DEADLINE_ANNOTATION, Context, iso, parse_iso, rs_available, rs_spec_replicas

DEFAULT_SCALE_DOWN_DELAY = 30
DEFAULT_PROGRESS_DEADLINE = 600


def bluegreen_spec(ctx: Context) -> dict:
    return ((ctx.spec.get("strategy") or {}).get("blueGreen")) or {}


def _ensure(ctx: Context, pod_hash: str, replicas: int) -> dict | None:
    rs = ctx.rs(pod_hash)
    if rs is None:
        if replicas > 0:
            return ctx.new_replicaset(pod_hash, ctx.state.revision, replicas)
        return None
    ctx.scale(rs, replicas)
    return ctx.rs(pod_hash)


def _scale_down_old(ctx: Context, keep: set[str]) -> None:
    """Old ReplicaSets: scaled to 0 once their scale-down deadline passed (set when they stopped
    being active); ones that never were active go at once."""
    state = ctx.state
    delay = bluegreen_spec(ctx).get("scaleDownDelaySeconds")
    delay = DEFAULT_SCALE_DOWN_DELAY if delay is None else int(delay)
    for pod_hash, rs in list(ctx.rs_by_hash.items()):
        if pod_hash in keep or rs_spec_replicas(rs) == 0:
            if pod_hash not in keep and pod_hash in state.scale_down_at:
                state.scale_down_at.pop(pod_hash)
                ctx.set_annotation(rs, SCALE_DOWN_DEADLINE_ANNOTATION, None)
            continue
        deadline = state.scale_down_at.get(pod_hash)
        if deadline is None:
            ctx.scale(rs, 0)
            continue
        if parse_iso(deadline) is not None and ctx.now >= parse_iso(deadline):
            ctx.scale(rs, 0)
            state.scale_down_at.pop(pod_hash, None)
            ctx.set_annotation(ctx.rs(pod_hash), SCALE_DOWN_DEADLINE_ANNOTATION, None)
        else:
            ctx.set_annotation(rs, SCALE_DOWN_DEADLINE_ANNOTATION, deadline)


def _check_progress(ctx: Context, paused: bool) -> None:
    state = ctx.state
    new_rs = ctx.rs(state.current_hash)
    marker = f"{state.revision}:{rs_available(new_rs)}:{rs_spec_replicas(new_rs)}"
    if paused:
        return  # paused time does not count against the progress deadline
    if marker != state.progress_marker:
        state.progress_marker = marker
        state.last_progress_at = iso(ctx.now)
        state.timed_out_message = ""
        return
    deadline = ctx.spec.get("progressDeadlineSeconds")
    deadline = DEFAULT_PROGRESS_DEADLINE if deadline is None else int(deadline)
    if not state.timed_out_message and ctx.after_seconds(state.last_progress_at, deadline):
        name = (new_rs or {}).get("metadata", {}).get("name", f"{ctx.name}-{state.current_hash}")
        state.timed_out_message = f'ReplicaSet "{name}" has timed out progressing.'
        ctx.event("ProgressDeadlineExceeded", state.timed_out_message, "Warning")


def plan_bluegreen(ctx: Context) -> str:
    state = ctx.state
    spec = bluegreen_spec(ctx)
    active, preview = spec.get("activeService"), spec.get("previewService")
    replicas = ctx.replicas
    preview_count = spec.get("previewReplicaCount")
    preview_count = replicas if preview_count is None else int(preview_count)

    if not state.stable_hash:
        state.stable_hash = state.current_hash

    if state.aborted:
        _ensure(ctx, state.stable_hash, replicas)
        ctx.point_service(active, state.stable_hash)
        ctx.point_service(preview, state.stable_hash)
        _scale_down_old(ctx, keep={state.stable_hash})
        return f"aborted: active stays on revision {state.revisions.get(state.stable_hash, 0)}"

    if state.current_hash == state.stable_hash:
        state.pause_started_at = None
        state.pause_reason = ""
        _ensure(ctx, state.current_hash, replicas)
        ctx.point_service(active, state.current_hash)
        ctx.point_service(preview, state.current_hash)
        _scale_down_old(ctx, keep={state.current_hash})
        return f"revision {state.revision} is active"

    # In progress: the new revision behind the preview Service, the stable one still active.
    promoting = bool(state.extra.get("bluegreenPromoting"))
    target = replicas if promoting else preview_count
    new_rs = _ensure(ctx, state.current_hash, target)
    ctx.point_service(preview, state.current_hash)
    ctx.point_service(active, state.stable_hash)
    _scale_down_old(ctx, keep={state.current_hash, state.stable_hash} | set(state.scale_down_at))
    ready = rs_spec_replicas(new_rs) == target and rs_available(new_rs) >= target

    promote = state.promote if state.promote and state.promote.get("revision") == state.revision else None
    state.promote = None if promote else state.promote
    auto = spec.get("autoPromotionEnabled", True) is not False
    auto_seconds = spec.get("autoPromotionSeconds")
    go = False
    if ready:
        if promote:
            go = True
        elif auto and auto_seconds is None:
            go = True
        else:
            if not state.pause_reason:
                state.pause_started_at = iso(ctx.now)
                state.pause_reason = "BlueGreenPause"
                ctx.event("RolloutPaused", "Rollout is paused (BlueGreenPause)")
                ctx.note("pause before switching the active Service" + (f" ({int(auto_seconds)}s)" if auto and auto_seconds is not None else ": `reconciler promote` to switch"))
            elif auto and auto_seconds is not None and ctx.after_seconds(state.pause_started_at, float(auto_seconds)):
                go = True
    elif promote:
        state.promote = promote  # keep the gate until the preview is ready
    if go and preview_count < replicas and not promoting:
        state.extra["bluegreenPromoting"] = True
        state.pause_started_at = None
        state.pause_reason = ""
        ctx.scale(ctx.rs(state.current_hash), replicas)
        ctx.note(f"promote: scale revision {state.revision} to {replicas} before switching")
        return f"revision {state.revision} preview, scaling to full size"
    if go:
        old = state.stable_hash
        delay = spec.get("scaleDownDelaySeconds")
        delay = DEFAULT_SCALE_DOWN_DELAY if delay is None else int(delay)
        ctx.point_service(active, state.current_hash)
        state.stable_hash = state.current_hash
        state.promoted_at = iso(ctx.now)
        state.pause_started_at = None
        state.pause_reason = ""
        state.extra.pop("bluegreenPromoting", None)
        if old and ctx.rs(old) is not None and rs_spec_replicas(ctx.rs(old)) > 0:
            deadline = iso(ctx.now + timedelta(seconds=delay))
            state.scale_down_at[old] = deadline
            ctx.set_annotation(ctx.rs(old), SCALE_DOWN_DEADLINE_ANNOTATION, deadline)
        ctx.event("RolloutCompleted", f"Rollout completed update to revision {state.revision} ({state.current_hash}): Completed blue-green update")
        ctx.note(f"switch the active Service to revision {state.revision}; scale the old one down after {delay}s")
        return f"revision {state.revision} is active"
    _check_progress(ctx, bool(state.pause_reason))
    if not ready:
        ctx.note(f"bring revision {state.revision} up to {target} pods behind the preview Service")
    return f"revision {state.revision} in preview"
