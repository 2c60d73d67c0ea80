"""Argo's rollout/trafficrouting_test.go replica counts, against reconciler.engine.replicas."""

import pytest

from reconciler.engine import replica_targets
from reconciler.engine.replica_targets import CanaryPosition
from reconciler.engine.replicas import Pods
from tests.argo_cases import trafficrouting as argo
from tests.argo_world import World, rollout

ROUTED = {"istio": {"virtualService": {"name": "vs", "routes": ["primary"]}}}


@pytest.mark.parametrize("row", [pytest.param(r, id=r[0]) for r in argo.ROWS])
def test_routed_counts(row):
    _, replicas, steps, index, extras, full, stable, canary, weights, expect = row
    spec = {"trafficRouting": ROUTED, "maxSurge": 1, "maxUnavailable": 0, **extras}
    got = replica_targets.canary_counts(spec, replicas, CanaryPosition(steps, index, promote_full=full, new=Pods(*canary), stable=Pods(*stable)), actual=weights)
    assert got == expect


def test_old_stable_keeps_its_pods_after_promotion():
    """TestCanaryWithTrafficRoutingAddScaleDownDelay: after promotion the old stable keeps its pod
    with a scale-down deadline of scaleDownDelaySeconds (default 30 s); then it goes."""
    strategy = {"canary": {"canaryService": "c", "stableService": "s", "trafficRouting": ROUTED}}
    world = World(rollout("app", 1, strategy))
    world.run_until("Healthy")
    world.update()
    world.run_until("Healthy")
    world.run()
    assert world.revision_pods() == {1: 1, 2: 1}
    assert world.deadlines()[1] is True
    world.run(31)
    assert world.revision_pods() == {1: 0, 2: 1}
