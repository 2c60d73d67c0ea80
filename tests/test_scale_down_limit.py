"""scaleDownDelayRevisionLimit (reconciler/engine/scale_down_limit.py). Facts from Argo:

- rollout/canary_test.go TestCanaryWithTrafficRoutingScaleDownLimit: routed canary, limit 1, two
  old ReplicaSets with a deadline in the future -> the older one (revision 1) is scaled to 0 and
  loses its deadline annotation; revision 2 keeps its pod.
- test/e2e/canary_test.go TestCanaryScaleDownDelay (functional/canary-scaledowndelay.yaml: 1
  replica, no steps, limit 1, routed): after revision 2, revision 1 keeps 1 pod with a deadline;
  after revision 3, revision 1 has 0 and no deadline, revision 2 has 1 with a deadline; back to
  revision 2's template (it becomes revision 4): revision 4 has 1 pod and no deadline, revision 3
  has 1 with a deadline, revision 1 stays at 0.
- rollout/bluegreen_test.go TestBlueGreenScaleDownLimit: blue-green, limit 1, revisions 1 and 2
  both old with a deadline, revision 3 active -> revision 1 is scaled to 0.
"""

from __future__ import annotations

import pytest

from reconciler.engine.scale_down_limit import over_limit, revision_limit
from tests.argo_world import World, rollout
from tests.backends import LocalBackend
from tests.fields_cli import CliRollout

ROUTED = {"istio": {"virtualService": {"name": "vs", "routes": ["primary"]}}}


def _canary(limit):
    canary = {"canaryService": "c", "stableService": "s", "trafficRouting": ROUTED}
    if limit is not None:
        canary["scaleDownDelayRevisionLimit"] = limit
    return World(rollout("app", 1, {"canary": canary}))


def _promote(world: World, image: str | None = None) -> None:
    if image is None:
        world.update()
    else:
        world.manifest["spec"]["template"]["spec"]["containers"][0]["image"] = image
    world.run_until("Healthy")
    world.run()


@pytest.mark.parametrize(("rows", "limit", "expect"), [
    pytest.param([], 1, [], id="nothing old"),
    pytest.param(["r3", "r2", "r1"], None, [], id="no limit"),
    pytest.param(["r3", "r2", "r1"], 1, ["r2", "r1"], id="limit 1: the newest stays"),
    pytest.param(["r3", "r2", "r1"], 0, ["r3", "r2", "r1"], id="limit 0: none stays"),
    pytest.param(["r3", "x2", "r1"], 1, ["r1"], id="one without a deadline does not count"),
])
def test_over_limit_rows(rows, limit, expect):
    got = over_limit([{"name": r} for r in rows], limit, lambda rs: rs["name"].startswith("r"))
    assert [rs["name"] for rs in got] == expect


def test_revision_limit_reads_the_strategy():
    assert revision_limit({}) is None
    assert revision_limit({"scaleDownDelayRevisionLimit": 2}) == 2


def test_canary_scale_down_delay_e2e():
    """TestCanaryScaleDownDelay, with Istio standing in for the ALB of Argo's fixture."""
    world = _canary(1)
    world.run_until("Healthy")
    _promote(world)
    assert world.revision_pods() == {1: 1, 2: 1} and world.deadlines() == {1: True, 2: False}
    _promote(world)
    assert world.revision_pods() == {1: 0, 2: 1, 3: 1}
    assert world.deadlines() == {1: False, 2: True, 3: False}
    _promote(world, image="app:2")  # revision 2's template again: its ReplicaSet becomes revision 4
    assert world.revision_pods() == {1: 0, 3: 1, 4: 1}
    assert world.deadlines() == {1: False, 3: True, 4: False}


def test_canary_without_a_limit_keeps_every_delayed_revision():
    world = _canary(None)
    world.run_until("Healthy")
    _promote(world)
    _promote(world)
    assert world.revision_pods() == {1: 1, 2: 1, 3: 1}
    world.run(31)
    assert world.revision_pods() == {1: 0, 2: 0, 3: 1}
    assert world.deadlines() == {1: False, 2: False, 3: False}


@pytest.mark.parametrize(("limit", "after_two", "after_three"), [
    pytest.param(1, {1: 1, 2: 1}, {1: 0, 2: 1, 3: 1}, id="TestBlueGreenScaleDownLimit"),
    pytest.param(None, {1: 1, 2: 1}, {1: 1, 2: 1, 3: 1}, id="no limit"),
    pytest.param(0, {1: 0, 2: 1}, {1: 0, 2: 0, 3: 1}, id="limit 0"),
])
def test_bluegreen_limit(limit, after_two, after_three):
    strategy = {"activeService": "active"}
    if limit is not None:
        strategy["scaleDownDelayRevisionLimit"] = limit
    world = World(rollout("app", 1, {"blueGreen": strategy}))
    world.run_until("Healthy")
    _promote(world)
    assert world.revision_pods() == after_two
    _promote(world)
    assert world.revision_pods() == after_three
    assert all(not has for revision, has in world.deadlines().items() if world.revision_pods()[revision] == 0)


def _until_healthy(app: CliRollout, start: int) -> int:
    for second in range(start, start + 30):
        app.run(second)
        if app.view(second)["status"] == "Healthy" and len([n for n in app.pods(second).values() if n]) >= 2:
            return second
    raise AssertionError(app.view(second))


def test_bluegreen_limit_through_the_cli(tmp_path):
    """On the embedded cluster: with limit 1 the third revision's switch scales the first to 0 at
    once (its 30 s delay not over), the second keeps its pod until its deadline."""
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), replicas=1, bluegreen={"scaleDownDelayRevisionLimit": 1})
    app.run(0)
    app.set_image("app:2")
    second = _until_healthy(app, 1)
    assert app.pods(second) == {1: 1, 2: 1}
    app.set_image("app:3")
    second = _until_healthy(app, second + 1) + 1
    app.run(second)
    assert app.pods(second) == {1: 0, 2: 1, 3: 1}
    deadline = "argo-rollouts.argoproj.io/scale-down-deadline"
    sets = app.replicasets(second)
    assert deadline not in sets[1]["metadata"].get("annotations", {}) and deadline in sets[2]["metadata"]["annotations"]
