"""utils/replicaset/canary_test.go: Argo's replica math for canaries.

Each row of CALCULATE is one case of TestCalculateReplicaCountsForCanary:
spec.replicas, setWeight, maxSurge, maxUnavailable, the stable and canary ReplicaSets as
(spec, available), an optional older ReplicaSet, and the (canary, stable) counts Argo expects.
Unset maxSurge/maxUnavailable in the Go struct are the int 0.
"""

from dataclasses import dataclass, field

GO = "TestCalculateReplicaCountsForCanary"


@dataclass(frozen=True)
class Calc:
    name: str
    replicas: int
    weight: int
    stable: tuple  # (spec, available)
    canary: tuple  # (spec, available)
    expect: tuple  # (canary, stable)
    surge: object = 0
    unavailable: object = 0
    promote_full: bool = False
    older: tuple | None = None
    scale: dict | None = None  # setCanaryScale
    routed: bool = False
    abort_delay: int | None = None  # abortScaleDownDelaySeconds
    aborted: bool = False
    min_pods: int | None = None
    steps: list = field(default_factory=list)


CALCULATE = [
    Calc("Do not add extra RSs in scaleDownCount when .Spec.Replica < AvailableReplicas", 10, 100, (7, 8), (6, 3), (6, 7), surge=3, unavailable=0),
    Calc("Use max surge int to scale up canary", 10, 20, (10, 10), (0, 0), (2, 10), surge=2, unavailable=0),
    Calc("Use max surge percentage to scale up canary", 10, 20, (10, 10), (0, 0), (2, 10), surge="20%", unavailable=0),
    Calc("Scale down extra stable replicas", 10, 20, (10, 10), (2, 2), (2, 8), surge="20%", unavailable=0),
    Calc("Do not go past max surge", 10, 30, (10, 10), (0, 0), (2, 10), surge=2, unavailable=0),
    Calc("Use max unavailable int to scale down stableRS", 10, 20, (10, 10), (0, 0), (0, 8), surge=0, unavailable=2),
    Calc("Use max surge percentage to scale down stableRS", 10, 20, (10, 10), (0, 0), (0, 8), surge=0, unavailable="20%"),
    Calc("Do not go past max unavailable", 10, 30, (10, 10), (0, 0), (0, 8), surge=0, unavailable=2),
    Calc("Use Max Surge and Max Unavailable", 10, 50, (10, 10), (0, 0), (2, 9), surge=2, unavailable=1),
    Calc("Scale canaryRS to zero on setWeight of 0%", 10, 0, (10, 10), (1, 1), (0, 10), surge=1, unavailable=1),
    Calc("Scale stable to zero on setWeight of 100%", 10, 100, (1, 1), (10, 10), (10, 0), surge=1, unavailable=1),
    Calc("Do not scale canaryRS down to zero on non-zero weight", 1, 20, (1, 1), (0, 0), (1, 1), surge=1, unavailable=0),
    Calc("Do not scale canaryRS down to zero on non-100 weight", 1, 90, (1, 1), (0, 0), (1, 1), surge=1, unavailable=0),
    Calc("Scale canaryRS to zero on <50 weight without surge", 1, 49, (1, 1), (0, 0), (0, 1), surge=0, unavailable=1),
    Calc("Scale stableRS down to zero on >=50 weight without surge", 1, 51, (1, 1), (0, 0), (0, 0), surge=0, unavailable=1),
    Calc("Scale canaryRS to one on >=50 weight without surge and stable replicas", 1, 51, (0, 0), (0, 0), (1, 0), surge=0, unavailable=1),
    Calc("Scale up Stable before canaryRS", 10, 30, (1, 1), (0, 0), (1, 7), surge=1, unavailable=0, older=(3, 3)),
    Calc("Scale down canaryRS and stable", 10, 30, (8, 5), (4, 4), (3, 7), surge=0, unavailable=3),
    Calc("Scale down stable and canary available", 10, 100, (10, 2), (10, 8), (9, 2), surge=1, unavailable=0),
    Calc("Do not scale down canaryRS or stable when older RS count >= scaleDownCount", 10, 30, (8, 6), (4, 2), (4, 8), surge=0, unavailable=1, older=(3, 3)),
    Calc("Do not round past maxSurge with uneven setWeight divisor", 10, 5, (10, 10), (0, 0), (0, 9), surge=0, unavailable=1),
    Calc("Do not round past maxSurge with uneven setWeight divisor (part 2)", 10, 5, (9, 9), (0, 0), (1, 9), surge=0, unavailable=1),
    Calc("Use maxUnavailable of 1 when percentage of maxUnavailable and maxSurge result in 0 replicas", 10, 10, (10, 10), (0, 0), (0, 9), surge="0%", unavailable="0%"),
    Calc("For canary replicas, use setCanaryScale.replicas when specified along with trafficRouting (and ignore setWeight)", 1, 100, (1, 1), (0, 0), (9, 1), scale={"replicas": 9}, routed=True),
    Calc("Use setCanaryScale.weight for canary replicas when specified with trafficRouting (and ignore setWeight)", 4, 100, (4, 4), (0, 0), (8, 4), scale={"weight": 200}, routed=True),
    Calc("Ignore setCanaryScale replicas/weight when matchTrafficWeight is true", 10, 20, (10, 10), (0, 0), (2, 10), surge="20%", unavailable=0, scale={"replicas": 9, "weight": 100, "matchTrafficWeight": True}, routed=True),
    Calc("Ignore setCanaryScale when trafficRouting is missing and use setWeight for replicas", 10, 20, (10, 10), (0, 0), (2, 10), surge="20%", unavailable=0, scale={"replicas": 9, "weight": 100}),
    Calc("honor maxSurge during scale up when stableRS unavailable", 4, 100, (4, 1), (0, 0), (1, 4), surge=1, unavailable=0),
    Calc("scale down to maxunavailable without exceeding maxSurge", 3, 99, (3, 3), (0, 0), (0, 1), surge=0, unavailable=2),
    Calc("scale down to maxunavailable without exceeding maxSurge (part 2)", 3, 99, (1, 1), (0, 0), (2, 1), surge=0, unavailable=2),
    Calc("honor maxUnavailable during scale down stableRS unavailable", 4, 100, (4, 1), (1, 1), (1, 3), surge=1, unavailable=0),
    Calc("honor maxUnavailable when aborting or reducing weight part 1", 4, 0, (0, 0), (4, 4), (4, 1), surge=1, unavailable=0),
    Calc("honor maxUnavailable when aborting or reducing weight part 2", 4, 0, (1, 0), (4, 4), (4, 1), surge=1, unavailable=0),
    Calc("honor maxUnavailable when aborting or reducing weight part 3", 4, 0, (1, 1), (4, 4), (3, 1), surge=1, unavailable=0),
    Calc("promote full does not consider weight", 4, 1, (4, 4), (0, 0), (4, 0), surge=4, unavailable=4, promote_full=True),
    Calc("promote full still honors maxSurge/maxUnavailable", 4, 1, (4, 4), (0, 0), (3, 4), surge=3, unavailable=0, promote_full=True),
    Calc("aborted with abortScaleDownDelaySeconds:0 and setCanaryScale", 1, 0, (1, 1), (1, 1), (1, 1), scale={"replicas": 1}, routed=True, abort_delay=0, aborted=True),
    Calc("aborted with abortScaleDownDelaySeconds>0 and setCanaryScale", 1, 0, (1, 1), (1, 1), (0, 1), scale={"replicas": 1}, routed=True, abort_delay=30, aborted=True),
    Calc("Honor MinPodsPerReplicaSet when using trafficRouting and starting canary", 10, 5, (10, 10), (0, 0), (2, 10), routed=True, min_pods=2),
    Calc("Cap MinPodsPerReplicaSet when it exceeds rollout replicas with trafficRouting", 1, 100, (1, 1), (0, 0), (1, 1), routed=True, min_pods=2, promote_full=True),
]

# TestApproximateWeightedNewStableReplicaCounts: (replicas, weight, maxWeight, maxSurge) -> (canary, stable)
APPROXIMATE_GO = "TestApproximateWeightedNewStableReplicaCounts"
APPROXIMATE = [
    (0, 0, 100, 0, 0, 0), (0, 50, 100, 0, 0, 0), (0, 100, 100, 0, 0, 0),
    (0, 0, 100, 1, 0, 0), (0, 50, 100, 1, 0, 0), (0, 100, 100, 1, 0, 0),
    (1, 0, 100, 0, 0, 1), (1, 1, 100, 0, 0, 1), (1, 49, 100, 0, 0, 1), (1, 50, 100, 0, 1, 0), (1, 99, 100, 0, 1, 0), (1, 100, 100, 0, 1, 0),
    (1, 0, 100, 1, 0, 1), (1, 1, 100, 1, 1, 1), (1, 49, 100, 1, 1, 1), (1, 50, 100, 1, 1, 1), (1, 99, 100, 1, 1, 1), (1, 100, 100, 1, 1, 0),
    (2, 0, 100, 0, 0, 2), (2, 1, 100, 0, 1, 1), (2, 50, 100, 0, 1, 1), (2, 99, 100, 0, 1, 1), (2, 100, 100, 0, 2, 0),
    (2, 0, 100, 1, 0, 2), (2, 1, 100, 1, 1, 2), (2, 50, 100, 1, 1, 1), (2, 99, 100, 1, 2, 1), (2, 100, 100, 1, 2, 0),
    (3, 10, 100, 0, 1, 2), (3, 25, 100, 0, 1, 2), (3, 33, 100, 0, 1, 2), (3, 34, 100, 0, 1, 2), (3, 49, 100, 0, 1, 2), (3, 50, 100, 0, 2, 1),
    (3, 10, 100, 1, 1, 3), (3, 25, 100, 1, 1, 3), (3, 33, 100, 1, 1, 2), (3, 34, 100, 1, 1, 2), (3, 49, 100, 1, 2, 2), (3, 50, 100, 1, 2, 2),
    (10, 0, 100, 1, 0, 10), (10, 1, 100, 0, 1, 9), (10, 14, 100, 0, 1, 9), (10, 15, 100, 0, 2, 8), (10, 16, 100, 0, 2, 8), (10, 99, 100, 0, 9, 1), (10, 100, 100, 1, 10, 0),
    (10, 0, 100, 1, 0, 10), (10, 1, 100, 1, 1, 10), (10, 18, 100, 1, 2, 9), (10, 19, 100, 1, 2, 9), (10, 20, 100, 1, 2, 8), (10, 23, 100, 1, 2, 8), (10, 24, 100, 1, 3, 8), (10, 25, 100, 1, 3, 8), (10, 99, 100, 1, 10, 1), (10, 100, 100, 1, 10, 0),
]

# TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale (setWeight 20 in the first step,
# dynamicStableScale, the router's live weights; the canary ReplicaSet is fully available).
DYNAMIC_GO = "TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale"


@dataclass(frozen=True)
class Dynamic:
    name: str
    replicas: int
    set_weight: int
    aborted: bool
    weights: tuple  # live (canary, stable) weights
    expect: tuple  # (canary, stable)
    canary_spec: int = 0  # 0: no canary ReplicaSet
    stable: tuple | None = None  # (spec, available); None: no stable ReplicaSet
    extra_steps: list = field(default_factory=list)


DYNAMIC = [
    Dynamic("Should scale stable replica up depending on next expected canary downscale step, if abort is true", 10, 20, True, (60, 40), (6, 8), canary_spec=6, stable=(4, 4), extra_steps=[{"setWeight": 60}]),
    Dynamic("Should scale stable replica up depending on available canary replicas, if actual number of canaries is less than expected and abort is true", 10, 20, True, (60, 40), (6, 8), canary_spec=1, stable=(4, 4), extra_steps=[{"setWeight": 60}]),
    Dynamic("Should scale stable replica up depending on available stable replicas, if abort is true", 10, 20, True, (60, 40), (6, 8), canary_spec=2, stable=(8, 4), extra_steps=[{"setWeight": 60}]),
    Dynamic("Should scale stable up as if canaries are scaled down to 0 if stable and canary replicas not passed, and abort is true", 10, 20, True, (60, 40), (6, 10), extra_steps=[{"setWeight": 60}]),
    Dynamic("Should scale down stable", 10, 10, False, (10, 90), (1, 9)),
    Dynamic("Should take max of desired canary (20) > actual (10)", 10, 20, False, (10, 90), (2, 9)),
    Dynamic("Should leave canary scaled up if there is still traffic to it on abort", 10, 20, True, (20, 80), (2, 10)),
    Dynamic("Should reduce canary when there is less traffic to it on abort", 10, 20, True, (10, 90), (1, 10)),
]

# Single-assert tests: (Go test, description, function inputs, expected)
# TestCalculateReplicaCountsForNewDeployment: setWeight 10, surge 0, unavailable 1, the new
#   ReplicaSet *is* the stable one (10 pods, 0 available) -> it aims at all 10, stable 0.
# TestCalculateReplicaCountsForCanaryTrafficRouting: 10 replicas, setWeight 10, routed -> 1 / 10.
# TestCalculateReplicaCountsForCanaryStableRSdEdgeCases: no stable (or stable == new), new 9/9,
#   setWeight 10, surge 0, unavailable 1 -> 10 / 0 (twice).
SINGLES = [
    ("TestCalculateReplicaCountsForNewDeployment", "new RS is the stable RS", dict(replicas=10, weight=10, surge=0, unavailable=1, new=(10, 0), stable=None), (10, 0)),
    ("TestCalculateReplicaCountsForCanaryTrafficRouting", "routed 10 at 10%", dict(replicas=10, weight=10, routed=True), (1, 10)),
    ("TestCalculateReplicaCountsForCanaryStableRSdEdgeCases", "no stable RS", dict(replicas=10, weight=10, surge=0, unavailable=1, new=(9, 9), stable=None), (10, 0)),
    ("TestCalculateReplicaCountsForCanaryStableRSdEdgeCases", "stable RS is the new RS", dict(replicas=10, weight=10, surge=0, unavailable=1, new=(9, 9), stable=None), (10, 0)),
]

# TestTrafficWeightToReplicas: (replicas, weight, maxWeight) -> pods
TRAFFIC_WEIGHT_GO = "TestTrafficWeightToReplicas"
TRAFFIC_WEIGHT = [
    (10, 0, 100, 0), (10, 20, 100, 2), (10, 25, 100, 3), (10, 33, 100, 4), (10, 99, 100, 10), (10, 100, 100, 10),
    (23, 100000000, 100000000, 23),
]

# TestGetCurrentSetWeight: steps [setWeight 10], (currentStepIndex, aborted) -> weight
CURRENT_SET_WEIGHT_GO = "TestGetCurrentSetWeight"
CURRENT_SET_WEIGHT = [
    ("past the last step", 1, False, 100),
    ("at step 0", 0, False, 10),
    ("aborted", 0, True, 0),
]
