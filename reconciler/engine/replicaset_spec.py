"""What the engine puts on a ReplicaSet beyond the Rollout's pod template, as Argo does in
rollout/sync.go (newReplicaSet at creation, syncReplicaSetRevision afterwards):

- `spec.minReadySeconds` = the Rollout's spec.minReadySeconds: a pod counts as available once it
  has been ready that long (the ReplicaSet controller, and the embedded cluster's simulated
  kubelet, count availableReplicas that way; every availability the engine judges — step done,
  Service switch, progress deadline — reads that count). Set on a new ReplicaSet and kept in sync
  on the current one (Argo syncs the new ReplicaSet only; older ones keep theirs).

- the role's ephemeral metadata on the pod template (canaryMetadata / stableMetadata,
  previewMetadata / activeMetadata; engine/metadata.py), moved when the role moves;
- the injected anti-affinity against the stable revision's pods (antiAffinity;
  engine/anti_affinity.py), on a new ReplicaSet, re-pointed on the current one when the stable moves.

`for_new(ctx, rs)` decorates a ReplicaSet before it is created (so its first pods already have
what it says); `sync(ctx)` brings the existing ReplicaSets in line with the roles they hold after
this run's planning. Pure.
"""

from __future__ import annotations

from reconciler.engine import anti_affinity, metadata
from reconciler.engine.hashing import rs_hash
from reconciler.engine.state import plain_copy


def min_ready_seconds(spec: dict) -> int:
    try:
        return max(0, int(spec.get("minReadySeconds") or 0))
    except (TypeError, ValueError):
        return 0


def _with_min_ready(rs: dict, seconds: int) -> dict:
    out = plain_copy(rs)
    if seconds:
        out.setdefault("spec", {})["minReadySeconds"] = seconds
    else:
        out.setdefault("spec", {}).pop("minReadySeconds", None)
    return out


def _strategy(ctx) -> dict:
    return ctx.spec.get("strategy") or {}


def _role_metadata(ctx, pod_hash: str) -> dict:
    role = metadata.roles(ctx.state.current_hash, ctx.state.stable_hash).get(pod_hash)
    return metadata.role_metadata(_strategy(ctx), role) if role else {}


def _with_affinity(rs: dict, affinity: dict | None) -> dict:
    out = plain_copy(rs)
    pod_spec = out.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
    if affinity:
        pod_spec["affinity"] = affinity
    else:
        pod_spec.pop("affinity", None)
    return out


def for_new(ctx, rs: dict) -> dict:
    """The ReplicaSet to create, with what its role asks for."""
    pod_hash = rs_hash(rs)
    out = _with_min_ready(rs, min_ready_seconds(ctx.spec))
    if anti_affinity.strategy_anti_affinity(_strategy(ctx)) is not None:
        own = ((out["spec"].get("template") or {}).get("spec") or {}).get("affinity")
        out = _with_affinity(out, anti_affinity.generate(own, _strategy(ctx), pod_hash, ctx.state.stable_hash, ctx.namespace))
    wanted = _role_metadata(ctx, pod_hash)
    if wanted:
        out = metadata.apply(out, wanted, (out.get("spec") or {}).get("selector") or {})
    return out


def sync(ctx) -> None:
    """Replace the existing ReplicaSets whose engine-set fields no longer match their role."""
    created = {a.name for a in ctx.actions if a.verb == "create" and a.kind == "ReplicaSet"}
    state = ctx.state
    for pod_hash, rs in list(ctx.rs_by_hash.items()):
        if rs["metadata"].get("name") in created:
            continue  # for_new gave it everything
        after, reasons = rs, []
        if pod_hash == state.current_hash:
            seconds = min_ready_seconds(ctx.spec)
            if int((rs.get("spec") or {}).get("minReadySeconds") or 0) != seconds:
                after = _with_min_ready(after, seconds)
                reasons.append(f"minReadySeconds {seconds}")
            own = (((after.get("spec") or {}).get("template") or {}).get("spec") or {}).get("affinity")
            if anti_affinity.strategy_anti_affinity(_strategy(ctx)) is not None and anti_affinity.needs_update(own, pod_hash, state.stable_hash):
                after = _with_affinity(after, anti_affinity.generate(own, _strategy(ctx), pod_hash, state.stable_hash, ctx.namespace))
                reasons.append(f"anti-affinity against the stable revision's pods ({state.stable_hash})")
        wanted = _role_metadata(ctx, pod_hash)
        if wanted or metadata.record(after):
            moved = metadata.apply(after, wanted, (after.get("spec") or {}).get("selector") or {})
            if moved != after:
                after = moved
                reasons.append("pod metadata of its role" if wanted else "its role's pod metadata removed")
        if reasons:
            ctx._replace_rs(rs, after, "; ".join(reasons))
