"""Argo's blue-green facts (tests/argo_cases/bluegreen.py), replayed run by run through the planner."""

import pytest

from tests.argo_cases.bluegreen import SCENARIOS
from tests.argo_world import World, rollout


def _checkpoints():
    for scenario in SCENARIOS:
        expects = [i for i, op in enumerate(scenario["script"]) if op[0] == "expect"]
        for number, position in enumerate(expects):
            marks = []
            reason = (scenario.get("xfail") or {}).get(number)
            if reason:
                marks.append(pytest.mark.xfail(reason=reason, strict=True))
            yield pytest.param(scenario, position, id=f"{scenario['go']}/checkpoint-{number}", marks=marks)


def play(scenario, upto):
    manifest = rollout("app", scenario["replicas"], scenario["strategy"])
    if "progressDeadlineSeconds" in scenario:
        manifest["spec"]["progressDeadlineSeconds"] = scenario["progressDeadlineSeconds"]
    world = World(manifest, scenario.get("kubelet"))
    for op in scenario["script"][:upto]:
        kind = op[0]
        if kind == "until":
            world.run_until(status=op[1])
        elif kind == "runs":
            for _ in range(op[1]):
                world.run(op[2] if len(op) > 2 else 1)
        elif kind == "update":
            world.update()
        elif kind == "promote":
            world.promote()
        elif kind == "promote_full":
            world.promote(full=True)
        elif kind == "scale":
            world.scale(op[1])
    return world


@pytest.mark.parametrize("scenario,position", list(_checkpoints()))
def test_bluegreen_checkpoint(scenario, position):
    world = play(scenario, position)
    expect = scenario["script"][position]
    if expect[1] == "revisions":
        got = world.revision_pods()
        assert {rev: got.get(rev, 0) for rev in expect[2]} == expect[2]
    elif expect[1] == "status":
        assert world.result.status == expect[2]
    else:
        replicas = world.result.view["replicas"]
        got = (replicas["desired"], replicas["current"], replicas["updated"], replicas["ready"], replicas["available"])
        assert got == tuple(expect[2:])
