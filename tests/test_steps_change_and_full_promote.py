"""Two of Argo's semantics through the CLI on the embedded cluster (issue 13):
- a change of only `steps` restarts an update in progress at step 0
  (Argo: rollout/canary_test.go TestResetCurrentStepIndexOnStepChange);
- `promote --full` on an aborted canary lifts the abort and goes to 100 % (Argo's PromoteFull
  clears the abort and the pauses and skips the remaining steps), while a plain `promote` of an
  aborted rollout is refused with what to run instead."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.backends import LocalBackend, cli, get_view

ROOT = Path(__file__).resolve().parent.parent
NAME = "rollout-test-canary-nginx"


def _at(minute: int) -> str:
    return f"2026-01-01T00:{minute:02d}:00Z"


@pytest.fixture()
def repo(tmp_path):
    src = tmp_path / "repo"
    shutil.copytree(ROOT / "fixtures" / "canary-nginx", src)
    manifest = src / "nginx.yaml"
    text = manifest.read_text()
    text = text.replace("      - pause: {duration: 60}\n      - setWeight: 80", "      - pause: {}\n      - setWeight: 80", 1)
    manifest.write_text(text)
    return src


def _bump(repo: Path) -> None:
    manifest = repo / "nginx.yaml"
    manifest.write_text(manifest.read_text().replace("image: nginx:1.14.1", "image: nginx:1.15.0"))


def _run_until_paused(backend, repo, start: int) -> int:
    minute = start
    for minute in range(start, start + 8):
        cli(backend, "run", str(repo), now=_at(minute))
        if get_view(backend, NAME, _at(minute))["status"] == "Paused":
            return minute
    raise AssertionError("never reached the manual pause")


def test_changing_only_the_steps_restarts_an_update_in_progress(repo, tmp_path):
    backend = LocalBackend(tmp_path / "cluster")
    cli(backend, "run", str(repo), now=_at(0))
    _bump(repo)
    minute = _run_until_paused(backend, repo, 1)
    view = get_view(backend, NAME, _at(minute))
    assert (view["step"], view["revision"]) == (1, 2)

    manifest = repo / "nginx.yaml"
    manifest.write_text(manifest.read_text().replace("      - setWeight: 20\n", "      - setWeight: 10\n", 1))
    done = cli(backend, "run", str(repo), now=_at(minute + 1))
    assert "starts again at step 0" in done.stderr + done.stdout
    view = get_view(backend, NAME, _at(minute + 1))
    assert view["revision"] == 2  # no new revision: the pod template did not change
    assert view["step"] == 0 and view["setWeight"] == 10

    # Once the update is done, a change of steps is only recorded for the next update.
    for later in range(minute + 2, minute + 12):
        if get_view(backend, NAME, _at(later - 1))["status"] == "Paused":
            cli(backend, "promote", NAME)
        cli(backend, "run", str(repo), now=_at(later))
    assert get_view(backend, NAME, _at(minute + 12))["status"] == "Healthy"
    manifest.write_text(manifest.read_text().replace("      - setWeight: 10\n", "      - setWeight: 30\n", 1))
    done = cli(backend, "run", str(repo), "-o", "json", now=_at(minute + 13))
    [result] = json.loads(done.stdout)["rollouts"]
    assert result["plan"]["actions"] == []  # recorded only: nothing restarts
    view = get_view(backend, NAME, _at(minute + 13))
    assert view["status"] == "Healthy" and view["step"] == view["totalSteps"]


def test_promote_full_lifts_an_abort_and_a_plain_promote_is_refused(repo, tmp_path):
    backend = LocalBackend(tmp_path / "cluster")
    cli(backend, "run", str(repo), now=_at(0))
    _bump(repo)
    minute = _run_until_paused(backend, repo, 1)
    assert cli(backend, "abort", NAME).returncode == 0
    cli(backend, "run", str(repo), now=_at(minute + 1))
    view = get_view(backend, NAME, _at(minute + 1))
    assert view["status"] == "Degraded" and "RolloutAborted" in view["message"]

    refused = cli(backend, "promote", NAME, check=False)
    assert refused.returncode == 2
    assert "retry" in refused.stdout + refused.stderr and "--full" in refused.stdout + refused.stderr

    assert cli(backend, "promote", NAME, "--full").returncode == 0
    for later in range(minute + 2, minute + 8):
        cli(backend, "run", str(repo), now=_at(later))
        view = get_view(backend, NAME, _at(later))
        assert view["status"] != "Degraded", view["message"]
        if view["status"] == "Healthy":
            break
    assert view["status"] == "Healthy" and view["revision"] == 2
    assert view["replicas"]["updated"] == view["replicas"]["desired"] == 5
    stable = [rs for rs in view["replicaSets"] if "stable" in rs.get("tags", [])]
    assert [rs["revision"] for rs in stable] == [2]


def test_the_first_deploy_has_a_progress_deadline(repo, tmp_path):
    """Argo times the initial deploy too: pods that never become available make the rollout
    Degraded (ProgressDeadlineExceeded) after progressDeadlineSeconds, and it is Healthy again once
    they are. A run that makes it Degraded exits 1."""
    backend = LocalBackend(tmp_path / "cluster")
    backend.kubelet_config({"crash": ["nginx:1.14.1"]})
    cli(backend, "run", str(repo), now=_at(0))
    assert get_view(backend, NAME, _at(5))["status"] != "Degraded"
    cli(backend, "run", str(repo), now=_at(5))
    late = cli(backend, "run", str(repo), now=_at(11))
    view = get_view(backend, NAME, _at(11))
    assert view["status"] == "Degraded" and "ProgressDeadlineExceeded" in view["message"], view["message"]
    assert late.returncode == 1
    backend.kubelet_config({})  # the image is fixed: pods come up
    cli(backend, "run", str(repo), now=_at(12))
    cli(backend, "run", str(repo), now=_at(13))
    assert get_view(backend, NAME, _at(13))["status"] == "Healthy"
