"""A canary with an analysis step measured by a REAL Prometheus (Debian's package, on 127.0.0.1):
good data passes the step, bad data aborts the update in the seed's words, data that is neither
pauses it for a person. Measurements follow `interval` across invocations driven with --now: none
before it is due, never two in one invocation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from tests import prometheus_server
from tests.backends import LocalBackend, cli, get_view

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not prometheus_server.available(), reason="Debian's prometheus/promtool not installed")]

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NAME = "checkout"
VALUES = {"good": "0.99", "bad": "0.5", "unsure": "0.8"}


@pytest.fixture(scope="module")
def prom():
    start = int(T0.timestamp())
    lines = ["# TYPE success_rate gauge"]
    for offset in range(0, 3601, 15):
        for service, value in VALUES.items():
            lines.append(f'success_rate{{service="{service}"}} {value} {start + offset}')
    with prometheus_server.PrometheusServer("\n".join(lines + ["# EOF", ""])) as server:
        yield server


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_repo(path, prom_url: str, service: str, image: str = "shop/checkout:1") -> None:
    path.mkdir(parents=True, exist_ok=True)
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": NAME, "namespace": "default"},
        "spec": {
            "replicas": 5,
            "selector": {"matchLabels": {"app": NAME}},
            "template": {"metadata": {"labels": {"app": NAME}}, "spec": {"containers": [{"name": "app", "image": image}]}},
            "strategy": {"canary": {"steps": [
                {"setWeight": 20},
                {"analysis": {"templates": [{"templateName": "success-rate"}], "args": [{"name": "service", "value": service}]}},
                {"setWeight": 60},
                {"pause": {}},
            ]}},
        },
    }
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "success-rate", "namespace": "default"},
        "spec": {
            "args": [{"name": "service"}],
            "metrics": [{
                "name": "success-rate",
                "interval": "30s",
                "count": 2,
                "successCondition": "result >= 0.95",
                "failureCondition": "result < 0.6",
                "provider": {"prometheus": {"address": prom_url, "query": 'scalar(success_rate{service="{{args.service}}"})'}},
            }],
        },
    }
    (path / "rollout.yaml").write_text(yaml.safe_dump(rollout, sort_keys=False))
    (path / "analysis.yaml").write_text(yaml.safe_dump(template, sort_keys=False))


def start_canary(tmp_path, prom, service):
    """Revision 1 stable, then revision 2 at the analysis step (entered at 11 s)."""
    backend = LocalBackend(tmp_path / "cluster")
    repo = tmp_path / "repo"
    write_repo(repo, prom.url, service)
    assert cli(backend, "run", str(repo), now=at(0)).returncode == 0
    write_repo(repo, prom.url, service, image="shop/checkout:2")
    cli(backend, "run", str(repo), now=at(10))  # step 0: setWeight 20
    cli(backend, "run", str(repo), now=at(11))  # step 0 observed complete: enter the analysis step
    view = get_view(backend, NAME, at(11))
    assert (view["step"], view["status"]) == (1, "Progressing")
    [run] = view["analysisRuns"]
    assert run["status"] == "Running" and run["labels"]["step-index"] == "1"
    return backend, repo


def metric(view):
    return view["analysisRuns"][-1]["metrics"][0] if view["analysisRuns"][-1]["metrics"] else {}


def test_good_data_passes_the_step_one_measurement_per_due_interval(prom, tmp_path):
    backend, repo = start_canary(tmp_path, prom, "good")
    cli(backend, "run", str(repo), now=at(12))
    view = get_view(backend, NAME, at(12))
    assert (metric(view)["successful"], metric(view)["count"], view["step"]) == (1, 1, 1)

    for seconds in (20, 30, 41):  # not due before 12 s + 30 s: no second measurement
        cli(backend, "run", str(repo), now=at(seconds))
        assert metric(get_view(backend, NAME, at(seconds)))["count"] == 1

    cli(backend, "run", str(repo), now=at(42))  # due: the second measurement, the run is Successful
    view = get_view(backend, NAME, at(42))
    assert view["analysisRuns"][0]["status"] == "Successful"
    assert (metric(view)["successful"], metric(view)["count"]) == (2, 2)
    assert (view["step"], view["setWeight"]) == (2, 60)

    cli(backend, "run", str(repo), now=at(43))  # nothing more is measured for a finished run
    assert metric(get_view(backend, NAME, at(43)))["count"] == 2


def test_bad_data_aborts_in_the_seeds_words(prom, tmp_path):
    backend, repo = start_canary(tmp_path, prom, "bad")
    failing = cli(backend, "run", str(repo), now=at(12))
    assert failing.returncode == 1
    view = get_view(backend, NAME, at(12))
    assert view["status"] == "Degraded"
    assert view["message"] == (
        'RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)'
    )
    assert (view["step"], view["setWeight"]) == (0, 0)
    canary = next(rs for rs in view["replicaSets"] if rs["revision"] == 2)
    assert canary["replicas"] == 0  # traffic and pods back on the stable revision
    assert view["analysisRuns"][0]["status"] == "Failed"


def test_inconclusive_data_pauses_until_promoted(prom, tmp_path):
    backend, repo = start_canary(tmp_path, prom, "unsure")
    cli(backend, "run", str(repo), now=at(12))
    view = get_view(backend, NAME, at(12))
    assert (view["status"], view["message"], view["step"]) == ("Paused", "InconclusiveAnalysisRun", 1)
    assert view["analysisRuns"][0]["status"] == "Inconclusive"

    cli(backend, "run", str(repo), now=at(100))  # nobody decided: still paused, nothing measured
    view = get_view(backend, NAME, at(100))
    assert (view["status"], view["step"], metric(view)["count"]) == ("Paused", 1, 1)

    assert cli(backend, "promote", NAME).returncode == 0
    cli(backend, "run", str(repo), now=at(110))
    view = get_view(backend, NAME, at(110))
    assert (view["step"], view["setWeight"], view["status"]) == (2, 60, "Progressing")


def test_plan_measures_without_writing(prom, tmp_path):
    backend, repo = start_canary(tmp_path, prom, "bad")
    planned = cli(backend, "plan", str(repo), "-o", "json", now=at(12))
    report = json.loads(planned.stdout)
    [rollout] = report["rollouts"]
    assert rollout["plan"]["status"] == "Degraded"  # what the run would do
    assert get_view(backend, NAME, at(12))["status"] == "Progressing"  # and nothing was recorded
