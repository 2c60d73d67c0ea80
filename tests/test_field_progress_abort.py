"""spec.progressDeadlineAbort through the CLI (engine/progress_abort.py). Facts from Argo
rollout/sync.go calculateRolloutConditions and rollout/bluegreen_test.go
TestBlueGreenProgressDeadlineAbort: a timed-out update is aborted when the flag is true (also
when the flag is set after the timeout); without it the rollout is only Degraded
(ProgressDeadlineExceeded) and keeps its new pods."""

from __future__ import annotations

from tests.backends import LocalBackend, backend  # noqa: F401  (the fixture)
from tests.fields_cli import CliRollout

STEPS = [{"setWeight": 50}, {"pause": {}}]


def _timed_out_canary(tmp_path, backend, **spec):
    app = CliRollout(tmp_path, backend, canary={"steps": STEPS}, spec={"progressDeadlineSeconds": 30, **spec})
    app.run(0)
    backend.kubelet_config({"readyAfterSeconds": {"app:2": 10_000}})
    app.set_image("app:2")
    app.run(1)
    app.run(2)
    return app


def test_timeout_aborts_back_to_stable(tmp_path, backend):  # noqa: F811
    app = _timed_out_canary(tmp_path, backend, progressDeadlineAbort=True)
    proc = app.run(40)
    assert proc.returncode == 1  # aborted in this run
    view = app.view(40)
    assert view["status"] == "Degraded"
    assert view["message"].startswith("RolloutAborted: ReplicaSet") and "timed out progressing" in view["message"]
    app.run(41)
    assert app.pods(41) == {1: 4, 2: 0}


def test_without_the_flag_the_rollout_is_only_degraded(tmp_path):
    app = _timed_out_canary(tmp_path, LocalBackend(tmp_path / "cluster"))
    assert app.run(40).returncode == 1
    app.run(41)
    view = app.view(41)
    assert view["status"] == "Degraded" and view["message"].startswith("ProgressDeadlineExceeded")
    assert app.pods(41) == {1: 3, 2: 2}  # nothing rolled back (the stable keeps replicas - maxUnavailable available)


def test_flag_set_after_the_timeout_aborts(tmp_path):
    app = _timed_out_canary(tmp_path, LocalBackend(tmp_path / "cluster"))
    app.run(40)
    app.set_spec(progressDeadlineAbort=True)
    app.run(50)
    assert app.view(50)["message"].startswith("RolloutAborted")
    app.run(51)
    assert app.pods(51) == {1: 4, 2: 0}


def test_bluegreen_timeout_aborts_and_the_active_service_stays(tmp_path):
    backend = LocalBackend(tmp_path / "cluster")
    app = CliRollout(tmp_path, backend, bluegreen={"abortScaleDownDelaySeconds": 0},
                     spec={"progressDeadlineSeconds": 30, "progressDeadlineAbort": True})
    app.run(0)
    backend.kubelet_config({"readyAfterSeconds": {"app:2": 10_000}})
    app.set_image("app:2")
    app.run(1)
    app.run(2)
    assert app.run(40).returncode == 1
    view = app.view(40)
    assert view["message"].startswith("RolloutAborted")
    [active] = [rs for rs in view["replicaSets"] if "active" in rs.get("tags", [])]
    assert active["revision"] == 1


def test_first_deploy_has_nothing_to_abort_to(tmp_path):
    backend = LocalBackend(tmp_path / "cluster")
    backend.kubelet_config({"readyAfterSeconds": {"app:1": 10_000}})
    app = CliRollout(tmp_path, backend, canary={"steps": STEPS}, spec={"progressDeadlineSeconds": 30, "progressDeadlineAbort": True})
    app.run(0)
    app.run(1)
    app.run(40)
    view = app.view(40)
    assert view["message"].startswith("ProgressDeadlineExceeded")
    assert app.pods(40) == {1: 4}
