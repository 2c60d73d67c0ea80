"""rollout/trafficrouting_test.go: replica counts of traffic-routed canaries (the weights the
router is told are the router's business and are not transcribed here).

Rows: (Go test, spec.replicas, steps, currentStepIndex, canary strategy extras, promote --full,
stable (spec, available), canary (spec, available), live router weights (canary, stable) or None,
expected (canary, stable) counts).
"""

ROWS = [
    # the canary scales to setWeight 20 of 10 while the router still holds the previous weight 10
    ("TestRolloutUsePreviousSetWeight", 10, [{"setWeight": 10}, {"setWeight": 20}], 1, {}, False, (10, 10), (1, 1), None, (2, 10)),
    # promote --full: 100 % of 10 canary pods; the stable is scaled back to 10 (it serves 95 % now).
    # The Go test asserts one ReplicaSet update; the stable is the only one not at its count.
    ("TestRolloutUseDynamicWeightOnPromoteFull/DynamicStableScale true", 10, [{"setWeight": 5}, {"setWeight": 25}], 1,
     {"dynamicStableScale": True}, True, (5, 5), (10, 5), (5, 95), (10, 10)),
    ("TestRolloutUseDynamicWeightOnPromoteFull/DynamicStableScale false", 10, [{"setWeight": 5}, {"setWeight": 25}], 1,
     {}, True, (5, 5), (10, 5), (5, 95), (10, 10)),
]

# TestCanaryWithTrafficRoutingAddScaleDownDelay: after promotion the old stable keeps its pod
# (a scale-down deadline of scaleDownDelaySeconds, default 30 s, is set on it).
SCALE_DOWN_DELAY_GO = "TestCanaryWithTrafficRoutingAddScaleDownDelay"
