"""rollout/canary_test.go: one controller reconcile of a canary without traffic routing.

Each row: the Go test, spec.replicas, maxSurge, maxUnavailable, steps, currentStepIndex, aborted,
the stable ReplicaSet, the canary ReplicaSet (spec, available; (0, 0) when not created yet; None
when the canary *is* the stable one), older ReplicaSets newest revision first, and the one change
Argo's reconcile makes: ("stable", n), ("canary", n) (creating it when it did not exist),
("older", [n, ...]) or None (already at the step's counts: the step may complete).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reconcile:
    go: str
    replicas: int
    surge: object
    unavailable: object
    steps: list
    index: int
    stable: tuple | None
    canary: tuple | None
    expect: tuple | None
    older: list = field(default_factory=list)
    aborted: bool = False


W10 = [{"setWeight": 10}]
PAUSE = [{"pause": {}}]

CASES = [
    Reconcile("TestCanaryRolloutBumpVersion", 10, 1, 0, [], 0, (10, 10), (0, 0), ("canary", 1)),
    Reconcile("TestCanaryRolloutCreateNewReplicaWithCorrectWeight", 10, 1, 0, W10, 0, (10, 10), (0, 0), ("canary", 1)),
    Reconcile("TestCanaryRolloutScaleUpNewReplicaWithCorrectWeight", 5, 0, 1, [{"setWeight": 40}], 0, (3, 3), (1, 1), ("canary", 2)),
    Reconcile("TestCanaryRolloutScaleDownStableToMatchWeight", 10, 0, 1, W10, 0, (10, 10), (0, 0), ("stable", 9)),
    Reconcile("TestCanaryRolloutScaleDownOldRs", 10, 1, 0, W10, 0, (9, 9), (1, 1), ("older", [0]), older=[(1, 1)]),
    # rs3 is both canary and stable; older rs2 and rs1 (5/5 each): 6 pods may go, one emptied, one at 4
    Reconcile("TestCanaryRolloutScaleDownOldRsDontScaleDownTooMuch", 4, 1, 0, [], 0, None, (5, 0), ("older", [0, 4]), older=[(5, 5), (5, 5)]),
    Reconcile("TestGradualShiftToNewStable", 10, 3, 0, W10, 1, (9, 9), (4, 4), ("stable", 6)),
    Reconcile("TestCanaryRolloutScaleWhilePaused", 10, 1, 0, [{"setWeight": 20}], 0, (5, 5), (0, 0), ("stable", 8)),
    Reconcile("TestHandleCanaryAbort/Scale up stable ReplicaSet", 10, 1, 0, [{"setWeight": 10}, {"setWeight": 20}, {"setWeight": 30}], 1, (9, 9), (1, 1), ("stable", 10), aborted=True),
    Reconcile("TestCanaryRolloutIncrementStepIfSetWeightsAreCorrect", 10, 1, 0, W10, 0, (9, 9), (1, 1), None, older=[(0, 0)]),
    Reconcile("TestSyncRolloutWaitIncrementStepIndex", 10, 1, 0, [{"setWeight": 10}, {"pause": {"duration": 5}}, {"pause": {}}], 1, (9, 9), (1, 1), None),
    Reconcile("TestCanaryRolloutUpdateStatusWhenAtEndOfSteps", 10, 1, 0, PAUSE, 1, (0, 0), (10, 10), None),
    Reconcile("TestCanaryRolloutIncrementStepAfterUnPaused", 10, 1, 0, PAUSE, 0, (10, 10), (0, 0), None),
    Reconcile("TestCanaryRolloutEnterPauseState", 10, 1, 0, PAUSE, 0, (10, 10), (0, 0), None),
    Reconcile("TestCanaryRolloutNoProgressWhilePaused", 10, 1, 0, PAUSE, 0, (10, 10), (0, 0), None),
    Reconcile("TestCanaryRolloutStatusHPAStatusFields", 5, 1, 0, [{"setWeight": 20}, {"pause": {}}], 1, (4, 4), (1, 1), None),
    Reconcile("TestResumeRolloutAfterPauseDuration", 1, 1, 1, [{"setWeight": 10}, {"pause": {"duration": 60}}, {"setWeight": 20}], 1, (1, 1), (1, 1), None),
]
