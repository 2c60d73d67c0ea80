"""Changing spec.replicas while a canary is paused (Argo's e2e TestRolloutScalingWhenPaused): the
paused step's split is recomputed for the new size and the rollout stays Paused. The live counts are
the old size's split until this run rescales them; the state check must read them so, not as a
lost state (it did: Degraded, StateLost, nothing moved)."""

from __future__ import annotations

from tests.backends import LocalBackend
from tests.fields_cli import CliRollout

STEPS = [{"setWeight": 25}, {"pause": {}}]


def test_scaling_a_paused_canary_through_the_cli(tmp_path):
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), replicas=1, canary={"steps": STEPS})
    app.run(0)
    app.set_image("app:2")
    for second in range(1, 6):
        app.run(second)
    assert app.view(5)["status"] == "Paused"
    assert app.pods(5) == {1: 1, 2: 1}

    app.set_spec(replicas=8)
    for second in range(6, 10):
        done = app.run(second)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "StateLost" not in done.stdout + done.stderr
    view = app.view(9)
    assert view["status"] == "Paused", view
    assert app.pods(9) == {1: 6, 2: 2}

    app.set_spec(replicas=4)
    for second in range(10, 14):
        app.run(second)
    assert app.view(13)["status"] == "Paused"
    assert app.pods(13) == {1: 3, 2: 1}
