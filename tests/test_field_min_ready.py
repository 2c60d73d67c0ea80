"""spec.minReadySeconds: the ReplicaSets carry it (Argo rollout/sync.go newReplicaSet and
syncReplicaSetRevision: minReadySecondsNeedsUpdate) and a pod counts as available only once it
has been ready that long (the ReplicaSet controller's availableReplicas; the embedded cluster's
simulated kubelet does the same), so every step, switch and deadline waits for it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from reconciler.cluster import kubelet
from tests.backends import LocalBackend, backend  # noqa: F401  (the fixture)
from tests.fields_cli import CliRollout

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _rs(min_ready, replicas=1, image="app:1"):
    rs = {"metadata": {"name": "rs", "annotations": {}}, "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"image": image}]}}}}
    if min_ready is not None:
        rs["spec"]["minReadySeconds"] = min_ready
    return kubelet.record_pod_starts(None, rs, T0)


# (minReadySeconds, readyAfterSeconds, seconds after the pod started, ready, available)
AVAILABILITY = [
    (None, 0, 0, 1, 1),
    (0, 0, 0, 1, 1),
    (30, 0, 0, 1, 0),
    (30, 0, 29, 1, 0),
    (30, 0, 30, 1, 1),
    (30, 10, 9, 0, 0),
    (30, 10, 39, 1, 0),
    (30, 10, 40, 1, 1),
]


@pytest.mark.parametrize("min_ready,ready_after,age,ready,available", AVAILABILITY)
def test_available_means_ready_for_min_ready_seconds(min_ready, ready_after, age, ready, available):
    config = {"readyAfterSeconds": {"*": ready_after}}
    status = kubelet.simulate_replicaset(_rs(min_ready), config, T0 + timedelta(seconds=age))["status"]
    assert (status["readyReplicas"], status["availableReplicas"]) == (ready, available)


def test_next_change_includes_the_moment_a_pod_becomes_available():
    assert kubelet.next_change_after(_rs(30), {"readyAfterSeconds": {"*": 10}}, T0 + timedelta(seconds=15)) == T0 + timedelta(seconds=40)


def test_canary_step_waits_for_min_ready_seconds(tmp_path, backend):  # noqa: F811
    app = CliRollout(tmp_path, backend, canary={"steps": [{"setWeight": 50}, {"pause": {}}]}, spec={"minReadySeconds": 30})
    app.run(0)
    assert all(rs["spec"]["minReadySeconds"] == 30 for rs in app.replicasets(0).values())
    app.run(31)
    assert app.view(31)["status"] == "Healthy"
    app.set_image("app:2")
    app.run(40)
    [canary] = [rs for rev, rs in app.replicasets(40).items() if rev == 2]
    assert canary["spec"]["minReadySeconds"] == 30
    app.run(60)  # ready since 40, not yet available: still on step 0
    view = app.view(60)
    assert view["step"] == 0 and view["status"] == "Progressing", view
    assert app.replicasets(69)[2]["status"]["availableReplicas"] == 0  # ready since 40, available at 70
    assert app.replicasets(70)[2]["status"]["availableReplicas"] > 0
    for t in (70, 71, 101, 102, 103):
        app.run(t)
    view = app.view(103)
    assert view["step"] == 1 and view["status"] == "Paused", view


def test_a_changed_min_ready_seconds_reaches_the_current_replicaset(tmp_path):
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), canary={"steps": []})
    app.run(0)
    app.set_spec(minReadySeconds=15)
    app.run(1)
    assert app.replicasets(1)[1]["spec"]["minReadySeconds"] == 15
    app.set_spec(minReadySeconds=None)
    app.run(2)
    assert "minReadySeconds" not in app.replicasets(2)[1]["spec"]
