"""Replica math: how many pods each ReplicaSet of a rollout gets. Pure functions, no I/O.

The rules follow Argo Rollouts (docs: "Canary", "Traffic Management", "BlueGreen"; the facts are
transcribed from Argo's own tests in tests/argo_cases/, each row naming the Go test). In words:

Budget (maxSurge / maxUnavailable)
    An int, or "N%" of spec.replicas; the surge rounds up, unavailable rounds down. Defaults are
    25 % and 25 %. When both come out 0, unavailable becomes 1 (something must be allowed to move).
    Unavailable never exceeds spec.replicas. The rollout may run at most replicas + maxSurge pods
    (by spec) and must keep at least replicas - maxUnavailable pods available.

Canary without traffic routing: the closest weight
    Pods are the only way to split traffic, so the step's weight W (of maxTrafficWeight, default
    100) is approximated by pod counts. Four candidates are weighed, in this order:
        ceil(R*W/max) canaries out of R, floor(R*W/max) out of R,
        ceil(...) out of R+1, floor(...) out of R+1      (the R+1 pair only when maxSurge > 0).
    A floor candidate is skipped when it is exactly as far from W as the ceil (a tie: the larger
    canary wins), and a candidate with 0 canaries (or 0 stable) is skipped for a weight strictly
    between 0 and max, unless R is 1 and maxSurge is 0. The first candidate with the smallest
    distance |100*canary/total - W| wins; stable = total - canary. So 10 % of 5 pods with surge
    gives 1 canary + 5 stable (1/6 = 16.7 % is closer than 1/5 = 20 %), and 20 % gives 1 + 4.

The order of scaling between steps (one Argo reconcile = `basic_canary_counts`)
    1. Scale up, stable first: the room is replicas + maxSurge minus every ReplicaSet's spec; a
       stable below its target takes what it needs from the room, then the canary.
    2. If any older ReplicaSet (neither canary nor stable) still has pods, stop: those go first.
    3. Scale down within maxUnavailable: count the pods that may be relied on (the side that grows
       counts by spec, the side that shrinks only by available pods; a ReplicaSet whose spec is
       below its available count counts by spec); everything above replicas - maxUnavailable may
       go. Growing canary: the stable shrinks; shrinking canary (lower weight, abort): the canary
       shrinks. Then the other side is trimmed back under replicas + maxSurge without taking
       availability below replicas - maxUnavailable.
    Argo applies one ReplicaSet's change per reconcile (stable, else canary, else older ones) and
    recomputes. `settle_basic_canary` replays that sequence within one run until nothing changes,
    with availability as observed (pods started in this run are not available yet), so a run ends
    where Argo would stand before the new pods become ready.

Older ReplicaSets (scale-down policy, `scale_down_older`)
    First every older ReplicaSet drops its unavailable pods (spec down to its available count).
    Then the budget is (available pods of all ReplicaSets) - (replicas - maxUnavailable), and the
    older ReplicaSets shrink newest revision first, each by as much of the budget as it can take.
    With traffic routing the router sends them nothing and they go to 0, except an old stable,
    which keeps its pods scaleDownDelaySeconds after promotion (engine/traffic/routing.py).

Canary with traffic routing (`routed_canary_counts`)
    canary = ceil(R*W/max) (or setCanaryScale.replicas, or ceil of setCanaryScale.weight; the
    weight may exceed 100 %: 200 % of 4 is 8). The stable stays at R, unless dynamicStableScale:
    then stable = max(ceil(R*(max-W)/max), ceil(R*actualStableWeight/max)): it only shrinks once
    the router sent traffic away. On abort with dynamicStableScale the canary keeps
    ceil(R*actualCanaryWeight/max) pods while traffic still reaches it (never more than it has).
    minPodsPerReplicaSet raises any non-zero count to that minimum (capped at R).
    setCanaryScale applies only with traffic routing; the latest setCanaryScale at or before the
    current step wins, `matchTrafficWeight: true` cancels it; on abort it is dropped unless
    abortScaleDownDelaySeconds is 0 (the user asked to leave the canary as it is).

Which weight applies (`replica_intent`, in replica_targets.py with `canary_counts`)
    Fully promoted, first deploy or canary == stable: max weight. Aborted: 0 (with
    dynamicStableScale: the largest setWeight whose pods are fewer than the canary still has,
    walking the steps backwards, so the stable grows before traffic returns). Otherwise the last
    setWeight at or before the current step (0 if none; max past the last step).

Blue-green (`bluegreen_preview_count`)
    The preview (new) ReplicaSet runs previewReplicaCount pods until promotion (even more than
    spec.replicas), then replicas; the active ReplicaSet keeps replicas. Ready and Available count
    the active ReplicaSet only (all ReplicaSets when no Service selects one; engine/view.py).

Older ReplicaSets kept as history (engine/history.py)
    revisionHistoryLimit (default 10) old ReplicaSets are kept; older ones with no pods are deleted.

abortScaleDownDelaySeconds (traffic-routed canaries; engine/traffic/routing.py decides)
    After an abort the canary keeps its pods for the delay (default 30 s) while the routes go back
    to stable; 0 means at once. Without routing the canary goes at once.
"""

from __future__ import annotations

import math
from typing import NamedTuple


class Pods(NamedTuple):
    """A ReplicaSet as the math sees it: pods wanted (spec) and pods available."""

    spec: int
    available: int = 0


# -- budget ----------------------------------------------------------------------------------------


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
    """(maxSurge, maxUnavailable) in pods, defaults 25 %/25 %; both 0 would deadlock, so unavailable
    becomes 1; unavailable never exceeds replicas."""
    surge = resolve_int_or_percent(max_surge, replicas, round_up=True)
    unavailable = resolve_int_or_percent(max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


# -- weights -> pods -------------------------------------------------------------------------------


def weight_to_replicas(replicas: int, weight: int, max_weight: int = 100) -> int:
    """Pods for a traffic weight, rounded up (20 % of 10 -> 2, 25 % -> 3, 99 % -> 10)."""
    return int(math.ceil(weight * replicas / max_weight))


def _distance(weight: int, max_weight: int, canary: int, total: int) -> float:
    return abs(canary * max_weight / total - weight)


def _halfway(weight: int, max_weight: int, total: int) -> bool:
    """Floor and ceil are equally far from the weight (e.g. 50 % of 3 pods: 1 or 2)."""
    exact = total * (weight / max_weight)
    return exact - math.floor(exact) == 0.5


def closest_split(replicas: int, weight: int, max_surge: int, max_weight: int = 100) -> tuple[int, int]:
    """(canary, stable) pods whose ratio is closest to `weight` (see the module docstring)."""
    if replicas <= 0:
        return 0, 0
    up = int(math.ceil(replicas * weight / max_weight))
    down = int(math.floor(replicas * weight / max_weight))
    edge_ok = weight in (0, max_weight) or (replicas == 1 and max_surge == 0)
    candidates: list[tuple[int, int]] = []  # (canary, total)
    if up < replicas or edge_ok:
        candidates.append((up, replicas))
    if not _halfway(weight, max_weight, replicas) and (down != 0 or edge_ok):
        candidates.append((down, replicas))
    if max_surge > 0:
        candidates.append((up, replicas + 1))
        if not _halfway(weight, max_weight, replicas + 1) and (down != 0 or edge_ok):
            candidates.append((down, replicas + 1))
    if not candidates:
        return 0, replicas
    best = candidates[0]
    for candidate in candidates[1:]:  # strictly closer only: the earlier candidate wins ties
        if _distance(weight, max_weight, *candidate) < _distance(weight, max_weight, *best):
            best = candidate
    canary, total = best
    return canary, total - canary


# -- canary without traffic routing: one reconcile ----------------------------------------------------


def _counted(rs: Pods | None, by_spec: bool) -> int:
    """Pods of a ReplicaSet that the scale-down may rely on (see rule 3)."""
    if rs is None:
        return 0
    if rs.spec < rs.available or by_spec:
        return rs.spec
    return rs.available


def _trim(
    shrinking: Pods | None, other: Pods | None, shrink_to: int, other_to: int, ceiling: int, floor: int
) -> tuple[int, int]:
    """After `shrinking` went down to `shrink_to`, keep the pair under `ceiling` pods (by spec)
    without letting availability fall below `floor`; returns (shrinking, other) counts."""
    if other is None:
        return shrink_to, other_to
    over = max(0, shrink_to + other_to - ceiling)
    other_to -= over
    available = (min(shrinking.available, shrink_to) if shrinking is not None else 0) + min(other.available, other_to)
    lost = max(0, other.available - other_to)
    other_to += min(lost, max(0, floor - available))
    shrink_to -= max(0, shrink_to + other_to - ceiling)
    return shrink_to, other_to


def basic_canary_counts(
    replicas: int,
    weight: int,
    surge: int,
    unavailable: int,
    new: Pods | None,
    stable: Pods | None,
    older_spec: int = 0,
    max_weight: int = 100,
) -> tuple[int, int]:
    """(canary, stable) spec counts after one Argo reconcile of a canary without traffic routing.

    `stable` is None when there is no stable ReplicaSet other than the canary (first deploy, or
    the canary became stable): then the canary aims at all `replicas`. `older_spec` is the pods
    (by spec) of every other ReplicaSet."""
    want_new, want_stable = closest_split(replicas, weight, surge, max_weight)
    if stable is None:
        want_new, want_stable = replicas, 0
    new_to = new.spec if new is not None else 0
    stable_to = stable.spec if stable is not None else 0
    ceiling = replicas + surge
    room = ceiling - (older_spec + new_to + stable_to)

    if stable is not None and stable.spec < want_stable and room > 0:
        stable_to = min(want_stable, stable.spec + room)
        room -= stable_to - stable.spec
    if new is not None and new.spec < want_new and room > 0:
        new_to = min(want_new, new.spec + room)

    if older_spec > 0:
        return new_to, stable_to  # older ReplicaSets shrink first

    floor = replicas - unavailable
    growing = new is None or want_new >= new.spec
    reliable = _counted(new, by_spec=not growing) + _counted(stable, by_spec=growing)
    if reliable <= floor:
        return new_to, stable_to
    budget = reliable - floor
    if not growing:
        if new is not None and new.spec > want_new:
            new_to = max(want_new, new.spec - budget)
        new_to, stable_to = _trim(new, stable, new_to, stable_to, ceiling, floor)
    elif stable is not None:
        if stable.spec > want_stable:
            stable_to = max(want_stable, stable.spec - budget)
        stable_to, new_to = _trim(stable, new, stable_to, new_to, ceiling, floor)
    return new_to, stable_to


def scale_down_older(replicas: int, unavailable: int, older: list[Pods], others_available: int) -> list[int]:
    """New spec counts for older ReplicaSets (given newest revision first) of a canary without
    traffic routing. `others_available`: available pods of the canary and stable ReplicaSets."""
    cleaned = [min(rs.spec, rs.available) for rs in older]  # unavailable pods go first, free
    available = others_available + sum(min(rs.available, spec) for rs, spec in zip(older, cleaned))
    budget = available - (replicas - unavailable)
    result = []
    for spec in cleaned:
        take = min(spec, max(0, budget))
        budget -= take
        result.append(spec - take)
    return result


class BasicCanaryTarget(NamedTuple):
    """What a canary without traffic routing aims at: `weight` (of `max_weight`) of `replicas`,
    within `surge` extra and `unavailable` missing pods (maxSurge / maxUnavailable in pods)."""

    replicas: int
    weight: int
    surge: int
    unavailable: int
    max_weight: int = 100


def reconcile_once(target: BasicCanaryTarget, new: Pods | None, stable: Pods | None, older: list[Pods]) -> tuple[str, object] | None:
    """The one change an Argo reconcile makes to a canary without traffic routing, or None:
    ("stable", count), else ("canary", count), else ("older", [counts, newest revision first])."""
    replicas, weight, surge, unavailable, max_weight = target
    new_to, stable_to = basic_canary_counts(
        replicas, weight, surge, unavailable, new, stable, sum(rs.spec for rs in older), max_weight
    )
    if stable is not None and stable_to != stable.spec:
        return "stable", stable_to
    if new is not None and new_to != new.spec:
        return "canary", new_to
    if any(rs.spec for rs in older):
        others = (new.available if new else 0) + (stable.available if stable else 0)
        counts = scale_down_older(replicas, unavailable, older, others)
        if counts != [rs.spec for rs in older]:
            return "older", counts
    return None


def settle_basic_canary(target: BasicCanaryTarget, new: Pods | None, stable: Pods | None, older: list[Pods]) -> tuple[int, int, list[int]]:
    """Replay Argo's reconciles (`reconcile_once`) with availability fixed at what was observed
    (a pod started now is not available yet; a removed one is gone), until nothing changes.
    Returns the spec counts (canary, stable, older in the given order: newest revision first)."""
    older = list(older)
    for _ in range(4 * (len(older) + 3)):
        change = reconcile_once(target, new, stable, older)
        if change is None:
            break
        which, value = change
        if which == "stable":
            stable = Pods(value, min(stable.available, value))
        elif which == "canary":
            new = Pods(value, min(new.available, value))
        else:
            older = [Pods(c, min(rs.available, c)) for rs, c in zip(older, value)]
    return (new.spec if new else 0), (stable.spec if stable else 0), [rs.spec for rs in older]


# -- canary with traffic routing ---------------------------------------------------------------------


def with_min_pods(count: int, min_pods: int | None, replicas: int) -> int:
    """minPodsPerReplicaSet: a non-zero count is at least the minimum (never more than replicas)."""
    if count == 0 or min_pods is None:
        return count
    return max(count, min(int(min_pods), replicas))


def routed_canary_counts(
    replicas: int,
    weight: int,
    *,
    canary_replicas: int | None = None,
    max_weight: int = 100,
    dynamic_stable_scale: bool = False,
    actual: tuple[int, int] | None = None,
    aborted: bool = False,
    canary_spec: int | None = None,
    cap_on_abort: bool = False,
    min_pods: int | None = None,
) -> tuple[int, int]:
    """(canary, stable) pods for a traffic-routed canary (see the module docstring).

    `canary_replicas`: setCanaryScale.replicas in force. `actual`: the router's live (canary,
    stable) weights, when known. `canary_spec`/`cap_on_abort`: on abort with dynamicStableScale
    the canary never grows back above what it has (or what its traffic needs)."""
    if canary_replicas is not None:
        canary = int(canary_replicas)
    else:
        canary = with_min_pods(weight_to_replicas(replicas, weight, max_weight), min_pods, replicas)
    if not dynamic_stable_scale:
        return canary, replicas
    stable = weight_to_replicas(replicas, max_weight - weight, max_weight)
    if actual is not None:
        actual_canary, actual_stable = actual
        stable = max(stable, weight_to_replicas(replicas, actual_stable, max_weight))
        if aborted:
            still_served = weight_to_replicas(replicas, actual_canary, max_weight)
            canary = max(canary, still_served)
            if cap_on_abort and canary_spec is not None:
                canary = min(canary, max(still_served, canary_spec))
    return with_min_pods(canary, min_pods, replicas), with_min_pods(stable, min_pods, replicas)


# -- blue-green ------------------------------------------------------------------------------------


def bluegreen_preview_count(replicas: int, preview_replica_count: int | None, promoted: bool) -> int:
    """Pods of the preview (new) ReplicaSet: previewReplicaCount until promotion (even above
    spec.replicas, as Argo), then replicas."""
    if promoted or preview_replica_count is None:
        return replicas
    return max(0, int(preview_replica_count))


# -- kept for callers that still use the simple split --------------------------------------------------


def canary_split(replicas: int, weight: int, traffic_routed: bool, max_surge: int = 1, max_weight: int = 100) -> tuple[int, int]:
    """(canary, stable) targets at `weight`: closest split without routing; with routing the
    canary gets ceil(replicas * weight / max_weight) (trafficRouting.maxTrafficWeight) and the
    stable stays whole."""
    weight = max(0, weight)
    if traffic_routed:
        return weight_to_replicas(replicas, weight, max_weight or 100), replicas
    return closest_split(replicas, min(weight, 100), max_surge)
