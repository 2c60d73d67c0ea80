"""spec.paused through the CLI (engine/manual_pause.py). Facts from Argo:
- utils/rollout RolloutStatusString: spec.paused shows "Paused" / "manually paused", after the
  Degraded checks;
- rollout/canary.go completedCurrentCanaryStep / reconcileCanaryPause: no step completes while
  spec.paused (the current step's scaling still happens);
- rollout/bluegreen_test.go TestBlueGreenHandlePause/NoAutoPromoteAfterDelayTimePassesIfUserPaused:
  a paused blue-green does not switch the active Service, even past autoPromotionSeconds."""

from __future__ import annotations

from tests.backends import LocalBackend
from tests.fields_cli import CliRollout

STEPS = [{"setWeight": 50}, {"pause": {"duration": "10s"}}]


def test_paused_canary_holds_at_its_step_and_resumes_when_git_unpauses(tmp_path):
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), canary={"steps": STEPS})
    app.run(0)
    app.set_image("app:2")
    app.set_spec(paused=True)
    for t in (1, 2, 30, 60, 600, 1200):
        app.run(t)
    view = app.view(1200)
    assert (view["status"], view["message"]) == ("Paused", "manually paused")
    assert app.pods(1200) == {1: 2, 2: 2}  # step 0's scaling happened; nothing after it
    assert view["step"] == 0
    assert app.gate("promote").returncode == 0  # recorded; waits while Git says paused
    app.run(1201)
    assert app.view(1201)["step"] == 0
    app.set_spec(paused=None)
    for t in (1202, 1203, 1220, 1221, 1222):
        app.run(t)
    view = app.view(1222)
    assert view["status"] == "Healthy", view
    assert app.pods(1222) == {1: 0, 2: 4}


def test_paused_time_does_not_count_against_the_progress_deadline(tmp_path):
    backend = LocalBackend(tmp_path / "cluster")
    app = CliRollout(tmp_path, backend, canary={"steps": STEPS}, spec={"progressDeadlineSeconds": 30})
    app.run(0)
    backend.kubelet_config({"readyAfterSeconds": {"app:2": 10_000}})
    app.set_image("app:2")
    app.set_spec(paused=True)
    for t in (1, 100, 200):
        assert app.run(t).returncode == 0
    assert app.view(200)["status"] == "Paused"


def test_paused_bluegreen_never_switches(tmp_path):
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), bluegreen={"autoPromotionSeconds": 10})
    app.run(0)
    app.set_image("app:2")
    app.set_spec(paused=True)
    for t in (1, 2, 5, 30, 60):
        app.run(t)
    view = app.view(60)
    assert (view["status"], view["message"]) == ("Paused", "manually paused")
    [active] = [rs for rs in view["replicaSets"] if "active" in rs.get("tags", [])]
    assert active["revision"] == 1
    app.set_spec(paused=None)
    for t in (61, 62, 80, 81):
        app.run(t)
    [active] = [rs for rs in app.view(81)["replicaSets"] if "active" in rs.get("tags", [])]
    assert active["revision"] == 2
