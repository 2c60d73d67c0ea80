"""The engine-facing calls: start a run from a Rollout's analysis block, decide, word the abort."""

from __future__ import annotations

from datetime import datetime, timezone

from reconciler.analysis.lifecycle import ABORT, CONTINUE, PAUSE, WAIT, abort_message, decision, start_analysis_run
from reconciler.analysis.measurement import Measurement
from reconciler.analysis.run import apply_measurements

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
ROLLOUT = {"metadata": {"name": "mock-server", "namespace": "default"}}
TEMPLATE = {"metadata": {"name": "success-rate"}, "spec": {"metrics": [{
    "name": "success-rate", "interval": "30s", "count": 3, "failureLimit": 2, "successCondition": "result >= 0.95",
    "provider": {"prometheus": {"address": "http://p:9090", "query": "q"}},
}]}}


def start(analysis=None, **kw):
    kw.setdefault("kind", "step")
    kw.setdefault("step_index", 2)
    return start_analysis_run(
        ROLLOUT, analysis or {"templates": [{"templateName": "success-rate"}]}, revision=2, latest_hash="7c6fcfb847",
        stable_hash="6579c6cc98", lookup=lambda kind, ns, name: TEMPLATE if name == "success-rate" else None, now=T0, **kw,
    )


def test_start_names_and_labels_the_run_like_argo():
    run = start()
    assert run["name"] == "mock-server-7c6fcfb847-2-2" and run["status"] == "Pending"
    assert run["labels"] == {"rollout-type": "Step", "rollouts-pod-template-hash": "7c6fcfb847", "step-index": "2"}
    assert decision(run) == WAIT
    assert start(kind="post", step_index=None)["name"] == "mock-server-7c6fcfb847-2-post"


def test_decisions_and_the_seed_002_abort_message():
    run = start()
    for _ in range(3):
        run = apply_measurements(run, [Measurement(metric="success-rate", phase="Failed", finished_at="2026-01-01T00:00:00Z")], T0)
    assert decision(run) == ABORT
    assert abort_message(run, 2) == (
        'RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (3) > failureLimit (2)'
    )
    ok = apply_measurements(start(), [Measurement(metric="success-rate", phase="Successful", finished_at="x")] * 1, T0)
    assert decision(ok) == WAIT  # count 3: one measurement is not enough
    assert decision({"status": "Successful"}) == CONTINUE
    assert decision({"status": "Inconclusive"}) == PAUSE
    assert decision({"status": "Error"}) == ABORT


def test_an_unresolvable_analysis_is_an_error_run_with_the_reason():
    run = start({"templates": [{"templateName": "missing"}]})
    assert (run["status"], decision(run)) == ("Error", ABORT)
    assert run["message"] == "Unable to resolve metric arguments: AnalysisTemplate 'missing' not found in namespace 'default'"
