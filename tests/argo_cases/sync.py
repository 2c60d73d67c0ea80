"""rollout/sync_test.go: TestReconcileRevisionHistoryLimit (which old ReplicaSets are deleted)
and TestCanaryPromoteFull (promote --full scales the new ReplicaSet past the steps).

HISTORY rows: (case name, revisionHistoryLimit or None, old ReplicaSets as (name, spec, pods,
age order: lower is older), names Argo deletes).
"""

HISTORY_GO = "TestReconcileRevisionHistoryLimit"
HISTORY = [
    ("No Revision History Limit", None, [(f"foo{i}", 0, 0, 0) for i in range(1, 12)], {"foo1"}),
    ("Delete extra replicasets", 1, [("foo", 0, 0, 0), ("bar", 1, 1, 1)], {"foo"}),
    ("Dont delete scaled replicasets", 1, [("foo", 1, 1, 0), ("bar", 1, 1, 1)], set()),
    ("Do not delete any replicasets", 2, [("foo", 1, 1, 0), ("bar", 1, 1, 1)], set()),
]

# TestCanaryPromoteFull: 10 replicas, maxSurge 10, maxUnavailable 0, steps setWeight 10 / pause 60,
# stable 10/10, promote --full: the new ReplicaSet goes straight to 10.
PROMOTE_FULL_GO = "TestCanaryPromoteFull"
