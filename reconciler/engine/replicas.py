"""Replica math for canary weights (seed 002, section on replica counts)."""

from __future__ import annotations

import math


def canary_split(replicas: int, weight: int, traffic_routed: bool) -> tuple[int, int]:
    """(canary, stable) replica counts for a canary at `weight` percent.

    Without traffic routing the weight is realised by pod counts (formula 1):
        canary = ceil(replicas * weight / 100), stable = replicas - canary
    With a traffic router the router splits traffic, so stable stays whole (formula 2):
        canary = ceil(replicas * weight / 100), stable = replicas
    """
    weight = max(0, min(100, weight))
    canary = math.ceil(replicas * weight / 100)
    stable = replicas if traffic_routed else replicas - canary
    return canary, stable


def resolve_int_or_percent(value, replicas: int, round_up: bool, default: str = "25%") -> int:
    """maxSurge / maxUnavailable: an int, or "N%" of replicas (surge rounds up, unavailable down)."""
    if value is None:
        value = default
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            percent = float(value.strip()[:-1])
        except ValueError:
            percent = float(default[:-1])
        exact = replicas * percent / 100
        return int(math.ceil(exact)) if round_up else int(math.floor(exact))
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return resolve_int_or_percent(default, replicas, round_up, default)


def surge_and_unavailable(replicas: int, max_surge, max_unavailable) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods, defaults 25 %/25 %; both 0 would deadlock, so unavailable becomes 1."""
    surge = resolve_int_or_percent(max_surge, replicas, round_up=True)
    unavailable = resolve_int_or_percent(max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def step_toward(
    replicas: int,
    canary_target: int,
    stable_target: int,
    surge: int,
    unavailable: int,
    canary: tuple[int, int],
    stable: tuple[int, int],
    others: list[tuple[int, int]],
) -> tuple[int, int, list[int]]:
    """One move of the basic canary toward (canary_target, stable_target), never breaking the budget.

    Each ReplicaSet is (spec replicas, available pods). Scale-downs come first and may only remove
    available pods while more than `replicas - unavailable` stay available (unavailable pods can
    always go); then scale-ups use the room left under `replicas + surge` pods. Old ReplicaSets
    (neither canary nor stable) go first, then a shrinking canary, then the stable.
    Returns (canary replicas, stable replicas, other replicas).
    """
    min_available = replicas - unavailable
    c_spec, c_avail = canary
    s_spec, s_avail = stable
    other_specs = [spec for spec, _ in others]
    total_available = min(c_avail, c_spec) + min(s_avail, s_spec) + sum(min(a, s) for s, a in others)
    budget = max(0, total_available - min_available)

    def shrink(spec: int, avail: int, target: int) -> int:
        nonlocal budget
        if spec <= target:
            return spec
        avail = min(avail, spec)
        unavailable_pods = spec - avail
        removable = min(spec - target, unavailable_pods)
        spec -= removable
        extra = min(spec - target, budget)
        budget -= extra
        return spec - extra

    other_specs = [shrink(spec, avail, 0) for (spec, avail) in others]
    c_spec = shrink(c_spec, c_avail, canary_target)
    s_spec = shrink(s_spec, s_avail, stable_target)

    room = replicas + surge - (c_spec + s_spec + sum(other_specs))
    if room > 0 and c_spec < canary_target:
        grow = min(canary_target - c_spec, room)
        c_spec += grow
        room -= grow
    if room > 0 and s_spec < stable_target:
        s_spec += min(stable_target - s_spec, room)
    return c_spec, s_spec, other_specs
