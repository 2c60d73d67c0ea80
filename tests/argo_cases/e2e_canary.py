"""test/e2e/canary_test.go (and the rollout manifests it loads from test/e2e/functional/): what a
person sees at each checkpoint of Argo's end-to-end canary tests.

A scenario is a rollout, how its pods behave, and a script of operations. Each ("expect", ...)
step is one transcribed fact: ("pods", canary, stable) is ExpectCanaryStablePodCount,
("revisions", {revision: pods}) is ExpectRevisionPodCount. Operations: ("update",) changes the
pod template (a new revision), ("until", status) / ("until_step", n) runs the reconciler until the
rollout is there, ("runs", n) runs it n more times, ("promote",), ("abort",), ("scale", n).
Differences from Argo's manifests: a traffic router is written as `istio` (the replica math does
not depend on which router), and pods the e2e makes slow or broken are made so by the simulated
kubelet (readyAfterSeconds / crash for the new image).
"""

ROUTED = {"istio": {"virtualService": {"name": "vs", "routes": ["primary"]}}}
SLOW_NEW = {"readyAfterSeconds": {"app:[2-9]": 3600}}  # new revisions' pods never get ready in the test
BROKEN_NEW = {"crash": ["app:[2-9]"]}

SCENARIOS = [
    {
        "go": "TestCanarySetCanaryScale",
        "replicas": 4,
        "strategy": {"canary": {"canaryService": "c", "stableService": "s", "trafficRouting": ROUTED, "steps": [
            {"pause": {}}, {"setCanaryScale": {"weight": 25}}, {"pause": {"duration": "100s"}}, {"setWeight": 50},
            {"pause": {"duration": "10s"}}, {"setCanaryScale": {"replicas": 3}}, {"pause": {}},
            {"setCanaryScale": {"matchTrafficWeight": True}}, {"pause": {"duration": "5s"}}]}},
        "script": [
            ("until", "Healthy"), ("update",), ("until", "Paused"), ("expect", "pods", 0, 4),
            ("promote",), ("until_step", 2), ("runs", 1), ("expect", "pods", 1, 4),
            ("promote",), ("until_step", 4), ("runs", 1), ("expect", "pods", 1, 4),
            ("promote",), ("until_step", 6), ("runs", 1), ("expect", "pods", 3, 4),
            ("promote",), ("until_step", 8), ("runs", 1), ("expect", "pods", 2, 4),
            ("promote",), ("until", "Healthy"), ("expect", "pods", 4, 4),
        ],
    },
    {
        "go": "TestRolloutScalingWhenPaused",
        "replicas": None,  # rollout-basic.yaml: 1 replica; the test's SetSteps: setWeight 25, pause {}
        "strategy": {"canary": {"steps": [{"setWeight": 25}, {"pause": {}}]}},
        "script": [
            ("until", "Healthy"), ("update",), ("until", "Paused"), ("expect", "pods", 1, 1),
            ("scale", 8), ("runs", 3), ("expect", "pods", 2, 6),
            ("scale", 4), ("runs", 3), ("expect", "pods", 1, 3),
        ],
    },
    {
        "go": "TestRolloutWithMaxSurgeScalingDuringUpdate",
        "replicas": 4,
        "kubelet": SLOW_NEW,
        "strategy": {"canary": {"maxSurge": "100%"}},
        "script": [
            ("until", "Healthy"), ("update",), ("runs", 2), ("expect", "pods", 4, 3),
            ("scale", 8), ("runs", 2), ("expect", "pods", 8, 3),
            ("scale", 4), ("runs", 2), ("expect", "pods", 4, 3),
        ],
    },
    {
        "go": "TestRolloutScalingDuringUpdate",
        "replicas": 4,
        "kubelet": BROKEN_NEW,
        "strategy": {"canary": {"maxSurge": 2, "maxUnavailable": 0}},
        "script": [
            ("until", "Healthy"), ("update",), ("runs", 2), ("expect", "pods", 2, 4),
            ("scale", 8), ("runs", 2), ("expect", "pods", 6, 4),
            ("scale", 4), ("runs", 2), ("expect", "pods", 2, 4),
        ],
    },
    {
        "go": "TestReduceWeightAndHonorMaxUnavailable",
        "replicas": 3,
        "kubelet": {"readyAfterSeconds": {"app:1": 30}},  # the e2e slows pod start/stop down
        "strategy": {"canary": {"maxSurge": 2, "maxUnavailable": 0, "steps": [
            {"setWeight": 100}, {"pause": {}}, {"setWeight": 0}, {"pause": {}}, {"setWeight": 100}]}},
        "script": [
            ("until", "Healthy", 40), ("update",), ("until", "Paused"), ("expect", "pods", 3, 0),
            ("promote",), ("runs", 2), ("expect", "pods", 3, 2),
        ],
    },
    {
        "go": "TestCanaryProgressDeadlineExceededWithPause",
        "replicas": 3,
        "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}},
        "script": [("until", "Healthy"), ("update",), ("until", "Paused"), ("expect", "pods", 1, 3)],
    },
    {
        "go": "TestCanaryWithPausedRollout",
        "replicas": 3,
        "strategy": {"canary": {"canaryService": "c", "stableService": "s", "steps": [{"setWeight": 20}, {"pause": {}}]}},
        "script": [
            ("until", "Healthy"), ("update",), ("until", "Paused"), ("update",), ("until", "Paused"), ("runs", 1),
            ("expect", "revisions", {1: 3, 2: 0, 3: 1}),
        ],
    },
    {
        "go": "TestCanaryDynamicStableScale",
        "replicas": 4,
        "strategy": {"canary": {"dynamicStableScale": True, "canaryService": "c", "stableService": "s", "trafficRouting": ROUTED,
                                "steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 75}, {"pause": {}}]}},
        "script": [
            ("until", "Healthy"), ("update",), ("until", "Paused"), ("runs", 2), ("expect", "revisions", {1: 3, 2: 1}),
            ("promote",), ("until_step", 3), ("runs", 2), ("expect", "revisions", {1: 1, 2: 3}),
        ],
    },
    {
        "go": "TestCanaryDynamicStableScaleRollbackToStable",
        "replicas": 4,
        "strategy": {"canary": {"dynamicStableScale": True, "canaryService": "c", "stableService": "s", "trafficRouting": ROUTED,
                                "steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 75}, {"pause": {}}]}},
        "script": [("until", "Healthy"), ("update",), ("until", "Paused"), ("runs", 2), ("expect", "revisions", {1: 3, 2: 1})],
    },
    {
        "go": "TestCanaryScaleDownOnAbort",
        "replicas": None,  # canary-scaledownonabort.yaml: 1 replica
        "strategy": {"canary": {"abortScaleDownDelaySeconds": 1, "scaleDownDelayRevisionLimit": 1, "canaryService": "c", "stableService": "s",
                                "trafficRouting": ROUTED, "steps": [{"setCanaryScale": {"replicas": 1}}, {"pause": {}}]}},
        "script": [("until", "Healthy"), ("update",), ("until", "Paused"), ("abort",), ("until", "Degraded"), ("runs", 1, 3),
                   ("expect", "revisions", {2: 0})],
    },
    {
        "go": "TestCanaryScaleDownOnAbortNoTrafficRouting",
        "replicas": None,
        "strategy": {"canary": {"canaryService": "c", "stableService": "s", "steps": [{"setWeight": 50}, {"pause": {}}]}},
        "script": [("until", "Healthy"), ("update",), ("until", "Paused"), ("abort",), ("until", "Degraded"), ("runs", 1, 3),
                   ("expect", "revisions", {2: 0})],
    },
    {
        "go": "TestCanaryUnScaleDownOnAbort",
        "replicas": None,
        "strategy": {"canary": {"abortScaleDownDelaySeconds": 0, "scaleDownDelayRevisionLimit": 1, "canaryService": "c", "stableService": "s",
                                "trafficRouting": ROUTED, "steps": [{"setCanaryScale": {"replicas": 1}}, {"pause": {}}]}},
        "script": [("until", "Healthy"), ("update",), ("until", "Paused"), ("abort",), ("until", "Degraded"), ("runs", 1, 3),
                   ("expect", "revisions", {2: 1})],
    },
]
