"""plan(desired, live, state, now) -> Plan: the pure core. No I/O, no clock, no randomness.

Common to both strategies: the manual gates (promote / abort / retry, from the CLI through the
recorded state or from Git through annotations on the Rollout manifest), revision bookkeeping (a
new pod template is a new revision; a template matching an old ReplicaSet reuses it under a new
revision number), then one strategy file (canary.py, bluegreen.py) moves the rollout at most one
step. The view (`view.py`) is computed from the predicted objects and the next state.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from reconciler import PREFIX
from reconciler.engine import analysis, rebuild, restart, rollback_window, traffic_safety
from reconciler.engine import view as view_mod
from reconciler.engine.context import Context, iso
from reconciler.engine.hashing import pod_template_hash
from reconciler.engine.model import Desired, Event, Live, Plan
from reconciler.engine.state import RolloutState
from reconciler.plain_data import plain as _plain

# Git gates: annotations a person commits on the Rollout manifest. The value names the revision
# the gate is for, so it acts once and a stale one does nothing: "3", or "3:full" for promote.
GATE_ANNOTATIONS = {"promote": f"{PREFIX}/promote", "abort": f"{PREFIX}/abort", "retry": f"{PREFIX}/retry"}
MAX_CONSUMED_GATES = 20


def strategy_of(desired: Desired) -> str:
    return "BlueGreen" if "blueGreen" in ((desired.spec.get("strategy")) or {}) else "Canary"


def desired_summary(desired: Desired, previous: dict | None = None) -> dict:
    """What `get rollout` needs without a SOURCE, recorded with the state."""
    spec = desired.spec
    strategy = spec.get("strategy") or {}
    canary = strategy.get("canary") or {}
    bluegreen = strategy.get("blueGreen") or {}
    summary = {
        "name": desired.name,
        "namespace": desired.namespace,
        "strategy": strategy_of(desired),
        "replicas": 1 if spec.get("replicas") is None else int(spec.get("replicas")),
        "steps": [dict(step) for step in canary.get("steps") or []],
        "trafficRouted": bool(canary.get("trafficRouting")),
        "trafficRouting": canary.get("trafficRouting") or None,  # so `get rollout` can read the router's objects
        "canaryService": canary.get("canaryService"),
        "stableService": canary.get("stableService"),
        "activeService": bluegreen.get("activeService"),
        "previewService": bluegreen.get("previewService"),
        "createdAt": (previous or {}).get("createdAt"),
    }
    from reconciler.fields import set_fields

    ignored = [entry.path for entry, _ in set_fields("Rollout", desired.rollout) if not entry.reported_by]
    if ignored:
        summary["notActedOn"] = ignored  # named in the rollout's message (engine/view.py phase)
    if canary.get("pingPong"):
        summary["pingPong"] = True  # not implemented: no router is read for the view (engine/traffic/base.py)
    if spec.get("paused") is True:
        summary["paused"] = True  # spec.paused: shown as Paused, "manually paused" (engine/manual_pause.py)
    return _plain(summary)



def _parse_gate(value: str) -> tuple[int | None, bool]:
    text = str(value).strip()
    full = text.endswith(":full")
    if full:
        text = text[: -len(":full")]
    text = text.removeprefix("revision=").removeprefix("revision:")
    try:
        return int(text), full
    except ValueError:
        return None, full


def _read_git_gates(ctx: Context) -> None:
    """Turn Git gate annotations into recorded gates, once each."""
    state = ctx.state
    for gate, key in GATE_ANNOTATIONS.items():
        value = ctx.desired.annotations.get(key)
        if value is None:
            continue
        token = f"{gate}={value}"
        if token in state.gates_consumed:
            continue
        revision, full = _parse_gate(value)
        if revision is None:
            ctx.note(f"ignored {key}: {value!r} does not name a revision (write e.g. \"{state.revision or 2}\")")
            continue
        if revision != state.revision:
            continue  # for another revision: wait (it may be the next one) or stale; acts only when it matches
        state.gates_consumed = (state.gates_consumed + [token])[-MAX_CONSUMED_GATES:]
        if gate == "promote":
            state.promote = {"revision": revision, "step": None, "full": full, "source": "git"}
        else:
            setattr(state, gate, {"revision": revision, "source": "git"})
        ctx.note(f"{gate} requested in Git ({key}: {value})")


def _gate_for(state: RolloutState, name: str) -> dict | None:
    gate = getattr(state, name)
    if not gate:
        return None
    if gate.get("revision") not in (None, state.revision):
        setattr(state, name, None)  # stale: asked for another revision
        return None
    return gate


def _track_revision(ctx: Context, current: str) -> None:
    """A changed pod template (hash `current`) is a new revision (1, 2, ...); an old ReplicaSet
    with the same hash is reused under the new number (undo: revision 4 made from revision 2's template)."""
    state = ctx.state
    if current == state.current_hash and state.revision:
        rs = ctx.rs(current)
        if rs is not None:
            ctx.set_revision(rs, state.revision)
        return
    existing = ctx.rs(current)
    # (A lost or contradicting state never gets here: rebuild.examine rebuilt it from the cluster.)
    revision = ctx.max_revision() + 1
    state.revision = revision
    state.current_hash = current
    state.revisions[current] = revision
    state.step_index = 0
    state.pause_started_at = None
    state.pause_reason = ""
    state.aborted = False
    state.aborted_message = ""
    state.aborted_at = None
    state.timed_out_message = ""
    state.promote = state.abort = state.retry = None
    state.promoted_at = None
    state.step_started_at = iso(ctx.now)
    state.last_progress_at = iso(ctx.now)
    state.progress_marker = ""
    ctx.restart_steps = True
    ctx.event("RolloutUpdated", f"Rollout updated to revision {revision}")
    ctx.note(f"new revision {revision} (pod template {current})")
    if existing is not None:
        ctx.set_revision(existing, revision)
        _rollback_window(ctx, existing)


def _rollback_window(ctx: Context, existing: dict) -> None:
    """spec.rollbackWindow: back to a recent revision, promoted at once (engine/rollback_window.py)."""
    state = ctx.state
    stable = ctx.rs(state.stable_hash) if state.stable_hash and state.stable_hash != state.current_hash else None
    fast, between = rollback_window.within(ctx.spec, existing, stable, list(ctx.rs_by_hash.values()))
    if not fast:
        return
    limit = (ctx.spec.get("rollbackWindow") or {}).get("revisions")
    state.promote = {"revision": state.revision, "step": None, "full": True, "source": "rollbackWindow"}
    ctx.event("RollbackWithinWindow", f"Rollback within the window ({between} revision(s) between, rollbackWindow.revisions {limit}): steps skipped")
    ctx.note(f"rollback within rollbackWindow ({between} < {limit}): promoted at once, steps and analysis skipped")


def steps_hash(steps: list) -> str:
    return hashlib.sha256(json.dumps(steps, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _track_steps(ctx: Context) -> None:
    """A change of only `steps` (same pod template) restarts an update in progress at step 0, as
    Argo does when its currentStepHash changes (TestResetCurrentStepIndexOnStepChange): the step
    index counted in the old list means nothing in the new one."""
    state = ctx.state
    current = steps_hash(ctx.state.desired_summary.get("steps") or [])
    previous, state.steps_hash = state.steps_hash, current
    if not previous or previous == current or ctx.restart_steps:
        return
    if state.current_hash == state.stable_hash or state.aborted:
        return  # nothing in progress: the new steps apply to the next update
    state.step_index = 0
    state.pause_started_at = None
    state.pause_reason = ""
    state.promote = None
    state.step_started_at = iso(ctx.now)
    state.last_progress_at = iso(ctx.now)
    ctx.restart_steps = True
    ctx.note(f"the canary steps changed: revision {state.revision} starts again at step 0")


def _resolve_halt(ctx: Context) -> bool:
    """A person's decision on a rollout halted by lost state (rebuild.py): True when it may go on.
    promote: go on from the rebuilt picture; abort: back to the named stable; retry: step 0."""
    state = ctx.state
    promote, abort, retry = (_gate_for(state, gate) for gate in ("promote", "abort", "retry"))
    if not (promote or abort or retry):
        return False
    state.halted = None
    if abort:
        state.promote = state.retry = None  # _apply_gates aborts
        ctx.note("abort: the halted rollout goes back to its stable revision")
    elif retry:
        state.promote = None
        state.aborted = True  # _apply_gates restarts an aborted update at step 0
        ctx.note("retry: the halted rollout restarts at step 0")
    else:
        # Accepts the rebuilt picture; a blue-green switch whose analysis result was lost is accepted whole.
        state.promote = {"revision": state.revision, "step": None, "full": True, "source": promote.get("source")} if state.promoted_at else None
        ctx.note("promote: the halted rollout goes on from the rebuilt state")
    return True


def _state_plan(ctx: Context, previous: RolloutState, *, halted: bool, said: str = "") -> Plan:
    """A run that only records a rebuilt (or halted) state: no live object is written."""
    state = ctx.state
    replicasets = list(ctx.live.replicasets)
    status, message = view_mod.phase(state.desired_summary, state, replicasets, ctx.live.services)
    if halted:
        finding = {"severity": "error", "message": f"rollout halted, state lost: {state.halted['message']}", "hint": state.halted["hint"]}
        events = [] if previous.halted else [Event("StateLost", state.halted["message"], "Warning")]
        where, next_text = "halted: the recorded state was lost", state.halted["hint"]
    else:
        finding = {"severity": "warning", "message": said, "hint": "nothing else changes in this run; the next run goes on from here"}
        events = [Event("StateRebuilt", said, "Warning")]
        where, next_text = "state rebuilt from the cluster", "record the rebuilt state; no other change in this run"
    return Plan(
        namespace=ctx.namespace,
        name=ctx.name,
        strategy=strategy_of(ctx.desired),
        actions=[],
        state=state,
        events=events,
        status=status,
        message=message,
        where=where,
        next=next_text,
        degraded_now=halted,
        view=view_mod.rollout_view(state.desired_summary, replicasets, state, ctx.now, services=ctx.live.services),
        state_finding=finding,
    )


def _apply_gates(ctx: Context) -> None:
    state = ctx.state
    retry = _gate_for(state, "retry")
    if retry is not None:
        state.retry = None
        if state.aborted:
            state.aborted = False
            state.aborted_message = ""
            state.aborted_at = None
            analysis.supersede_runs(ctx)
            state.step_index = 0
            state.pause_started_at = None
            state.pause_reason = ""
            state.step_started_at = iso(ctx.now)
            state.last_progress_at = iso(ctx.now)
            state.timed_out_message = ""
            ctx.restart_steps = True
            ctx.event("RolloutRetried", f"Rollout retried update to revision {state.revision}")
            ctx.note("retry: the aborted update starts again at step 0")
    promote = _gate_for(state, "promote")
    if promote is not None and promote.get("full") and state.aborted:
        # Argo's promote --full clears the abort and the pauses and skips what is left, analysis too.
        state.aborted = False
        state.aborted_message = ""
        state.aborted_at = None
        state.pause_started_at = None
        state.pause_reason = ""
        state.timed_out_message = ""
        state.last_progress_at = iso(ctx.now)
        analysis.supersede_runs(ctx)
        ctx.note(f"promote --full: the abort is lifted; revision {state.revision} goes to 100%")
    abort = _gate_for(state, "abort")
    if abort is not None:
        state.abort = None
        if not state.aborted and state.current_hash != state.stable_hash:
            analysis.abort_rollout(ctx, f"Rollout aborted update to revision {state.revision}")
            ctx.note("abort: traffic and selectors go back to stable, the new revision is scaled down")


def plan(desired: Desired, live: Live, state: RolloutState, now: datetime) -> Plan:
    from reconciler.engine import bluegreen, canary, experiment_step, history, replicaset_spec, workload
    from reconciler.engine.traffic import routing

    ctx = Context(desired=desired, live=live, state=state.copy(), now=now)
    ctx.state.desired_summary = desired_summary(desired, state.desired_summary)
    if not ctx.state.desired_summary.get("createdAt"):
        created = [str((rs.get("metadata") or {}).get("creationTimestamp") or "") for rs in live.replicasets]
        created = [c for c in created if c]
        ctx.state.desired_summary["createdAt"] = min(created) if created else iso(now)
    previous_status = view_mod.phase(ctx.state.desired_summary, state, live.replicasets, live.services)[0] if state.revision else ""
    # Lost, unreadable or contradicting state: rebuilt from the live objects (recorded alone, this
    # run changes nothing else), or halted until a person decides. Never an advance on a guess.
    template_hash = pod_template_hash(ctx.template)
    verdict = rebuild.examine(desired, live, ctx.state, now, template_hash=template_hash, recorded_replicas=rebuild.recorded_replicas(state))
    ctx.state = verdict.state
    if ctx.state.halted:
        _read_git_gates(ctx)
        if not _resolve_halt(ctx):
            return _state_plan(ctx, state, halted=True)
    elif verdict.rebuilt:
        return _state_plan(ctx, state, halted=False, said=verdict.rebuilt)
    analysis.advance(ctx)
    _track_revision(ctx, template_hash)
    if strategy_of(desired) == "Canary":
        _track_steps(ctx)
    _read_git_gates(ctx)
    _apply_gates(ctx)
    if ctx.state.promote and ctx.state.promote.get("full") and ctx.state.promote.get("revision") == ctx.state.revision:
        ctx.state.extra[rebuild.PROMOTED_FULL] = ctx.state.revision  # steps skipped on purpose: not a stale step
    strategy = strategy_of(desired)
    unresolved = workload.unresolved(desired.rollout)
    if unresolved:  # never an empty ReplicaSet: nothing moves until the template is there
        ctx.state.hold = {"status": "Degraded", "message": f"InvalidSpec: {unresolved}"}
        where = f"held: {unresolved}"
    elif strategy == "BlueGreen":
        ctx.state.hold = {}  # (a canary's router re-checks its own hold)
        where = bluegreen.plan_bluegreen(ctx)
    else:
        where = canary.plan_canary(ctx)
        experiment_step.settle(ctx)  # experiments no longer the current step's are terminated
    replicaset_spec.sync(ctx)  # minReadySeconds (and role metadata) on the existing ReplicaSets
    history.prune(ctx)
    analysis.finish(ctx)
    restart.plan_restart(ctx)  # spec.restartAt: at most one pod, only in a run that moves nothing else
    traffic_safety.guard(ctx)  # no selector on a ReplicaSet without pods; selectors move before scale-downs
    next_state = ctx.state
    replicasets = list(ctx.rs_by_hash.values())
    status, message = view_mod.phase(next_state.desired_summary, next_state, replicasets, ctx.services)
    if status == "Degraded" and previous_status != "Degraded" and (next_state.aborted or next_state.timed_out_message or next_state.hold):
        ctx.degraded_now = True
    workload.plan_scale_down(ctx, status)
    traffic = routing.readback(ctx) if strategy == "Canary" else None
    rollout_view = view_mod.rollout_view(next_state.desired_summary, replicasets, next_state, now, services=ctx.services, traffic=traffic,
                                         experiment_replicasets=experiment_step.replica_sets_of(ctx))
    return Plan(
        namespace=desired.namespace,
        name=desired.name,
        strategy=strategy,
        actions=ctx.actions,
        state=next_state,
        events=ctx.events,
        status=status,
        message=message,
        where=where,
        next="; ".join(ctx.notes) if ctx.notes else ("nothing to do" if not ctx.actions else ""),
        degraded_now=ctx.degraded_now,
        view=rollout_view,
    )
