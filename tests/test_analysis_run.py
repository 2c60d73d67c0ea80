"""The pure AnalysisRun state machine: scheduling with explicit `now`, limits, messages, dry-run."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from reconciler.analysis import run as ar
from reconciler.analysis.measurement import Measurement
from reconciler.analysis.run import apply_measurements, start_run, terminate
from reconciler.analysis.schedule import due_measurements, next_due_at

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def prom(name="success-rate", **fields):
    metric = {"name": name, "successCondition": "result >= 0.95", "provider": {"prometheus": {"address": "http://p", "query": "q"}}}
    metric.update(fields)
    return metric


def job(name="test-analysis", **fields):
    metric = {"name": name, "provider": {"job": {"spec": {"template": {"spec": {"containers": []}}}}}}
    metric.update(fields)
    return metric


def measured(requests, phase, now, **kw):
    """What a synchronous provider would report for each request."""
    return [
        Measurement(metric=r.metric_name, phase=phase, started_at=ar.iso(now), finished_at=ar.iso(now) if phase in ar.COMPLETED else None,
                    replaces_pending=r.action != "start", **kw)
        for r in requests
    ]


def tick(run, phase, seconds, **kw):
    now = at(seconds)
    requests = due_measurements(run, now)
    return apply_measurements(run, measured(requests, phase, now, **kw), now), requests


# -- seed 002: count 3, interval 30s, failureLimit 2 -------------------------------------------------------


SEED_002 = prom(interval="30s", count=3, failureLimit=2)


def test_seed_002_three_failures_fail_the_run_with_argos_message():
    run = start_run("mock-server-7c6fcfb847-2-2", "default/mock-server", 2, [SEED_002], T0)
    assert run["status"] == "Pending"
    run, _ = tick(run, "Failed", 0)
    assert run["status"] == "Running"
    assert run["metrics"][0]["failed"] == 1  # the seed's "◌ Running ✖ 1"
    run, _ = tick(run, "Failed", 30)
    assert run["status"] == "Running"
    run, _ = tick(run, "Failed", 60)
    assert run["status"] == "Failed"
    assert run["message"] == 'Metric "success-rate" assessed Failed due to failed (3) > failureLimit (2)'
    assert run["finishedAt"] == ar.iso(at(60))


def test_seed_002_two_successes_one_failure_is_successful():
    run = start_run("mock-server-7c6fcfb847-2-2.1", "default/mock-server", 2, [SEED_002], T0)
    run, _ = tick(run, "Failed", 0)
    run, _ = tick(run, "Successful", 30)
    run, _ = tick(run, "Successful", 60)
    assert run["status"] == "Successful"
    assert run["message"] == ""
    view = ar.run_view(run)
    assert (view["metrics"][0]["successful"], view["metrics"][0]["failed"]) == (2, 1)  # "✔ 2,✖ 1"


def test_seed_001_job_failure_message():
    run = start_run("rollout-bg-test-analysis-6b7c8784cc-3", "default/rollout-bg-test-analysis", 3, [job()], T0)
    run, _ = tick(run, "Failed", 0)
    assert run["status"] == "Failed"
    assert run["message"] == 'Metric "test-analysis" assessed Failed due to failed (1) > failureLimit (0)'


def test_inconclusive_measurement_makes_the_run_inconclusive():
    run = start_run("r", "default/ro", 1, [prom()], T0)
    run, _ = tick(run, "Inconclusive", 0)
    assert run["status"] == "Inconclusive"
    assert run["message"] == 'Metric "success-rate" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)'


def test_inconclusive_limit_tolerates_some():
    run = start_run("r", "default/ro", 1, [prom(count=2, interval="10s", inconclusiveLimit=1)], T0)
    run, _ = tick(run, "Inconclusive", 0)
    assert run["status"] == "Running"
    run, _ = tick(run, "Successful", 10)
    assert run["status"] == "Successful"


def test_errors_retry_after_ten_seconds_and_error_after_the_limit():
    run = start_run("r", "default/ro", 1, [prom()], T0)
    seconds = 0
    for attempt in range(5):
        run, requests = tick(run, "Error", seconds, message="connection refused")
        assert len(requests) == 1, attempt
        assert due_measurements(run, at(seconds + 9)) == []
        seconds += 10
    assert run["status"] == "Error"
    assert run["message"] == 'Metric "success-rate" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): "Error Message: connection refused"'
    assert run["metrics"][0]["count"] == 0  # errors do not count as measurements


def test_an_error_then_success_resets_the_consecutive_errors():
    run = start_run("r", "default/ro", 1, [prom(consecutiveErrorLimit=1)], T0)
    run, _ = tick(run, "Error", 0)
    run, _ = tick(run, "Successful", 10)
    assert run["status"] == "Successful"
    assert run["metrics"][0]["consecutiveError"] == 0


# -- scheduling across invocations -------------------------------------------------------------------------


def test_nothing_is_due_before_initial_delay():
    run = start_run("r", "default/ro", 1, [prom(initialDelay="1m")], T0)
    assert due_measurements(run, at(59)) == []
    run = apply_measurements(run, [], at(59))
    assert run["status"] == "Running"
    assert next_due_at(run, at(59)) == at(60)
    assert [r.action for r in due_measurements(run, at(60))] == ["start"]


def test_nothing_before_the_interval_and_due_exactly_at_it():
    run = start_run("r", "default/ro", 1, [prom(interval="30s", count=3)], T0)
    run, _ = tick(run, "Successful", 0)
    assert due_measurements(run, at(29)) == []
    assert len(due_measurements(run, at(30))) == 1
    assert next_due_at(run, at(5)) == at(30)


def test_never_two_measurements_of_one_metric_in_one_invocation():
    # A long CronJob period: the run was last measured 10 minutes ago with a 30s interval.
    run = start_run("r", "default/ro", 1, [prom(interval="30s", count=5), prom("latency", interval="30s", count=5)], T0)
    run, _ = tick(run, "Successful", 0)
    requests = due_measurements(run, at(600))
    assert sorted(r.metric_name for r in requests) == ["latency", "success-rate"]
    run, _ = tick(run, "Successful", 600)
    assert [r["count"] for r in run["metrics"]] == [2, 2]


def test_a_long_cron_period_stretches_the_analysis_but_not_the_count():
    run = start_run("r", "default/ro", 1, [SEED_002], T0)
    for minute in range(3):
        run, requests = tick(run, "Successful", 300 * minute)
        assert len(requests) == 1
    assert run["status"] == "Successful"
    assert run["finishedAt"] == ar.iso(at(600))


def test_default_is_measure_once():
    run = start_run("r", "default/ro", 1, [prom()], T0)
    run, _ = tick(run, "Successful", 0)
    assert run["status"] == "Successful"
    assert due_measurements(run, at(1000)) == []


def test_interval_without_count_runs_until_terminated():
    run = start_run("r", "default/ro", 1, [prom(interval="1m")], T0)
    for minute in range(5):
        run, requests = tick(run, "Successful", 60 * minute)
        assert len(requests) == 1
        assert run["status"] == "Running"
    run = terminate(run, at(301))
    assert run["status"] == "Successful"
    assert run["message"] == "Run Terminated"
    assert due_measurements(run, at(400)) == []


def test_background_failure_still_fails_an_indefinite_metric():
    run = start_run("r", "default/ro", 1, [prom(interval="1m", failureLimit=1)], T0)
    run, _ = tick(run, "Failed", 0)
    assert run["status"] == "Running"
    run, _ = tick(run, "Failed", 60)
    assert run["status"] == "Failed"


# -- async measurements (Job) ---------------------------------------------------------------------------------


def test_a_running_job_is_resumed_not_restarted_and_completes_later():
    run = start_run("r", "default/ro", 1, [job()], T0)
    [request] = due_measurements(run, T0)
    assert (request.action, request.index) == ("start", 1)
    running = Measurement(metric="test-analysis", phase="Running", started_at=ar.iso(T0), metadata={"job-name": f"{run['uid']}.test-analysis.1"})
    run = apply_measurements(run, [running], T0)
    assert run["status"] == "Running"
    assert run["jobs"] == [{"name": f"{run['uid']}.test-analysis.1", "metric": "test-analysis", "status": "Running", "createdAt": ar.iso(T0)}]
    [again] = due_measurements(run, at(5))
    assert (again.action, again.index, again.pending["metadata"]["job-name"]) == ("resume", 1, f"{run['uid']}.test-analysis.1")
    done = Measurement(metric="test-analysis", phase="Successful", started_at=ar.iso(T0), finished_at=ar.iso(at(5)),
                       metadata=again.pending["metadata"], replaces_pending=True)
    run = apply_measurements(run, [done], at(5))
    assert run["status"] == "Successful"
    assert len(run["metrics"][0]["measurements"]) == 1
    assert run["jobs"][0]["status"] == "Successful"


def test_failing_metric_terminates_the_in_flight_job_of_another():
    run = start_run("r", "default/ro", 1, [job(), prom()], T0)
    running = Measurement(metric="test-analysis", phase="Running", started_at=ar.iso(T0), metadata={"job-name": "j"})
    failed = Measurement(metric="success-rate", phase="Failed", started_at=ar.iso(T0), finished_at=ar.iso(T0))
    run = apply_measurements(run, [running, failed], T0)
    assert run["status"] == "Failed"  # decided at once, as Argo does
    [request] = due_measurements(run, at(1))
    assert request.action == "terminate"
    closed = Measurement(metric="test-analysis", phase="Successful", message="Metric Terminated", finished_at=ar.iso(at(1)),
                         metadata={"job-name": "j"}, replaces_pending=True)
    run = apply_measurements(run, [closed], at(1))
    assert run["status"] == "Failed"
    assert due_measurements(run, at(2)) == []
    assert run["metrics"][0]["successful"] == 0  # closing a decided run's measurement counts nothing


def test_resume_at_in_the_future_waits():
    run = start_run("r", "default/ro", 1, [job()], T0)
    pending = Measurement(metric="test-analysis", phase="Running", started_at=ar.iso(T0), resume_at=ar.iso(at(30)))
    run = apply_measurements(run, [pending], T0)
    assert due_measurements(run, at(29)) == []
    assert due_measurements(run, at(30))[0].action == "resume"


# -- dry-run, termination, invalid specs ---------------------------------------------------------------------


def test_dry_run_metric_failure_does_not_fail_the_run():
    run = start_run("r", "default/ro", 1, [prom(), prom("latency")], T0, dry_run_metrics=["latency"])
    now = T0
    results = [
        Measurement(metric="success-rate", phase="Successful", finished_at=ar.iso(now)),
        Measurement(metric="latency", phase="Failed", finished_at=ar.iso(now)),
    ]
    run = apply_measurements(run, results, now)
    assert run["status"] == "Successful"
    latency = next(m for m in run["metrics"] if m["name"] == "latency")
    assert latency["phase"] == "Failed" and latency["dryRun"] is True
    assert latency["message"] == "Metric assessed Failed due to failed (1) > failureLimit (0)"


def test_terminate_before_any_measurement_is_successful():
    run = start_run("r", "default/ro", 1, [prom(initialDelay="5m")], T0)
    run = terminate(run, at(1))
    assert (run["status"], run["message"]) == ("Successful", "Run Terminated")


@pytest.mark.parametrize(
    "metrics, message",
    [
        ([], "at least one metric is required"),
        ([prom(), prom()], "defined more than once"),
        ([prom(count="three")], "count must be an integer"),
        ([prom(interval="soon")], "is not a duration"),
        ([{"name": "x", "provider": {}}], "exactly one provider"),
    ],
)
def test_invalid_specs_end_the_run_in_error(metrics, message):
    run = start_run("r", "default/ro", 1, metrics, T0)
    assert run["status"] == "Error"
    assert run["message"].startswith("Analysis spec invalid: ") and message in run["message"]
    assert due_measurements(run, T0) == []


def test_counts_from_args_may_be_strings():
    run = start_run("r", "default/ro", 1, [prom(count="2", interval="10", failureLimit="1")], T0)
    run, _ = tick(run, "Failed", 0)
    run, _ = tick(run, "Successful", 10)
    assert run["status"] == "Successful"


def test_history_is_trimmed_to_ten_measurements_but_counts_keep_everything():
    run = start_run("r", "default/ro", 1, [prom(interval="1s", count=15, failureLimit=20)], T0)
    for second in range(15):
        run, _ = tick(run, "Failed", second)
    result = run["metrics"][0]
    assert (len(result["measurements"]), result["count"], result["failed"]) == (10, 15, 15)
    assert run["status"] == "Successful"


def test_the_run_is_plain_json_and_pure():
    run = start_run("r", "default/ro", 1, [SEED_002], T0)
    before = json.dumps(run, sort_keys=True)
    after, _ = tick(run, "Successful", 0)
    assert json.dumps(run, sort_keys=True) == before  # inputs are never mutated
    assert json.loads(json.dumps(after)) == after


def test_run_uid_is_deterministic():
    a = start_run("r", "default/ro", 1, [prom()], T0)
    b = start_run("r", "default/ro", 1, [prom()], T0)
    assert a["uid"] == b["uid"] and len(a["uid"]) == 36
