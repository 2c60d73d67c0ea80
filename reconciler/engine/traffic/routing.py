"""How the canary strategy drives a traffic router. Pure: edits become `replace` actions.

The order is the safety rule (shared/DESIGN.md rule 7):
- the canary weight is above 0 only once the canary ReplicaSet has an available pod, and it rises
  to a step's weight only once the canary is scaled for that step (before, the previous step's);
- after the last step the stable Service moves first, then every route returns to 100/0 toward
  it, and the old ReplicaSet keeps its pods for scaleDownDelaySeconds (default 30) after that;
- an abort sets 100/0 toward stable at once; the canary keeps its pods for
  abortScaleDownDelaySeconds (default 30), then goes;
- a router the reconciler does not implement, a missing or unusable VirtualService or
  DestinationRule, or one someone else changed, holds the rollout (no weight and no scale
  change) with a message and a Warning event, never a hoped-for weight.
"""

from __future__ import annotations

from datetime import timedelta

from reconciler.engine.context import (
    SCALE_DOWN_DEADLINE_ANNOTATION,
    Context,
    iso,
    parse_iso,
    rs_available,
    rs_hash,
    rs_spec_replicas,
)
from reconciler.engine.scale_down_limit import abort_scale_down_delay, over_limit, revision_limit, scale_down_delay
from reconciler.engine.traffic.base import Readback
from reconciler.engine.traffic.routers import canary_router, unsupported_routers


def _canary(ctx: Context) -> dict:
    return ((ctx.spec.get("strategy") or {}).get("canary")) or {}


def traffic_routing(ctx: Context) -> dict | None:
    value = _canary(ctx).get("trafficRouting")
    return value if isinstance(value, dict) and value else None


def router(ctx: Context):
    found = canary_router(_canary(ctx), ctx.namespace)  # none for pingPong: check() holds the rollout
    if found is not None:
        found.owner = f"{ctx.namespace}/{ctx.name}"
    return found


def _hold(ctx: Context, status: str, message: str) -> None:
    if ctx.state.hold.get("message") != message:
        ctx.event("TrafficRoutingHeld", message, "Warning")
        if status == "Degraded":
            ctx.degraded_now = True
    ctx.state.hold = {"status": status, "message": message}
    ctx.note(f"held: {message}")


def check(ctx: Context) -> bool:
    """Read the routing objects back before anything moves. True: the rollout is held this run."""
    routing = traffic_routing(ctx)
    if _canary(ctx).get("pingPong") is not None:
        _hold(ctx, "Paused", "PingPongNotSupported: spec.strategy.canary.pingPong is not implemented by the reconciler; "
                             "nothing was scaled or re-weighted. Use canaryService and stableService with trafficRouting.istio")
        return True
    if routing is None:
        ctx.state.hold = {}
        return False
    missing = unsupported_routers(routing)
    if missing:
        names = ", ".join(f"trafficRouting.{m}" for m in missing)
        _hold(ctx, "Paused", f"TrafficRoutingNotSupported: {names} is not implemented by the reconciler (istio is); "
                             "nothing was scaled or re-weighted. Use trafficRouting.istio, or remove trafficRouting to split by pod counts")
        return True
    found = router(ctx)
    readback = found.read_back(ctx.traffic)
    if not readback.problem:
        ctx.state.hold = {}
        return False
    settled = ctx.state.current_hash == ctx.state.stable_hash or ctx.state.aborted
    if readback.status == "Paused" and settled:
        # Nothing is being rolled out: every destination is the stable revision, so writing our
        # weights back is safe. Say so, and go on.
        ctx.event("TrafficRoutingRestored", f"{readback.problem}; restored toward stable", "Warning")
        ctx.note(f"restore traffic toward stable ({readback.problem})")
        ctx.state.hold = {}
        return False
    if ctx.state.aborted:
        ctx.state.hold = {}
        return False  # an abort goes on toward stable with whatever can be written
    _hold(ctx, readback.status, readback.problem)
    return True


def _write(ctx: Context, edited: dict, reason: str) -> None:
    for key, after in edited.items():
        before = ctx.traffic.get(key)
        ctx._record("replace", before, after, reason)
        ctx.traffic[key] = after
        kind, _, name = key
        ctx.event(f"Updated{kind}", f"{kind} `{name}` {reason}")


def set_weight(ctx: Context, weight: int, canary_hash: str) -> None:
    found = router(ctx)
    if found is None:
        return
    from reconciler.engine import experiment_step

    extra = experiment_step.weights(ctx)  # an experiment step's templates, while it runs (none once aborted)
    edited = found.set_weight(ctx.traffic, weight, canary_hash, ctx.state.stable_hash, extra=extra) if extra else (
        found.set_weight(ctx.traffic, weight, canary_hash, ctx.state.stable_hash))
    _write(ctx, edited, f"set to desiredWeight '{weight}'")


def step_weight(ctx: Context, weight: int, reached: bool, previous_weight: int, at_end: bool) -> None:
    """The weight for the current step: 0 while the canary has no available pod, the step's once
    the canary is scaled for it, the previous step's meanwhile."""
    found = router(ctx)
    if found is None:
        return
    if at_end:
        weight = found.total
    new_rs = ctx.rs(ctx.state.current_hash)
    if rs_available(new_rs) == 0:
        desired = 0
    elif reached:
        desired = weight
    else:
        desired = min(weight, previous_weight)
    set_weight(ctx, desired, ctx.state.current_hash)


def to_stable(ctx: Context) -> None:
    """Every route 100/0 toward the stable revision and the header/mirror routes gone (promotion
    done, abort, or a settled rollout)."""
    found = router(ctx)
    if found is None:
        return
    set_weight(ctx, 0, ctx.state.stable_hash)
    _write(ctx, found.remove_managed_routes(ctx.traffic), "removed the managed routes")


def route_step(ctx: Context, step: dict) -> bool:
    """setHeaderRoute / setMirrorRoute. Done once the live VirtualService has it (a later run);
    nothing is written while the canary has no available pod."""
    found = router(ctx)
    kind = next(iter(step), "")
    if found is None:
        ctx.note(f"{kind}: needs trafficRouting.istio; nothing to do")
        return True
    name = str((step.get(kind) or {}).get("name") or "")
    if rs_available(ctx.rs(ctx.state.current_hash)) == 0:
        ctx.note(f"{kind} {name}: waiting for an available canary pod")
        return False
    edit = found.set_header_route if kind == "setHeaderRoute" else found.set_mirror_route
    edited = edit(ctx.traffic, step)
    if edited:
        _write(ctx, edited, f"set {'headerRoute' if kind == 'setHeaderRoute' else 'mirrorRoute'} '{name}'")
        return False
    return True


def promoted(ctx: Context, old_stable: str) -> None:
    """The canary became stable: weights back toward it, then the old ReplicaSet may go after
    scaleDownDelaySeconds (recorded on it, as Argo does)."""
    to_stable(ctx)
    old = ctx.rs(old_stable)
    if old is not None and rs_spec_replicas(old) > 0 and old_stable != ctx.state.stable_hash:
        delay = scale_down_delay(_canary(ctx))
        if delay > 0:
            ctx.set_annotation(old, SCALE_DOWN_DEADLINE_ANNOTATION, iso(ctx.now + timedelta(seconds=delay)))


def _has_deadline(rs: dict) -> bool:
    return rs_spec_replicas(rs) > 0 and SCALE_DOWN_DEADLINE_ANNOTATION in ((rs.get("metadata") or {}).get("annotations") or {})


def kept_for_delay(ctx: Context, rs: dict) -> bool:
    """An old ReplicaSet whose scale-down deadline has not passed keeps its pods (routed canaries),
    unless it is past scaleDownDelayRevisionLimit (engine/scale_down_limit.py)."""
    if traffic_routing(ctx) is None:
        return False
    deadline = parse_iso(((rs.get("metadata") or {}).get("annotations") or {}).get(SCALE_DOWN_DEADLINE_ANNOTATION))
    if deadline is None or ctx.now >= deadline or rs_spec_replicas(rs) == 0:
        return False
    protected = (ctx.state.current_hash, ctx.state.stable_hash)
    old = [other for other in ctx.replicasets() if rs_hash(other) not in protected]
    return all(rs_hash(extra) != rs_hash(rs) for extra in over_limit(old, revision_limit(_canary(ctx)), _has_deadline))


def aborted_canary_replicas(ctx: Context) -> int:
    """After an abort the routes go to stable at once; the canary keeps its pods for
    abortScaleDownDelaySeconds (default 30), then scales to 0."""
    new_rs = ctx.rs(ctx.state.current_hash)
    if traffic_routing(ctx) is None or new_rs is None or ctx.state.current_hash == ctx.state.stable_hash:
        return 0
    delay = abort_scale_down_delay(_canary(ctx))
    aborted_at = parse_iso(ctx.state.aborted_at) or ctx.now
    deadline = aborted_at + timedelta(seconds=delay)
    if delay <= 0 or ctx.now >= deadline:
        return 0
    if rs_spec_replicas(new_rs) > 0:
        ctx.set_annotation(new_rs, SCALE_DOWN_DEADLINE_ANNOTATION, iso(deadline))
    return rs_spec_replicas(ctx.rs(ctx.state.current_hash))


def readback(ctx: Context) -> dict | None:
    """The view's traffic: what the (predicted) routing objects say."""
    found = router(ctx)
    if found is None:
        return None
    return readback_view(found.read_back(ctx.traffic))


def readback_view(result: Readback) -> dict:
    return {"weight": result.weight, "total": result.total, "problem": result.problem, "status": result.status, "extra": dict(result.extra)}
