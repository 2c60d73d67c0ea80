"""Argo's utils/replicaset/canary_test.go, row by row, against reconciler.engine.replicas."""

import pytest

from reconciler.engine import replica_targets
from reconciler.engine import replicas as rm
from reconciler.engine.replica_targets import CanaryPosition
from reconciler.engine.replicas import Pods
from tests.argo_cases import replicaset_canary as argo


def _canary_spec(case: argo.Calc) -> dict:
    spec = {"maxSurge": case.surge, "maxUnavailable": case.unavailable}
    if case.routed:
        spec["trafficRouting"] = {"istio": {}}
    if case.abort_delay is not None:
        spec["abortScaleDownDelaySeconds"] = case.abort_delay
    if case.min_pods is not None:
        spec["minPodsPerReplicaSet"] = case.min_pods
    return spec


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{argo.GO}/{c.name}") for c in argo.CALCULATE])
def test_calculate_replica_counts_for_canary(case):
    step = {"setWeight": case.weight}
    if case.scale is not None:
        step["setCanaryScale"] = case.scale
    if case.routed:  # Argo calls the routed math without ReplicaSets or live weights
        new = stable = None
    else:
        new, stable = Pods(*case.canary), Pods(*case.stable)
    older = case.older[0] if case.older else 0
    got = replica_targets.canary_counts(
        _canary_spec(case), case.replicas,
        CanaryPosition([step], 0, aborted=case.aborted, promote_full=case.promote_full, new=new, stable=stable), older_spec=older,
    )
    assert got == case.expect


@pytest.mark.parametrize(
    "replicas,weight,max_weight,surge,canary,stable",
    [pytest.param(*row, id=f"{argo.APPROXIMATE_GO}/replicas:{row[0]}_weight:{row[1]}_maxweight:{row[2]}_surge:{row[3]}") for row in argo.APPROXIMATE],
)
def test_closest_split(replicas, weight, max_weight, surge, canary, stable):
    assert rm.closest_split(replicas, weight, surge, max_weight) == (canary, stable)


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{argo.DYNAMIC_GO}/{c.name}") for c in argo.DYNAMIC])
def test_dynamic_stable_scale(case):
    spec = {"trafficRouting": {"istio": {}}, "dynamicStableScale": True}
    steps = [{"setWeight": case.set_weight}, *case.extra_steps]
    new = Pods(case.canary_spec, case.canary_spec) if case.canary_spec else None
    stable = Pods(*case.stable) if case.stable else None
    got = replica_targets.canary_counts(spec, case.replicas, CanaryPosition(steps, 0, aborted=case.aborted, new=new, stable=stable), actual=case.weights)
    assert got == case.expect


@pytest.mark.parametrize("go,name,inputs,expect", [pytest.param(*row, id=f"{row[0]}/{row[1]}") for row in argo.SINGLES])
def test_single_cases(go, name, inputs, expect):
    spec = {"maxSurge": inputs.get("surge", 0), "maxUnavailable": inputs.get("unavailable", 0)}
    if inputs.get("routed"):
        spec["trafficRouting"] = {"istio": {}}
    new = Pods(*inputs["new"]) if "new" in inputs else None
    got = replica_targets.canary_counts(spec, inputs["replicas"], CanaryPosition([{"setWeight": inputs["weight"]}], 0, new=new, stable=inputs.get("stable")))
    assert got == expect


@pytest.mark.parametrize(
    "replicas,weight,max_weight,pods",
    [pytest.param(*row, id=f"{argo.TRAFFIC_WEIGHT_GO}/{row[0]}x{row[1]}of{row[2]}") for row in argo.TRAFFIC_WEIGHT],
)
def test_weight_to_replicas(replicas, weight, max_weight, pods):
    assert rm.weight_to_replicas(replicas, weight, max_weight) == pods


@pytest.mark.parametrize("name,index,aborted,weight", [pytest.param(*row, id=f"{argo.CURRENT_SET_WEIGHT_GO}/{row[0]}") for row in argo.CURRENT_SET_WEIGHT])
def test_current_set_weight(name, index, aborted, weight):
    assert replica_targets.replica_intent({}, 10, CanaryPosition([{"setWeight": 10}], index, aborted=aborted))[0] == weight
