"""Blue-green facts from Argo's test/e2e/bluegreen_test.go and rollout/bluegreen_test.go.

Scripts as in e2e_canary.py; ("expect", "counts", desired, current, updated, ready, available) is
ExpectReplicaCounts (what `get rollout` shows under Replicas), ("expect", "revisions", {...}) is
ExpectRevisionPodCount. Unit tests of rollout/bluegreen_test.go that set up one controller state
are replayed as the run that reaches that state.
"""

SERVICES = {"activeService": "active", "previewService": "preview"}

SCENARIOS = [
    {
        "go": "TestBlueGreenPreviewReplicaCount",
        "replicas": 2,
        "strategy": {"blueGreen": {**SERVICES, "previewReplicaCount": 1, "scaleDownDelaySeconds": 5, "autoPromotionEnabled": False}},
        "script": [
            ("until", "Healthy"), ("update",), ("until", "Paused"),
            ("expect", "revisions", {2: 1, 1: 2}),
            ("expect", "counts", 2, 3, 1, 2, 2),
            ("promote",), ("until", "Healthy"),
            ("expect", "counts", 2, 4, 2, 2, 2),
        ],
    },
    {
        "go": "TestBlueGreenPreviewReplicaCountPromoteFull",
        "replicas": 2,
        "strategy": {"blueGreen": {"activeService": "active", "previewReplicaCount": 1, "autoPromotionEnabled": False}},
        "progressDeadlineSeconds": 1,
        "script": [
            ("until", "Healthy"), ("update",), ("until", "Paused"), ("runs", 2),
            ("expect", "status", "Paused"),  # paused longer than progressDeadlineSeconds: not Degraded
            ("expect", "counts", 2, 3, 1, 2, 2),
            ("promote_full",), ("until", "Healthy"),
            ("expect", "counts", 2, 4, 2, 2, 2),
        ],
    },
    {
        # one active (1/1) and one preview (1/1) ReplicaSet, paused: only the active one is available
        "go": "TestBlueGreenRolloutStatusHPAStatusFieldsActiveSelectorSet",
        "replicas": 1,
        "strategy": {"blueGreen": {**SERVICES, "autoPromotionEnabled": False}},
        "script": [("until", "Healthy"), ("update",), ("until", "Paused"), ("expect", "counts", 1, 2, 1, 1, 1)],
    },
    {
        # previewReplicaCount above spec.replicas: the preview still gets previewReplicaCount pods
        "go": "TestBlueGreenRolloutIgnoringScalingUsePreviewRSCount",
        "replicas": 1,
        "strategy": {"blueGreen": {**SERVICES, "previewReplicaCount": 3, "autoPromotionEnabled": False}},
        "script": [("until", "Healthy"), ("update",), ("until", "Paused"), ("scale", 2), ("runs", 1), ("expect", "revisions", {2: 3})],
    },
    {
        # after the switch the old active keeps its pods until its scale-down deadline
        "go": "TestBlueGreenNotReadyToScaleDownOldReplica",
        "replicas": 1,
        "strategy": {"blueGreen": {"activeService": "bar"}},
        "script": [("until", "Healthy"), ("update",), ("until", "Healthy"), ("runs", 1), ("expect", "revisions", {1: 1, 2: 1})],
    },
    {
        "go": "TestBlueGreenReadyToScaleDownOldReplica",
        "replicas": 1,
        "strategy": {"blueGreen": {"activeService": "bar"}},
        "script": [("until", "Healthy"), ("update",), ("until", "Healthy"), ("runs", 1, 31), ("expect", "revisions", {1: 0, 2: 1})],
    },
    {
        "go": "TestBlueGreenAddScaleDownDelayToPreviousActiveReplicaSet",
        "replicas": 1,
        "strategy": {"blueGreen": {"activeService": "bar", "scaleDownDelaySeconds": 10}},
        "script": [
            ("until", "Healthy"), ("update",), ("until", "Healthy"), ("runs", 1, 5), ("expect", "revisions", {1: 1, 2: 1}),
            ("runs", 1, 6), ("expect", "revisions", {1: 0, 2: 1}),
        ],
    },
]
