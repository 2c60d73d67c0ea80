"""Seed 000, canary: replay `kubectl argo rollouts get rollout -w` invocation by invocation."""

import shutil

import pytest

from tests.backends import cli, get_view
from tests.conftest import FIXTURES

NAME = "rollout-test-canary-nginx"
pytestmark = pytest.mark.slow


def at(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"2026-01-01T00:{minutes:02d}:{secs:02d}Z"


def set_image(repo, old, new):
    path = repo / "nginx.yaml"
    path.write_text(path.read_text().replace(f"image: {old}", f"image: {new}"))


def summary(view):
    return (view["status"], view["message"], view["step"], view["setWeight"], view["actualWeight"])


def rs_counts(view):
    return {tuple(rs["tags"]) or ("old",): (rs["replicas"], rs["available"]) for rs in view["replicaSets"]}


def test_seed000_canary_every_step(backend, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "canary-nginx", repo)
    backend.kubelet_config({"readyAfterSeconds": {"nginx:1.14.2": 5}})

    assert cli(backend, "run", str(repo), now=at(0)).returncode == 0
    view = get_view(backend, NAME, at(1))
    assert summary(view) == ("Healthy", "", 4, 100, 100)
    assert view["revision"] == 1 and view["replicas"]["available"] == 5

    set_image(repo, "nginx:1.14.1", "nginx:1.14.2")
    # 0. setWeight 20: one canary pod (not ready yet), the stable scaled to 4
    cli(backend, "run", str(repo), now=at(60))
    view = get_view(backend, NAME, at(61))
    assert summary(view) == ("Progressing", "more replicas need to be updated", 0, 20, 0)
    assert view["replicas"] == {"desired": 5, "current": 5, "updated": 1, "ready": 4, "available": 4}
    assert rs_counts(view) == {("canary",): (1, 0), ("stable",): (4, 4)}
    images = {i["image"]: i["tags"] for i in view["images"]}
    assert images["nginx:1.14.2"] == ["canary"] and images["nginx:1.14.1"] == ["stable"]

    # the canary pod is ready: step 0 observed complete, step 1 (pause 60s) begins
    cli(backend, "run", str(repo), now=at(70))
    view = get_view(backend, NAME, at(71))
    assert summary(view) == ("Paused", "CanaryPauseStep", 1, 20, 20)

    # still within the pause: nothing changes, and nothing is written
    proc = cli(backend, "run", str(repo), "-o", "json", now=at(100))
    import json

    assert json.loads(proc.stdout)["writes"] == 0
    assert summary(get_view(backend, NAME, at(101))) == ("Paused", "CanaryPauseStep", 1, 20, 20)

    # 2. setWeight 80: surge/unavailable budget -> 4 canary pods (3 starting), 3 stable: ActualWeight 25
    cli(backend, "run", str(repo), now=at(131))
    view = get_view(backend, NAME, at(132))
    assert summary(view) == ("Progressing", "more replicas need to be updated", 2, 80, 25)
    assert rs_counts(view) == {("canary",): (4, 1), ("stable",): (3, 3)}
    assert view["replicas"]["available"] == 4  # never below replicas - maxUnavailable

    cli(backend, "run", str(repo), now=at(140))  # new pods ready: the stable shrinks to 1
    view = get_view(backend, NAME, at(141))
    assert rs_counts(view) == {("canary",): (4, 4), ("stable",): (1, 1)}
    assert view["step"] == 2

    cli(backend, "run", str(repo), now=at(150))  # 3. pause 60s
    view = get_view(backend, NAME, at(151))
    assert summary(view) == ("Paused", "CanaryPauseStep", 3, 80, 80)

    cli(backend, "run", str(repo), now=at(211))  # 4. all steps done: 100 %
    view = get_view(backend, NAME, at(212))
    assert summary(view)[2:4] == (4, 100)
    assert view["status"] == "Progressing"
    assert rs_counts(view)[("stable",)] == (0, 0)

    cli(backend, "run", str(repo), now=at(220))  # 5. the canary becomes stable
    view = get_view(backend, NAME, at(221))
    assert summary(view) == ("Healthy", "", 4, 100, 100)
    assert view["revision"] == 2
    assert [(rs["revision"], rs["status"], rs["tags"]) for rs in view["replicaSets"]] == [(2, "Healthy", ["stable"]), (1, "ScaledDown", [])]

    proc = cli(backend, "run", str(repo), "-o", "json", now=at(300))
    assert json.loads(proc.stdout)["writes"] == 0
