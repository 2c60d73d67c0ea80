"""The blue-green strategy: the new revision comes up beside the active one behind the preview
Service; the active Service switches once it is available (autoPromotionEnabled, default true;
autoPromotionSeconds delays it; false pauses for `promote`); the old ReplicaSet is scaled to 0
after scaleDownDelaySeconds (default 30). A revision replaced before promotion is scaled down
at once (seed 002: two image changes before promotion skip the middle revision)."""

from __future__ import annotations

from datetime import timedelta

from reconciler.engine import analysis, manual_pause, progress
from reconciler.engine.context import (
    SCALE_DOWN_DEADLINE_ANNOTATION,
    Context,
    iso,
    parse_iso,
    rs_available,
    rs_hash,
    rs_spec_replicas,
)
from reconciler.engine.replicas import bluegreen_preview_count
from reconciler.engine.scale_down_limit import abort_scale_down_delay, over_limit, revision_limit, scale_down_delay


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
    protected = {state.current_hash, state.stable_hash}
    old = [rs for rs in ctx.replicasets() if rs_hash(rs) not in protected]

    def delayed(rs: dict) -> bool:
        return rs_spec_replicas(rs) > 0 and rs_hash(rs) in state.scale_down_at

    for rs in over_limit(old, revision_limit(bluegreen_spec(ctx)), delayed):
        # Past scaleDownDelayRevisionLimit: its pods go now, not at its deadline.
        ctx.scale(rs, 0, drop_annotation=SCALE_DOWN_DEADLINE_ANNOTATION)
        state.scale_down_at.pop(rs_hash(rs), None)
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


def plan_bluegreen(ctx: Context) -> str:
    state = ctx.state
    spec = bluegreen_spec(ctx)
    active, preview = spec.get("activeService"), spec.get("previewService")
    replicas = ctx.replicas
    preview_count = bluegreen_preview_count(replicas, spec.get("previewReplicaCount"), promoted=False)

    if not state.stable_hash:
        state.stable_hash = state.current_hash

    if not state.aborted and state.current_hash != state.stable_hash and state.promoted_at:
        _post_promotion(ctx, spec)

    if state.aborted:
        return _aborted(ctx, active, preview)

    if state.current_hash == state.stable_hash:
        state.pause_started_at = None
        state.pause_reason = ""
        _ensure(ctx, state.current_hash, replicas)
        ctx.point_service(active, state.current_hash)
        ctx.point_service(preview, state.current_hash)
        _scale_down_old(ctx, keep={state.current_hash})
        return f"revision {state.revision} is active"

    if state.promoted_at:
        # Switched; the post-promotion analysis decides whether the switch stands. The previous
        # revision stays up (it is still the stable one) so a failure can switch straight back.
        _ensure(ctx, state.current_hash, replicas)
        ctx.point_service(active, state.current_hash)
        ctx.point_service(preview, state.current_hash)
        _scale_down_old(ctx, keep={state.current_hash, state.stable_hash} | set(state.scale_down_at))
        return f"revision {state.revision} is active, post-promotion analysis running"

    # In progress: the new revision behind the preview Service, the stable one still active.
    promoting = bool(state.extra.get("bluegreenPromoting"))
    target = replicas if promoting else preview_count
    new_rs = _ensure(ctx, state.current_hash, target)
    ctx.point_service(preview, state.current_hash)
    ctx.point_service(active, state.stable_hash)
    _scale_down_old(ctx, keep={state.current_hash, state.stable_hash} | set(state.scale_down_at))
    ready = rs_spec_replicas(new_rs) == target and rs_available(new_rs) >= target

    promote = state.promote if state.promote and state.promote.get("revision") == state.revision else None
    full = bool(promote and promote.get("full"))
    auto = spec.get("autoPromotionEnabled", True) is not False
    auto_seconds = spec.get("autoPromotionSeconds")
    analysis_passed = True
    if ready and not promoting and spec.get("prePromotionAnalysis") and not full:
        analysis_passed = _pre_promotion(ctx, spec, promote)
        if state.aborted:
            return _aborted(ctx, active, preview)
    go = False
    if ready and promoting:
        go = True  # promotion was decided at preview size; the revision is now at full size
    elif ready and analysis_passed:
        if promote or auto and auto_seconds is None:
            go = True
        else:
            if state.pause_reason != "BlueGreenPause":
                state.pause_started_at = iso(ctx.now)
                state.pause_reason = "BlueGreenPause"
                ctx.event("RolloutPaused", "Rollout is paused (BlueGreenPause)")
                ctx.note("pause before switching the active Service" + (f" ({int(auto_seconds)}s)" if auto and auto_seconds is not None else ": `reconciler promote` to switch"))
            elif auto and auto_seconds is not None and ctx.after_seconds(state.pause_started_at, float(auto_seconds)):
                go = True
    held = manual_pause.holds(ctx)  # spec.paused: the active Service does not switch
    if held:
        go = False
    if promote and not held and (go or (ready and analysis_passed)):
        state.promote = None  # used; otherwise kept until the preview is ready and its analysis passed
    if go and preview_count < replicas and not promoting:
        state.extra["bluegreenPromoting"] = True
        state.pause_started_at = None
        state.pause_reason = ""
        ctx.scale(ctx.rs(state.current_hash), replicas)
        ctx.note(f"promote: scale revision {state.revision} to {replicas} before switching")
        return f"revision {state.revision} preview, scaling to full size"
    if go:
        return _switch(ctx, spec, active)
    progress.check(ctx, bool(state.pause_reason) or held)
    if not ready:
        ctx.note(f"bring revision {state.revision} up to {target} pods behind the preview Service")
    return f"revision {state.revision} in preview"


def _aborted(ctx: Context, active: str | None, preview: str | None) -> str:
    state = ctx.state
    if state.stable_hash in state.scale_down_at:
        # It was about to be scaled down after a switch that did not stand: it is active again.
        state.scale_down_at.pop(state.stable_hash)
        ctx.set_annotation(ctx.rs(state.stable_hash), SCALE_DOWN_DEADLINE_ANNOTATION, None)
    _ensure(ctx, state.stable_hash, ctx.replicas)
    ctx.point_service(active, state.stable_hash)
    ctx.point_service(preview, state.stable_hash)
    keep = {state.stable_hash}
    aborted_rs = ctx.rs(state.current_hash) if state.current_hash != state.stable_hash else None
    if aborted_rs is not None and rs_spec_replicas(aborted_rs) > 0:
        # abortScaleDownDelaySeconds (default 30; 0 keeps it): the aborted revision stays up a while,
        # as in seed 001 where the failed revision still runs its pods right after the switch back.
        delay = abort_scale_down_delay(bluegreen_spec(ctx))
        aborted_at = parse_iso(state.aborted_at)
        if delay == 0:
            keep.add(state.current_hash)
        elif aborted_at is not None and ctx.now < aborted_at + timedelta(seconds=delay):
            keep.add(state.current_hash)
            ctx.set_annotation(aborted_rs, SCALE_DOWN_DEADLINE_ANNOTATION, iso(aborted_at + timedelta(seconds=delay)))
    _scale_down_old(ctx, keep=keep)
    if state.current_hash not in keep and ctx.rs(state.current_hash) is not None:
        ctx.set_annotation(ctx.rs(state.current_hash), SCALE_DOWN_DEADLINE_ANNOTATION, None)
    return f"aborted: active stays on revision {state.revisions.get(state.stable_hash, 0)}"


def _switch(ctx: Context, spec: dict, active: str | None) -> str:
    """Point the active Service at the new revision. Without post-promotion analysis the update is
    complete; with it, the previous revision stays stable until the analysis passes."""
    state = ctx.state
    old = state.stable_hash
    delay = scale_down_delay(spec)
    ctx.point_service(active, state.current_hash)
    state.promoted_at = iso(ctx.now)
    state.pause_started_at = None
    state.pause_reason = ""
    state.extra.pop("bluegreenPromoting", None)
    if old and ctx.rs(old) is not None and rs_spec_replicas(ctx.rs(old)) > 0:
        deadline = iso(ctx.now + timedelta(seconds=delay))
        state.scale_down_at[old] = deadline
        ctx.set_annotation(ctx.rs(old), SCALE_DOWN_DEADLINE_ANNOTATION, deadline)
    post = spec.get("postPromotionAnalysis")
    if post:
        analysis.ensure_run(ctx, "post", post)
        ctx.note(f"switch the active Service to revision {state.revision}; post-promotion analysis decides whether it stands")
        return f"revision {state.revision} is active, post-promotion analysis started"
    _complete(ctx)
    ctx.note(f"switch the active Service to revision {state.revision}; scale the old one down after {delay}s")
    return f"revision {state.revision} is active"


def _complete(ctx: Context) -> None:
    state = ctx.state
    state.stable_hash = state.current_hash
    ctx.event("RolloutCompleted", f"Rollout completed update to revision {state.revision} ({state.current_hash}): Completed blue-green update")


def _pre_promotion(ctx: Context, spec: dict, promote: dict | None) -> bool:
    """prePromotionAnalysis on the preview: True once it passed (or a person promoted past an
    inconclusive run). Failed aborts the update; the active Service never moved."""
    run = analysis.ensure_run(ctx, "pre", spec["prePromotionAnalysis"])
    verdict = analysis.decision(run)
    if verdict == analysis.ABORT:
        analysis.abort_rollout(ctx, analysis.abort_message(ctx, run))
        ctx.note(f"pre-promotion AnalysisRun {run['name']} {run.get('status')}: abort, the active Service stays")
        return False
    if verdict == analysis.PAUSE:
        if promote:
            return True
        analysis.pause_inconclusive(ctx, run)
        return False
    if verdict == analysis.WAIT:
        ctx.note(f"waiting for pre-promotion AnalysisRun {run['name']} ({run.get('status')})")
        return False
    if ctx.state.pause_reason == analysis.INCONCLUSIVE_PAUSE:
        ctx.state.pause_reason = ""
        ctx.state.pause_started_at = None
    return True


def _post_promotion(ctx: Context, spec: dict) -> None:
    """After the switch: Successful completes the update; Failed switches the active Service back
    to the previous revision and marks the rollout Degraded (seed 001); Inconclusive pauses."""
    state = ctx.state
    post = spec.get("postPromotionAnalysis")
    promote = state.promote if state.promote and state.promote.get("revision") == state.revision else None
    if not post or (promote and promote.get("full")):
        state.promote = None
        _complete(ctx)
        return
    run = analysis.ensure_run(ctx, "post", post)
    verdict = analysis.decision(run)
    if verdict == analysis.CONTINUE or (verdict == analysis.PAUSE and promote):
        state.promote = None
        state.pause_started_at = None
        state.pause_reason = ""
        _complete(ctx)
        ctx.note(f"post-promotion AnalysisRun {run['name']} {run.get('status')}: revision {state.revision} is stable")
    elif verdict == analysis.ABORT:
        analysis.abort_rollout(ctx, analysis.abort_message(ctx, run))
        ctx.note(f"post-promotion AnalysisRun {run['name']} {run.get('status')}: switch the active Service back")
    elif verdict == analysis.PAUSE:
        analysis.pause_inconclusive(ctx, run)
    else:
        ctx.note(f"waiting for post-promotion AnalysisRun {run['name']} ({run.get('status')})")
