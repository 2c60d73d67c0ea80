"""Argo's rollout/canary_test.go: what one controller reconcile scales, row by row."""

import pytest

from reconciler.engine import replica_targets
from reconciler.engine import replicas as rm
from reconciler.engine.replica_targets import CanaryPosition
from reconciler.engine.replicas import Pods
from tests.argo_cases.rollout_canary import CASES


@pytest.mark.parametrize("case", [pytest.param(c, id=c.go) for c in CASES])
def test_one_reconcile(case):
    surge, unavailable = rm.surge_and_unavailable(case.replicas, case.surge, case.unavailable)
    weight, _ = replica_targets.replica_intent({}, case.replicas, CanaryPosition(case.steps, case.index, aborted=case.aborted, canary_is_stable=case.stable is None))
    new = Pods(*case.canary)
    stable = Pods(*case.stable) if case.stable is not None else None
    older = [Pods(*rs) for rs in case.older]
    change = rm.reconcile_once(rm.BasicCanaryTarget(case.replicas, weight, surge, unavailable), new, stable, older)
    assert change == case.expect
    if case.expect is None:  # at the step's counts: the canary is fully available, the step may complete
        assert new.available == new.spec
