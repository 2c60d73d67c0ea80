"""The seam the engine uses: observe (measure_runs) -> plain records -> plan (apply_all), across
invocations with explicit `now`, with the run state round-tripping through YAML between runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import yaml

from reconciler.analysis.measure import measure_runs
from reconciler.analysis.measurement import Measurement
from reconciler.analysis.run import apply_all, run_view, start_run

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class CountingProvider:
    """A synchronous provider whose answers are scripted; counts the calls (one per due measurement)."""

    key = "web"

    def __init__(self, phases):
        self.phases = list(phases)
        self.calls = []

    def run(self, metric, ctx):
        self.calls.append(ctx.now)
        phase = self.phases.pop(0)
        stamp = ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return Measurement(metric=metric["name"], phase=phase, started_at=stamp, finished_at=stamp, value="1")

    def resume(self, metric, measurement, ctx):
        raise AssertionError("synchronous provider never resumed")

    terminate = resume


def test_invocations_measure_only_what_is_due_and_state_survives_yaml():
    metric = {"name": "m", "interval": "30s", "count": 3, "failureLimit": 2, "provider": {"web": {"url": "http://x"}}}
    provider = CountingProvider(["Failed", "Successful", "Successful"])
    state = {"ro-abc-2-2": start_run("ro-abc-2-2", "default/ro", 2, [metric], T0)}
    # ticks of a CronJob: some land before the next measurement is due, some long after
    for seconds in (0, 10, 29, 30, 31, 45, 200, 201):
        now = T0 + timedelta(seconds=seconds)
        records = measure_runs(state, now=now, providers={"web": provider})
        assert all(len([r for r in recs if r["metric"] == "m"]) <= 1 for recs in records.values())
        records = yaml.safe_load(yaml.safe_dump(records))  # the hand-over is plain data
        state = apply_all(state, records, now)
        state = yaml.safe_load(yaml.safe_dump(state))  # stored between invocations
    assert [int((c - T0).total_seconds()) for c in provider.calls] == [0, 30, 200]
    view = run_view(state["ro-abc-2-2"])
    assert view["status"] == "Successful"
    assert (view["metrics"][0]["successful"], view["metrics"][0]["failed"]) == (2, 1)


def test_unknown_provider_and_missing_secret_are_error_measurements_not_crashes():
    metrics = [
        {"name": "dd", "provider": {"datadog": {"query": "x"}}},
        {"name": "web", "provider": {"web": {"url": "http://x/{{args.token}}"}}},
    ]
    state = {"r": start_run("r", "default/ro", 1, metrics, T0, secret_args={"token": {"name": "missing", "key": "k"}})}
    records = measure_runs(state, now=T0, providers={"web": CountingProvider([])}, cluster=None)
    messages = {r["metric"]: r["message"] for r in records["r"]}
    assert messages["dd"].startswith("provider 'datadog' is not supported")
    assert "no cluster is available" in messages["web"]
    assert all(r["phase"] == "Error" for r in records["r"])
