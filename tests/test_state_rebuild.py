"""Lost, unreadable or contradicting recorded state is rebuilt from the live objects (the hash the
stable/active Service selects, the ReplicaSets' revisions and replica counts), or the rollout stops
with a finding; it never advances on a guess and never scales the stable ReplicaSet down
(issue 10 §1). Both status modes."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from reconciler.engine.state import RolloutState
from tests.conftest import FIXTURES, ROOT
from tests.rollout_harness import NAME, Harness

MODES = ["annotations", "commit"]


def paused_canary(tmp_path, status="annotations", services=True, **kw) -> Harness:
    """Revision 2 paused at the manual pause (step 1 of 5): revision 1 has 4 pods, revision 2 has 1."""
    h = Harness(tmp_path, status=status, services=services, **kw)
    h.run(0)
    h.set_image("app:2")
    h.run(10)
    h.run(20)
    assert h.state()["step_index"] == 1 and h.state()["pause_reason"] == "CanaryPauseStep"
    assert h.counts() == {1: (4, 4), 2: (1, 1)}
    return h


def assert_held(h: Harness, before_counts, before_selectors):
    """Nothing advanced: the stable kept its pods, the canary got none, selectors did not move."""
    after = h.counts()
    assert after[1][0] >= before_counts[1][0], f"stable scaled down: {before_counts} -> {after}"
    assert after.get(2, (0, 0))[0] <= before_counts.get(2, (0, 0))[0], f"canary advanced: {before_counts} -> {after}"
    assert h.selectors() == before_selectors
    state = h.state()
    assert state.get("stable_hash") != h.hash_of_revision(2), "revision 2 was promoted on a guess"


# -- the state is gone -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", MODES)
def test_lost_state_is_rebuilt_from_the_services_and_stays_paused(tmp_path, status):
    h = paused_canary(tmp_path, status)
    counts, selectors = h.counts(), h.selectors()
    h.set_state(None)
    report = h.run(30)
    assert report.exit_code == 0
    assert_held(h, counts, selectors)
    state = h.state()
    assert (state["revision"], state["step_index"], state["pause_reason"]) == (2, 1, "CanaryPauseStep")
    assert state["stable_hash"] == h.hash_of_revision(1) and state["current_hash"] == h.hash_of_revision(2)
    [finding] = report.results[0].findings
    assert finding.severity.value == "warning" and "rebuilt" in finding.message and "stable revision 1" in finding.message
    h.run(3600)  # an indefinite pause: still there an hour later
    assert_held(h, counts, selectors)
    h.gate("promote")
    h.run(3610)
    assert h.state()["step_index"] == 2


@pytest.mark.parametrize("status", MODES)
def test_lost_state_without_services_stops_with_a_finding_until_a_person_decides(tmp_path, status):
    """No stable Service and no revision that serves the whole rollout: which one is stable is a guess."""
    h = paused_canary(tmp_path, status, services=False)
    counts = h.counts()
    h.set_state(None)
    for seconds in (30, 40):
        report = h.run(seconds)
        assert report.exit_code == 1
        assert h.counts() == counts
        [finding] = [f for f in report.results[0].findings if f.is_error]
        for word in ("lost", "promote", "abort", "retry", "revision 1", "revision 2"):
            assert word in finding.message + " " + finding.hint, (word, finding)
    h.gate("abort")
    h.run(50)
    assert h.counts()[1][0] == 5 and h.counts()[2][0] == 0
    assert h.state()["aborted"] is True


@pytest.mark.parametrize("status", MODES)
def test_a_halted_rollout_goes_on_when_promoted(tmp_path, status):
    h = paused_canary(tmp_path, status, services=False)
    h.set_state(None)
    assert h.run(30).exit_code == 1
    h.gate("promote")
    assert h.run(40).exit_code == 0
    state = h.state()
    assert state["stable_hash"] == h.hash_of_revision(1) and state["step_index"] == 1 and not state.get("halted")
    h.gate("promote")
    h.run(50)
    assert h.state()["step_index"] == 2


def test_a_halted_rollout_restarts_when_retried(tmp_path):
    h = paused_canary(tmp_path, services=False)
    h.set_state(None)
    h.run(30)
    h.gate("retry")
    h.run(40)
    state = h.state()
    assert state["stable_hash"] == h.hash_of_revision(1) and state["step_index"] in (0, 1) and not state.get("halted")
    assert h.counts()[1][0] >= 4


@pytest.mark.parametrize("status", MODES)
def test_unreadable_state_is_rebuilt_and_says_so(tmp_path, status):
    h = paused_canary(tmp_path, status)
    counts, selectors = h.counts(), h.selectors()
    h.set_state(None, raw="state: [unclosed\n" if status == "commit" else "{not json")
    report = h.run(30)
    assert report.exit_code == 0
    assert_held(h, counts, selectors)
    assert h.state()["step_index"] == 1
    assert any("unreadable" in f.message for f in report.results[0].findings)


def test_cli_lost_state_configmap_is_not_a_promotion(tmp_path):
    """The reported case, through the CLI: canary-nginx paused at its manual pause, state ConfigMap deleted."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "canary-nginx", repo)
    manifest = repo / "nginx.yaml"
    manifest.write_text(manifest.read_text().replace("- pause: {duration: 60}\n      - setWeight: 80", "- pause: {}\n      - setWeight: 80", 1))
    cluster = tmp_path / "cluster"

    def cli(*args, now=None):
        command = [sys.executable, "-m", "reconciler", *args, "--cluster", f"local:{cluster}"] + (["--now", now] if now else [])
        return subprocess.run(command, capture_output=True, text=True, cwd=str(ROOT), timeout=60)

    def replicas():
        from reconciler.cluster.local import LocalCluster
        from reconciler.engine.context import rs_revision

        return {rs_revision(rs): rs["spec"]["replicas"] for rs in LocalCluster(cluster).list("ReplicaSet", "default")}

    assert cli("run", str(repo), now="2026-01-01T00:00:00Z").returncode == 0
    manifest.write_text(manifest.read_text().replace("nginx:1.14.1", "nginx:1.14.2"))
    cli("run", str(repo), now="2026-01-01T00:01:00Z")
    cli("run", str(repo), now="2026-01-01T00:02:00Z")
    assert replicas() == {1: 4, 2: 1}
    (cluster / "default" / "ConfigMap" / "rollout-test-canary-nginx-rollout-state.yaml").unlink()
    proc = cli("run", str(repo), now="2026-01-01T00:03:00Z")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "lost" in proc.stdout and "reconciler abort" in proc.stdout and "Traceback" not in proc.stderr
    assert replicas() == {1: 4, 2: 1}
    assert cli("run", str(repo), now="2026-01-01T00:04:00Z").returncode == 1 and replicas() == {1: 4, 2: 1}
    assert cli("abort", "rollout-test-canary-nginx").returncode == 0
    cli("run", str(repo), now="2026-01-01T00:05:00Z")
    assert replicas() == {1: 5, 2: 0}


# -- one recorded field goes missing or stale ---------------------------------------------------------

# Fields whose loss changes nothing live (bookkeeping, or re-derived every run).
_BOOKKEEPING = {"desired_summary", "last_view", "updated_at", "gates_consumed", "analysis", "progress_marker",
                "last_progress_at", "step_started_at", "promoted_at", "scale_down_at", "timed_out_message", "aborted_message", "aborted_at",
                "promote", "abort", "retry", "halted"}
FIELDS = [f for f in RolloutState().to_dict() if f != "version" and f not in _BOOKKEEPING]


@pytest.mark.parametrize("status", MODES)
@pytest.mark.parametrize("field", FIELDS)
def test_a_missing_field_never_advances(tmp_path, status, field):
    h = paused_canary(tmp_path, status)
    counts, selectors = h.counts(), h.selectors()
    state = h.state()
    state.pop(field)
    h.set_state(state)
    h.run(30)
    h.run(40)
    assert_held(h, counts, selectors)
    assert h.state()["step_index"] <= 1


def _stale(h: Harness) -> dict:
    return {
        "stable_hash=canary": {"stable_hash": h.hash_of_revision(2)},
        "stable_hash=unknown": {"stable_hash": "zzzzzzzzz"},
        "current_hash=stable": {"current_hash": h.hash_of_revision(1)},
        "revision=9": {"revision": 9},
        "step_index=past-the-end": {"step_index": 5, "pause_started_at": None, "pause_reason": ""},
        "step_index=100%": {"step_index": 4, "pause_started_at": None, "pause_reason": ""},
        "revisions=swapped": {"revisions": {h.hash_of_revision(1): 2, h.hash_of_revision(2): 1}},
    }


STALE = ["stable_hash=canary", "stable_hash=unknown", "current_hash=stable", "revision=9", "step_index=past-the-end", "step_index=100%",
         "revisions=swapped"]


@pytest.mark.parametrize("status", MODES)
@pytest.mark.parametrize("case", STALE)
def test_a_stale_field_is_corrected_from_the_cluster(tmp_path, status, case):
    h = paused_canary(tmp_path, status)
    counts, selectors = h.counts(), h.selectors()
    state = h.state()
    state.update(_stale(h)[case])
    h.set_state(state)
    h.run(30)
    h.run(40)
    assert_held(h, counts, selectors)
    state = h.state()
    assert state["stable_hash"] == h.hash_of_revision(1) and state["step_index"] <= 1


@pytest.mark.parametrize("status", MODES)
def test_an_aborted_rollout_whose_state_is_lost_stays_aborted(tmp_path, status):
    h = paused_canary(tmp_path, status)
    h.gate("abort")
    h.run(30)
    assert h.counts() == {1: (5, 5), 2: (0, 0)}
    h.set_state(None)
    h.run(40)
    h.run(50)
    assert h.counts() == {1: (5, 5), 2: (0, 0)}
    assert h.state()["aborted"] is True
    h.gate("retry")
    h.run(60)
    assert h.counts()[2][0] == 1


@pytest.mark.parametrize("status", MODES)
def test_a_completed_rollout_whose_state_is_lost_stays_put(tmp_path, status):
    h = Harness(tmp_path, status=status)
    h.run(0)
    h.set_image("app:2")
    h.run(10)
    h.gate("promote", full=True)
    for seconds in (20, 30, 40):
        h.run(seconds)
    assert h.counts() == {1: (0, 0), 2: (5, 5)}
    h.set_state(None)
    report = h.run(50)
    assert report.exit_code == 0 and h.counts() == {1: (0, 0), 2: (5, 5)}
    state = h.state()
    assert state["stable_hash"] == state["current_hash"] == h.hash_of_revision(2) and state["revision"] == 2


@pytest.mark.parametrize("status", MODES)
def test_bluegreen_lost_state_keeps_the_active_revision(tmp_path, status):
    h = Harness(tmp_path, strategy="bluegreen", status=status, autoPromotionEnabled=False)
    h.run(0)
    h.set_image("app:2")
    h.run(10)
    h.run(20)
    assert h.state()["pause_reason"] == "BlueGreenPause"
    counts, selectors = h.counts(), h.selectors()
    h.set_state(None)
    report = h.run(30)
    h.run(40)
    assert report.exit_code == 0
    assert h.counts() == counts and h.selectors() == selectors
    state = h.state()
    assert state["stable_hash"] == h.hash_of_revision(1) and state["current_hash"] == h.hash_of_revision(2)
    assert state["pause_reason"] == "BlueGreenPause"
    assert NAME
