"""spec.rollbackWindow (reconciler/engine/rollback_window.py), as Argo's rollout/sync.go
isRollbackWithinWindow: a change back to a template whose ReplicaSet was created before the
stable one, with fewer than `revisions` ReplicaSets created in between, is promoted at once (no
steps, no pause); otherwise it is an ordinary update."""

from __future__ import annotations

import pytest

from reconciler.engine.rollback_window import within
from tests.argo_world import World, rollout
from tests.backends import LocalBackend
from tests.fields_cli import CliRollout

STEPS = [{"setWeight": 20}, {"pause": {}}]


def _rs(name: str, created: str, experiment: bool = False) -> dict:
    meta = {"name": name, "creationTimestamp": created}
    if experiment:
        meta["annotations"] = {"experiment.argoproj.io/experiment-name": "exp"}
    return {"metadata": meta}


OLD, MID, MID_EXP, STABLE = (_rs("old", "2026-01-01T00:00:00Z"), _rs("mid", "2026-01-01T00:01:00Z"),
                             _rs("exp", "2026-01-01T00:01:30Z", experiment=True), _rs("stable", "2026-01-01T00:02:00Z"))


@pytest.mark.parametrize(("spec", "new", "stable", "expect"), [
    pytest.param({}, OLD, STABLE, (False, 0), id="no rollbackWindow"),
    pytest.param({"rollbackWindow": {"revisions": 0}}, OLD, STABLE, (False, 0), id="revisions 0"),
    pytest.param({"rollbackWindow": {"revisions": 2}}, OLD, STABLE, (True, 1), id="one between, window 2"),
    pytest.param({"rollbackWindow": {"revisions": 1}}, OLD, STABLE, (False, 1), id="one between, window 1"),
    pytest.param({"rollbackWindow": {"revisions": 1}}, MID, STABLE, (True, 0), id="the previous revision, window 1"),
    pytest.param({"rollbackWindow": {"revisions": 3}}, STABLE, MID, (False, 0), id="newer than stable: not a rollback"),
    pytest.param({"rollbackWindow": {"revisions": 3}}, None, STABLE, (False, 0), id="a new template: no ReplicaSet yet"),
])
def test_within_rows(spec, new, stable, expect):
    assert within(spec, new, stable, [OLD, MID, MID_EXP, STABLE]) == expect  # the experiment's ReplicaSet does not count


def _world(strategy: dict, window: int | None) -> World:
    world = World(rollout("app", 4, strategy))
    if window is not None:
        world.manifest["spec"]["rollbackWindow"] = {"revisions": window}
    world.run_until("Healthy")
    return world


def _release(world: World, image: str) -> None:
    world.manifest["spec"]["template"]["spec"]["containers"][0]["image"] = image
    world.run_until("Paused")
    world.promote(full=True)
    world.run_until("Healthy")
    world.run()


@pytest.mark.parametrize(("window", "fast"), [(3, True), (1, False), (None, False)])
def test_canary_back_two_revisions(window, fast):
    world = _world({"canary": {"steps": STEPS}}, window)
    _release(world, "app:2")
    _release(world, "app:3")
    world.manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "app:1"  # one ReplicaSet (app:2) in between
    statuses = [world.run().status for _ in range(6)]
    if fast:
        assert "Paused" not in statuses and statuses[-1] == "Healthy"
        assert world.state.revision == 4 and world.state.stable_hash == world.state.current_hash
    else:
        assert statuses[-1] == "Paused" and world.state.step_index == 1


def test_bluegreen_back_to_the_previous_revision_switches_without_its_pause():
    world = _world({"blueGreen": {"activeService": "active", "autoPromotionEnabled": False}}, 1)
    _release(world, "app:2")
    world.manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "app:1"
    assert [world.run().status for _ in range(3)][-1] == "Healthy"
    assert world.state.stable_hash == world.state.current_hash


def test_through_the_cli(tmp_path):
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), canary={"steps": STEPS}, spec={"rollbackWindow": {"revisions": 2}})
    app.run(0)
    app.set_image("app:2")
    for second in range(1, 10):
        app.run(second)
    assert app.gate("promote", "--full").returncode == 0
    for second in range(10, 20):
        app.run(second)
    assert app.view(19)["status"] == "Healthy"
    app.set_image("app:1")  # back to revision 1's template: promoted at once
    statuses = []
    for second in range(20, 26):
        app.run(second)
        statuses.append(app.view(second)["status"])
    assert "Paused" not in statuses and statuses[-1] == "Healthy", statuses
    assert app.view(25)["revision"] == 3
