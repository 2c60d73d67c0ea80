"""Argo's rollout/sync_test.go facts: revisionHistoryLimit and promote --full."""

import pytest

from reconciler.engine import history, replica_targets
from reconciler.engine.replica_targets import CanaryPosition
from reconciler.engine.replicas import Pods
from tests.argo_cases import sync as argo


def _rs(name, spec, pods, age):
    return {
        "metadata": {"name": name, "labels": {"rollouts-pod-template-hash": name}, "creationTimestamp": f"2026-01-01T00:00:{age:02d}Z"},
        "spec": {"replicas": spec},
        "status": {"replicas": pods},
    }


@pytest.mark.parametrize("name,limit,old,deleted", [pytest.param(*row, id=f"{argo.HISTORY_GO}/{row[0]}") for row in argo.HISTORY])
def test_revision_history_limit(name, limit, old, deleted):
    replicasets = [_rs(*rs) for rs in old]
    spec = {} if limit is None else {"revisionHistoryLimit": limit}
    got = history.to_delete(replicasets, keep_hashes=set(), limit=history.history_limit(spec))
    assert {rs["metadata"]["name"] for rs in got} == deleted


@pytest.mark.parametrize("go", [pytest.param(argo.PROMOTE_FULL_GO, id=argo.PROMOTE_FULL_GO)])
def test_promote_full_scales_past_the_steps(go):
    spec = {"maxSurge": 10, "maxUnavailable": 0}
    steps = [{"setWeight": 10}, {"pause": {"duration": 60}}]
    got = replica_targets.canary_counts(spec, 10, CanaryPosition(steps, 0, promote_full=True, new=Pods(0, 0), stable=Pods(10, 10)))
    assert got == (10, 10)  # the canary at 10 within the surge; the stable goes once they are available


def test_engine_deletes_replicasets_past_the_history_limit():
    """The planner applies the same rule: with revisionHistoryLimit 1, the third revision leaves
    one old ReplicaSet (revision 2) and deletes revision 1 once it has no pods."""
    from tests.argo_world import World, rollout

    manifest = rollout("app", 2, {"canary": {}})
    manifest["spec"]["revisionHistoryLimit"] = 1
    world = World(manifest)
    world.run_until("Healthy")
    for _ in range(2):
        world.update()
        world.run()
        world.run_until("Healthy")
    world.run()
    assert sorted(world.revision_pods().items()) == [(2, 0), (3, 2)]
