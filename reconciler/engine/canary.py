"""The canary strategy: a step machine that moves a rollout at most one step per invocation.

Each step kind has a handler (`STEP_HANDLERS` in canary_steps.py): `enter` runs when the step becomes current,
`complete` says whether the step is observed done. A step's scaling is applied while it is
current (bounded by maxSurge / maxUnavailable, so it may take several runs); the rollout moves to
the next step only in a later run that observes the current one complete. After the last step the
canary becomes stable (weight 100, then promotion once it is fully available).
"""

from __future__ import annotations

from reconciler.engine import analysis, experiment_step, manual_pause, progress
from reconciler.engine.canary_steps import canary_spec, handler_for, step_kind, step_parts, steps_of
from reconciler.engine.context import (
    SCALE_DOWN_DEADLINE_ANNOTATION,
    Context,
    iso,
    rs_available,
    rs_hash,
    rs_spec_replicas,
)
from reconciler.engine.replica_targets import (
    CanaryPosition,
    canary_counts,
    max_traffic_weight,
    replica_intent,
    set_weight_at,
)
from reconciler.engine.replicas import (
    BasicCanaryTarget,
    Pods,
    closest_split,
    settle_basic_canary,
    surge_and_unavailable,
)
from reconciler.engine.traffic import routing

# -- replica targets --------------------------------------------------------------------------------
# The numbers come from reconciler.engine.replicas (Argo's rules, stated there in words); this part
# only reads the rollout's ReplicaSets and applies the counts.


def _rs_pods(rs: dict | None) -> Pods | None:
    if rs is None:
        return None
    return Pods(rs_spec_replicas(rs), int((rs.get("status") or {}).get("availableReplicas") or 0))


def _replica_sets(ctx: Context) -> tuple[dict | None, dict | None, list[dict]]:
    """(canary, stable or None when it is the canary, older ones newest revision first)."""
    state = ctx.state
    new_rs = ctx.rs(state.current_hash)
    stable_rs = ctx.rs(state.stable_hash) if state.stable_hash != state.current_hash else None
    others = [
        rs for rs in ctx.replicasets()
        if rs_hash(rs) not in (state.current_hash, state.stable_hash) and not routing.kept_for_delay(ctx, rs)
    ]
    return new_rs, stable_rs, others


def _live_weights(ctx: Context) -> tuple[int, int] | None:
    """The router's (canary, stable) weights as read back (and as this run has written them so
    far), or None when there is no router or it cannot be read."""
    if routing.traffic_routing(ctx) is None:
        return None
    seen = routing.readback(ctx)
    if not seen or seen.get("problem") or seen.get("weight") is None:
        return None
    total = int(seen.get("total") or max_traffic_weight(canary_spec(ctx)))
    return int(seen["weight"]), total - int(seen["weight"])


def _counts(ctx: Context, new_rs, stable_rs, others) -> tuple[int, int]:
    """(canary, stable) after one Argo reconcile from the ReplicaSets as they are now."""
    spec = canary_spec(ctx)
    actual = _live_weights(ctx)
    if actual is None and spec.get("dynamicStableScale"):
        # Without a router reporting where traffic is, assume it has not moved: the stable
        # stays whole and an aborted canary keeps its pods (never less safe than Argo).
        top = max_traffic_weight(spec)
        actual = (top, top)
    return canary_counts(spec, ctx.replicas, _position(ctx, new_rs, stable_rs), older_spec=sum(rs_spec_replicas(rs) for rs in others), actual=actual)


def _position(ctx: Context, new_rs: dict | None, stable_rs: dict | None) -> CanaryPosition:
    """Where the rollout stands, for the replica math (a missing canary ReplicaSet has no pods)."""
    state = ctx.state
    steps = steps_of(ctx)
    return CanaryPosition(steps, min(state.step_index, len(steps)), aborted=state.aborted,
                          canary_is_stable=state.current_hash == state.stable_hash,
                          new=_rs_pods(new_rs) or Pods(0, 0), stable=_rs_pods(stable_rs))


def _targets_reached(ctx: Context) -> bool:
    """Argo's "at desired replica counts": the next reconcile would change nothing, every canary
    pod is available, and (without routing) no older ReplicaSet has available pods."""
    new_rs, stable_rs, others = _replica_sets(ctx)
    canary, stable = _counts(ctx, new_rs, stable_rs, others)
    if new_rs is None:
        if canary > 0:  # (a canary of 0 pods has no ReplicaSet yet: `setWeight: 0`, or `replicas: 0`)
            return False
    elif rs_spec_replicas(new_rs) != canary or rs_available(new_rs) < canary:
        return False
    routed = bool(canary_spec(ctx).get("trafficRouting"))
    if not (routed and canary_spec(ctx).get("dynamicStableScale")) and rs_spec_replicas(stable_rs) != (stable if stable_rs is not None else 0):
        return False
    return routed or all(rs_available(rs) == 0 for rs in others)


def _targets(ctx: Context) -> tuple[int, int]:
    """(canary, stable) pods the current step aims at, for the run's notes."""
    new_rs, stable_rs, others = _replica_sets(ctx)
    spec = canary_spec(ctx)
    if spec.get("trafficRouting"):
        return _counts(ctx, new_rs, stable_rs, others)
    weight, _ = replica_intent(spec, ctx.replicas, _position(ctx, new_rs, stable_rs))
    surge, _ = surge_and_unavailable(ctx.replicas, spec.get("maxSurge"), spec.get("maxUnavailable"))
    if stable_rs is None:
        return ctx.replicas, 0
    return closest_split(ctx.replicas, weight, surge, max_traffic_weight(spec))


def _move(ctx: Context, keep_canary: int = 0) -> bool:
    """Scale toward the current step's counts as Argo would: without routing, its reconciles are
    replayed (stable, canary, older ReplicaSets) until nothing changes at the observed
    availability; with routing the counts are set directly. `keep_canary`: pods an aborted
    routed canary keeps for abortScaleDownDelaySeconds (the router module decides). True when
    already there."""
    state = ctx.state
    reached = _targets_reached(ctx)
    new_rs, stable_rs, others = _replica_sets(ctx)
    spec = canary_spec(ctx)
    if spec.get("trafficRouting"):
        # A router splits traffic: the canary gets its pods at once; older ReplicaSets serve nothing.
        c, s = _counts(ctx, new_rs, stable_rs, others)
        c = max(c, keep_canary)
        o = [0 for _ in others]
    else:
        surge, unavailable = surge_and_unavailable(ctx.replicas, spec.get("maxSurge"), spec.get("maxUnavailable"))
        weight, _ = replica_intent(spec, ctx.replicas, _position(ctx, new_rs, stable_rs))  # unrouted: the pods do not matter
        c, s, o = settle_basic_canary(
            BasicCanaryTarget(ctx.replicas, weight, surge, unavailable, max_traffic_weight(spec)),
            _rs_pods(new_rs) or Pods(0, 0), _rs_pods(stable_rs), [_rs_pods(rs) for rs in others],
        )
    # The counts were found in Argo's order; the writes go up before down (the new pods are asked
    # for before any old pod is let go), all in this run.
    if new_rs is None and c > 0:
        ctx.new_replicaset(state.current_hash, state.revision, c)
    else:
        ctx.scale(new_rs, c)
    if stable_rs is not None:
        ctx.scale(stable_rs, s)
        _drop_deadline(ctx, stable_rs)  # moved back to a revision still inside its delay: it stays
    if new_rs is not None and not state.aborted:
        _drop_deadline(ctx, new_rs)
    for rs, count in zip(others, o):
        # Scaled to 0, the deadline has nothing left to do (as Argo): it goes in the same write.
        ctx.scale(rs, count, drop_annotation=SCALE_DOWN_DEADLINE_ANNOTATION if count == 0 else None)
    return reached


def _drop_deadline(ctx: Context, rs: dict) -> None:
    current = ctx.rs(rs_hash(rs))
    if current is not None:
        ctx.set_annotation(current, SCALE_DOWN_DEADLINE_ANNOTATION, None)


def _services(ctx: Context, canary_hash: str) -> None:
    spec = canary_spec(ctx)
    ctx.point_service(spec.get("stableService"), ctx.state.stable_hash)
    ctx.point_service(spec.get("canaryService"), canary_hash)


def _check_initial_progress(ctx: Context, reached: bool) -> None:
    """The first revision is stable at once, but it still has a progress deadline (Argo's "Initial
    deploy"): its pods not available within progressDeadlineSeconds -> Degraded, and Healthy again
    once they are. A revision that was once complete is not timed again (Argo neither)."""
    state = ctx.state
    complete = f"complete:{state.revision}"
    if reached:
        if state.progress_marker != complete:
            state.progress_marker = complete
            state.timed_out_message = ""
        return
    if state.progress_marker != complete:
        progress.check(ctx, paused=False, position=str(ctx.state.step_index))


def plan_canary(ctx: Context) -> str:
    state = ctx.state
    steps = steps_of(ctx)
    total = len(steps)

    if not state.stable_hash:
        state.stable_hash = state.current_hash  # the first revision is stable at once (Argo does the same)

    if routing.check(ctx):  # the router's objects are missing, unusable or changed by someone else
        return f"held: {ctx.state.hold.get('message', '')}"

    if not state.aborted and state.current_hash != state.stable_hash:
        canary_analysis(ctx, steps)

    if state.aborted:
        routing.to_stable(ctx)  # traffic back to stable first; the canary keeps its pods abortScaleDownDelaySeconds
        _move(ctx, routing.aborted_canary_replicas(ctx))
        _services(ctx, state.stable_hash)
        return f"aborted: back on stable revision {_stable_revision(ctx)}"

    if state.current_hash == state.stable_hash:
        state.step_index = total
        state.pause_started_at = None
        state.pause_reason = ""
        routing.to_stable(ctx)
        reached = _move(ctx)
        _services(ctx, state.stable_hash)
        if not reached:
            ctx.note(f"scale revision {state.revision} to {ctx.replicas} and old ReplicaSets to 0")
        _check_initial_progress(ctx, reached)
        return f"revision {state.revision} is stable"

    index = min(state.step_index, total)
    targets_reached = _targets_reached(ctx)
    promote = state.promote if state.promote and state.promote.get("revision") == state.revision else None
    if state.promote and promote is None:
        state.promote = None
    if promote and promote.get("step") not in (None, index):
        promote = state.promote = None  # recorded for a step we have left

    if index == 0 and ctx.restart_steps and steps:
        handler_for(steps[0]).enter(ctx, steps[0])  # a new revision enters step 0 in this run

    held = manual_pause.holds(ctx)  # spec.paused: no step is completed, nothing is promoted
    if held:
        promote = None  # a recorded promote waits until Git unpauses (Argo's promote also unpauses)
    if promote and promote.get("full"):
        state.promote = None
        state.step_index = index = total
        state.pause_started_at = None
        state.pause_reason = ""
        ctx.event("RolloutResumed", "Rollout fully promoted: remaining steps skipped")
        ctx.note("promote --full: skip the remaining steps")
    elif index < total:
        step = steps[index]
        done = handler_for(step).complete(ctx, step, targets_reached)
        if state.pause_reason == analysis.INCONCLUSIVE_PAUSE:
            done = False  # an inconclusive background analysis holds every step until a person decides
        if held:
            done = False
        if promote:
            done = True
            state.promote = None
            # The person ended the step, not its own condition: say so, never "done".
            ctx.note(f"promote: step {index + 1}/{total} ({step_kind(step)}) ended by promote")
        if done:
            ctx.event("RolloutStepCompleted", f"Rollout step {index + 1}/{total} completed ({step_kind(step)})")
            index += 1
            state.step_index = index
            state.pause_started_at = None
            state.pause_reason = ""
            state.step_started_at = iso(ctx.now)
            ensure_background(ctx, index)  # reaching startingStep starts it in this run
            if index < total:
                handler_for(steps[index]).enter(ctx, steps[index])
            else:
                ctx.note("all steps done: scale the canary to 100% before it becomes stable")
    elif targets_reached and state.pause_reason != analysis.INCONCLUSIVE_PAUSE and not held:
        # Past the last step and fully available: the canary becomes stable.
        old_stable = state.stable_hash
        state.stable_hash = state.current_hash
        state.progress_marker = f"complete:{state.revision}"  # fully available: its deadline is over
        state.pause_started_at = None
        state.pause_reason = ""
        ctx.event("RolloutCompleted", f"Rollout completed update to revision {state.revision} ({state.current_hash}): Completed all {total} canary steps")
        ctx.note(f"revision {state.revision} becomes stable (was {old_stable})")
        if routing.traffic_routing(ctx) is not None:
            _services(ctx, state.current_hash)  # the stable Service moves first, the weights follow, the old RS goes later
            routing.promoted(ctx, old_stable)
        _move(ctx)
        _services(ctx, state.current_hash)
        return f"revision {state.revision} is stable"

    top = max_traffic_weight(canary_spec(ctx))
    weight = set_weight_at(steps, index, top)
    canary_target, stable_target = _targets(ctx)
    reached = _move(ctx)
    _services(ctx, state.current_hash)
    routing.step_weight(ctx, weight, reached, set_weight_at(steps, index - 1) if index > 0 else 0, index >= total)
    paused = bool(state.pause_reason) or held or experiment_step.running(ctx)  # an experiment's duration is not a stall
    progress.check(ctx, paused, position=str(ctx.state.step_index))
    share = f"{weight}%" if top == 100 else f"{weight} of {top}"
    if not reached and not paused:
        ctx.note(f"scale toward {canary_target} canary / {stable_target} stable pods (weight {share})")
    return f"step {index}/{total}, weight {share}"


def _stable_revision(ctx: Context) -> int:
    return ctx.state.revisions.get(ctx.state.stable_hash, 0)


def _promote_for(ctx: Context, index: int) -> dict | None:
    promote = ctx.state.promote
    if promote and promote.get("revision") == ctx.state.revision and promote.get("step") in (None, index):
        return promote
    return None


def ensure_background(ctx: Context, index: int, promote: dict | None = None) -> dict | None:
    """The background run (`strategy.canary.analysis`) once the rollout reached `startingStep`;
    a new attempt after a retry, or after a person promoted past an inconclusive one."""
    background = canary_spec(ctx).get("analysis")
    if not background or index < int(background.get("startingStep") or 0):
        return None
    latest = analysis.latest_run(ctx, "background")
    acknowledged = latest is not None and latest.get("status") == "Inconclusive" and promote is not None
    return analysis.ensure_run(ctx, "background", background, fresh=ctx.restart_steps or acknowledged)


def canary_analysis(ctx: Context, steps: list[dict]) -> None:
    """Background analysis (`strategy.canary.analysis`, from `startingStep`) and the current
    analysis step's run: Failed or Error aborts the update, Inconclusive pauses it for a person
    (`promote` goes on, `abort` rolls back). Successful runs let the steps continue."""
    state = ctx.state
    index = min(state.step_index, len(steps))
    promote = _promote_for(ctx, index)
    if promote is not None and promote.get("full"):
        return  # promote --full skips analysis, pauses and steps (Argo's usage text says so)
    runs = []
    background = ensure_background(ctx, index, promote)
    if background is not None:
        runs.append(background)
    if index < len(steps) and "analysis" in step_parts(steps[index]) and not ctx.restart_steps:
        runs.append(analysis.ensure_run(ctx, "step", steps[index].get("analysis") or {}, step_index=index))
    for run in runs:
        verdict = analysis.decision(run)
        if verdict == analysis.ABORT:
            analysis.abort_rollout(ctx, analysis.abort_message(ctx, run))
            ctx.note(f"AnalysisRun {run['name']} {run.get('status')}: abort, back to stable")
            return
        if verdict == analysis.PAUSE and promote is None:
            analysis.pause_inconclusive(ctx, run)
    if not state.aborted:
        experiment_step.check(ctx, steps, index)  # a Failed / Error experiment aborts like a failed analysis
