"""canaryMetadata / stableMetadata and previewMetadata / activeMetadata (engine/metadata.py):
the labels and annotations a ReplicaSet's pods carry while it holds the role, moved when the role
moves. Facts transcribed from Argo rollout/ephemeralmetadata_test.go (named per case) and
utils/replicaset TestSyncEphemeralPodMetadata."""

from __future__ import annotations

import pytest

from reconciler.engine import metadata
from tests.backends import LocalBackend, backend  # noqa: F401  (the fixture)
from tests.fields_cli import CliRollout

CANARY = {"canaryMetadata": {"labels": {"role": "canary"}}, "stableMetadata": {"labels": {"role": "stable"}, "annotations": {"team": "blue"}}}
BLUEGREEN = {"previewMetadata": {"labels": {"role": "preview"}}, "activeMetadata": {"labels": {"role": "active"}}}

# (Argo test, strategy, current hash, stable hash, {hash: role label the ReplicaSet gets, None: none})
ROLES = [
    ("TestSyncCanaryEphemeralMetadataInitialRevision", {"canary": CANARY}, "a", "", {"a": "stable"}),
    ("TestSyncCanaryEphemeralMetadataInitialRevision", {"canary": CANARY}, "a", "a", {"a": "stable"}),
    ("TestSyncCanaryEphemeralMetadataSecondRevision", {"canary": CANARY}, "b", "a", {"b": "canary", "a": "stable", "old": None}),
    ("TestSyncBlueGreenEphemeralMetadataInitialRevision", {"blueGreen": BLUEGREEN}, "a", "a", {"a": "active"}),
    ("TestSyncBlueGreenEphemeralMetadataSecondRevision", {"blueGreen": BLUEGREEN}, "b", "a", {"b": "preview", "a": "active", "old": None}),
]


@pytest.mark.parametrize("go,strategy,current,stable,expected", [pytest.param(*row, id=f"{row[0]}-{i}") for i, row in enumerate(ROLES)])
def test_roles(go, strategy, current, stable, expected):
    roles = metadata.roles(current, stable)
    for pod_hash, label in expected.items():
        role = roles.get(pod_hash)
        got = (metadata.role_metadata(strategy, role).get("labels") or {}).get("role") if role else None
        assert got == label, (go, pod_hash)


# TestSyncEphemeralPodMetadata: injected keys are added, keys injected before and no longer wanted
# are removed, keys the engine did not inject are never touched.
def test_sync_adds_and_removes_only_what_it_injected():
    template = {"metadata": {"labels": {"app": "x", "sidecar": "istio"}}}
    first, record = metadata.sync_template(template, {}, {"labels": {"role": "canary", "tier": "1"}}, {"app"})
    assert first["metadata"]["labels"] == {"app": "x", "sidecar": "istio", "role": "canary", "tier": "1"}
    second, record = metadata.sync_template(first, record, {"labels": {"role": "stable"}}, {"app"})
    assert second["metadata"]["labels"] == {"app": "x", "sidecar": "istio", "role": "stable"}
    third, record = metadata.sync_template(second, record, {}, {"app"})
    assert third["metadata"]["labels"] == {"app": "x", "sidecar": "istio"} and record == {}


def test_selector_labels_are_never_overwritten_and_shadowed_values_come_back():
    template = {"metadata": {"labels": {"app": "x", "role": "mine"}}}
    on, record = metadata.sync_template(template, {}, {"labels": {"app": "evil", "role": "canary"}}, {"app"})
    assert on["metadata"]["labels"] == {"app": "x", "role": "canary"}
    off, _ = metadata.sync_template(on, record, {}, {"app"})
    assert off["metadata"]["labels"] == {"app": "x", "role": "mine"}


def _labels(app, t):
    """{revision: (pod template labels, pod labels)} as the cluster reports them."""
    out = {}
    pods = app.objects("Pod", t)
    for rev, rs in app.replicasets(t).items():
        name = rs["metadata"]["name"]
        pod_labels = [p["metadata"].get("labels", {}) for p in pods if p["metadata"]["name"].startswith(name + "-")]
        out[rev] = ((rs["spec"]["template"].get("metadata") or {}).get("labels", {}).get("role"), sorted({p.get("role") for p in pod_labels}, key=str))
    return out


def test_canary_metadata_moves_with_the_role(tmp_path, backend):  # noqa: F811
    app = CliRollout(tmp_path, backend, canary={"steps": [{"setWeight": 50}, {"pause": {}}], **CANARY})
    app.run(0)
    assert _labels(app, 0) == {1: ("stable", ["stable"])}
    assert app.replicasets(0)[1]["spec"]["template"]["metadata"]["annotations"]["team"] == "blue"
    app.set_image("app:2")
    app.run(1)
    assert _labels(app, 1)[2] == ("canary", ["canary"])
    assert _labels(app, 1)[1][0] == "stable"
    app.run(2)
    assert app.gate("promote", "--full").returncode == 0
    for t in (3, 4, 5, 6, 7, 8):
        app.run(t)
    assert app.view(8)["status"] == "Healthy"
    got = _labels(app, 8)
    assert got[2] == ("stable", ["stable"])
    assert got[1][0] is None  # the old stable lost its role
    assert "team" not in (app.replicasets(8)[1]["spec"]["template"].get("metadata") or {}).get("annotations", {})


def test_bluegreen_metadata_moves_with_the_switch(tmp_path):
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), bluegreen={"autoPromotionEnabled": False, "scaleDownDelaySeconds": 5, **BLUEGREEN})
    app.run(0)
    assert _labels(app, 0) == {1: ("active", ["active"])}
    app.set_image("app:2")
    app.run(1)
    app.run(2)
    got = _labels(app, 2)
    assert got[2] == ("preview", ["preview"]) and got[1] == ("active", ["active"])
    app.gate("promote")
    app.run(3)
    app.run(4)
    got = _labels(app, 4)
    assert got[2] == ("active", ["active"]) and got[1][0] is None


def test_undo_restores_the_template_without_the_role_metadata(tmp_path):
    from reconciler.commands.undo import template_from_replicaset

    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), canary={"steps": [], **CANARY})
    app.run(0)
    restored = template_from_replicaset(app.replicasets(0)[1])
    assert restored["metadata"] == {"labels": {"app": "app"}}
