"""The replica counts one reconcile of a canary aims at, read from its strategy spec and current
step: which weight or setCanaryScale applies (`replica_intent`), then the counts of replicas.py's
rules (`canary_counts`). Pure; the rules are stated in words in replicas.py."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.engine.replicas import (
    Pods,
    basic_canary_counts,
    routed_canary_counts,
    surge_and_unavailable,
    weight_to_replicas,
)

# -- which weight / scale applies ------------------------------------------------------------------


def step_value(step: dict, key: str):
    value = step.get(key) if isinstance(step, dict) else None
    return value


def set_weight_at(steps: list[dict], index: int, max_weight: int = 100) -> int:
    """The last setWeight at or before step `index` (0 if none); max weight past the last step."""
    if index >= len(steps):
        return max_weight
    for step in reversed(steps[: index + 1]):
        if step_value(step, "setWeight") is not None:
            return int(step["setWeight"])
    return 0


def set_canary_scale_at(
    steps: list[dict], index: int, routed: bool, aborted: bool = False, abort_delay_zero: bool = False
) -> dict | None:
    """The setCanaryScale in force at step `index`, or None (no routing, none yet, past the last
    step, cancelled by matchTrafficWeight, or dropped on abort unless abortScaleDownDelaySeconds: 0)."""
    if not routed or index >= len(steps):
        return None
    if aborted and not abort_delay_zero:
        return None
    for step in reversed(steps[: index + 1]):
        scale = step_value(step, "setCanaryScale")
        if scale is None:
            continue
        if (scale or {}).get("matchTrafficWeight"):
            return None
        return scale or {}
    return None


def dynamic_abort_weight(
    steps: list[dict], replicas: int, stable_available: int, canary_available: int,
    explicit_abort_delay: bool = False, max_weight: int = 100,
) -> int:
    """On abort with dynamicStableScale: step the weight back down through the setWeight steps,
    so the canary keeps what the stable cannot serve yet."""
    missing_on_stable = replicas - stable_available
    canary_pods = missing_on_stable if explicit_abort_delay else max(missing_on_stable, canary_available)
    for step in reversed(steps):
        if (step_value(step, "setWeight") is not None
                and weight_to_replicas(replicas, int(step["setWeight"]), max_weight) < canary_pods):
            return int(step["setWeight"])
    return 0


# -- one reconcile of a canary, from its spec ----------------------------------------------------------


def max_traffic_weight(canary: dict) -> int:
    routing = canary.get("trafficRouting") or {}
    value = routing.get("maxTrafficWeight") if isinstance(routing, dict) else None
    return int(value) if value else 100


@dataclass(frozen=True)
class CanaryPosition:
    """Where a canary rollout stands, as the replica math reads it: its steps and the current step
    index, whether it is aborted, fully promoted or its canary is the stable one (nothing to split),
    and the pods of its canary (new) and stable ReplicaSets when known."""

    steps: list[dict]
    index: int
    aborted: bool = False
    promote_full: bool = False
    canary_is_stable: bool = False
    new: Pods | None = None
    stable: Pods | None = None


def replica_intent(canary: dict, replicas: int, at: CanaryPosition) -> tuple[int, int | None]:
    """(weight, explicit canary pods or None) the replica math aims at for this rollout state."""
    steps, index, aborted, new, stable = at.steps, at.index, at.aborted, at.new, at.stable
    routed = bool(canary.get("trafficRouting"))
    top = max_traffic_weight(canary)
    if at.promote_full or at.canary_is_stable:
        return top, None
    delay = canary.get("abortScaleDownDelaySeconds")
    scale = set_canary_scale_at(steps, index, routed, aborted, abort_delay_zero=delay is not None and int(delay) == 0)
    if scale is not None:
        if scale.get("replicas") is not None:
            return 0, int(scale["replicas"])
        if scale.get("weight") is not None:
            return int(scale["weight"]), None
    if aborted and routed and canary.get("dynamicStableScale") and new is not None and stable is not None:
        return dynamic_abort_weight(steps, replicas, stable.available, new.available, delay is not None, top), None
    if aborted:
        return 0, None
    return set_weight_at(steps, index, top), None


def canary_counts(
    canary: dict, replicas: int, at: CanaryPosition, *, older_spec: int = 0, actual: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """(canary, stable) spec counts after one Argo reconcile, read from the canary strategy spec.
    `older_spec`: the pods older ReplicaSets ask for; `actual`: the router's live (canary, stable) weights."""
    weight, explicit = replica_intent(canary, replicas, at)
    aborted, promote_full, new, stable = at.aborted, at.promote_full, at.new, at.stable
    top = max_traffic_weight(canary)
    if canary.get("trafficRouting"):
        return routed_canary_counts(
            replicas, weight, canary_replicas=explicit, max_weight=top,
            dynamic_stable_scale=bool(canary.get("dynamicStableScale")), actual=actual, aborted=aborted,
            canary_spec=new.spec if new is not None else None,
            cap_on_abort=new is not None and not promote_full and stable is not None and explicit is None,
            min_pods=canary.get("minPodsPerReplicaSet"),
        )
    surge, unavailable = surge_and_unavailable(replicas, canary.get("maxSurge"), canary.get("maxUnavailable"))
    return basic_canary_counts(replicas, weight, surge, unavailable, new, stable, older_spec, top)
