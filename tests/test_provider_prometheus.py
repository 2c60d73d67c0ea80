"""The Prometheus provider against a REAL Prometheus server on 127.0.0.1, with backfilled data.

Data (OpenMetrics, backfilled with promtool): istio_requests_total for "mock-server-canary" whose
success ratio is 0.5 in [T0, T0+10m] (bad), 0.99 in [T0+20m, T0+30m] (good) and 0.8 in
[T0+40m, T0+50m] (neither good nor bad), nothing after. So seed 002's exact query gives different
answers depending on the run's `now`, as the seed's first (failed) and second (passed) runs did.
"""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
from datetime import datetime, timedelta, timezone

import pytest

from reconciler.analysis.measure import take_measurements
from reconciler.analysis.providers.base import ProviderContext
from reconciler.analysis.providers.prometheus import PrometheusProvider
from reconciler.analysis.run import apply_measurements, start_run
from reconciler.analysis.schedule import due_measurements
from reconciler.analysis.templates import resolve_analysis
from tests import prometheus_server

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not prometheus_server.available(), reason="Debian's prometheus/promtool not installed")]

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
STEP = 15  # seconds between samples

SEED_002_QUERY = """scalar(
  sum(rate(istio_requests_total{destination_service_name="mock-server-canary",response_code=~"2.."}[1m]))
  /
  sum(rate(istio_requests_total{destination_service_name="mock-server-canary"}[1m]))
)
"""


def _openmetrics() -> str:
    start = int(T0.timestamp())
    windows = [(0, 600, 50, 50), (1200, 1800, 99, 1), (2400, 3000, 80, 20)]  # (from, to, ok per step, errors per step)
    ok_total, err_total = 0, 0
    ok_lines, err_lines = [], []
    for begin, end, ok, err in windows:
        for offset in range(begin, end + 1, STEP):
            ok_total += ok
            err_total += err
            ok_lines.append(f'istio_requests_total{{destination_service_name="mock-server-canary",response_code="200"}} {ok_total} {start + offset}')
            err_lines.append(f'istio_requests_total{{destination_service_name="mock-server-canary",response_code="500"}} {err_total} {start + offset}')
    gauges = []
    for service, value in (("good", "0.99"), ("bad", "0.5"), ("nan", "NaN")):
        for offset in range(0, 3001, 60):
            gauges.append(f'success_rate{{service="{service}"}} {value} {start + offset}')
    return "\n".join(
        ["# TYPE istio_requests counter", *ok_lines, *err_lines, "# TYPE success_rate gauge", *gauges, "# EOF", ""]
    )


@pytest.fixture(scope="module")
def prom():
    with prometheus_server.PrometheusServer(_openmetrics()) as server:
        yield server


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def metric(prom, query, **fields):
    out = {"name": "success-rate", "provider": {"prometheus": {"address": prom.url, "query": query}}}
    out.update(fields)
    return out


def measure(prom_metric, minutes):
    ctx = ProviderContext(run="r", namespace="default", run_uid="u", rollout="ro", index=1, now=at(minutes))
    return PrometheusProvider().run(prom_metric, ctx)


# -- seed 002's template ------------------------------------------------------------------------------------


def seed_002_template(prom, **extra) -> dict:
    spec_metric = {
        "name": "success-rate", "interval": "30s", "count": 3, "successCondition": "result >= 0.95", "failureLimit": 2,
        "provider": {"prometheus": {"address": "{{args.prometheus}}", "query": SEED_002_QUERY}},
    }
    spec_metric.update(extra)
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
        "metadata": {"name": "success-rate", "namespace": "default"},
        "spec": {"args": [{"name": "prometheus", "value": prom.url}], "metrics": [spec_metric]},
    }


def analyse(template: dict, start_minutes: float, ticks: int, every_seconds: float = 30) -> dict:
    """Run the analysis as successive invocations would: due -> measure (real server) -> apply."""
    rollout = {"metadata": {"name": "mock-server", "namespace": "default"}}
    resolved = resolve_analysis(
        {"templates": [{"templateName": "success-rate"}]}, rollout=rollout,
        lookup=lambda kind, ns, name: template if name == "success-rate" else None, stable_hash="6579c6cc98", latest_hash="7c6fcfb847",
    )
    now = at(start_minutes)
    run = start_run("mock-server-7c6fcfb847-2-2", "default/mock-server", 2, resolved.metrics, now)
    for _ in range(ticks):
        requests = due_measurements(run, now)
        assert len(requests) <= 1
        run = apply_measurements(run, take_measurements(requests, now=now), now)
        now += timedelta(seconds=every_seconds)
    return run


def test_seed_002_passes_with_good_data(prom):
    run = analyse(seed_002_template(prom), 21, ticks=3)
    assert run["status"] == "Successful"
    result = run["metrics"][0]
    assert (result["successful"], result["failed"]) == (3, 0)
    assert result["measurements"][0]["value"].startswith("0.99")


def test_seed_002_fails_with_bad_data_in_the_seeds_words(prom):
    run = analyse(seed_002_template(prom), 1, ticks=3)
    assert run["status"] == "Failed"
    assert run["message"] == 'Metric "success-rate" assessed Failed due to failed (3) > failureLimit (2)'
    assert run["metrics"][0]["measurements"][0]["value"] == "0.5"


def test_seed_002_is_still_running_after_one_bad_measurement(prom):
    run = analyse(seed_002_template(prom), 1, ticks=1)
    assert run["status"] == "Running"
    assert run["metrics"][0]["failed"] == 1  # the seed's "◌ Running  ✖ 1"


def test_seed_002_is_inconclusive_when_neither_condition_holds(prom):
    run = analyse(seed_002_template(prom, failureCondition="result < 0.5"), 41, ticks=1)
    assert run["status"] == "Inconclusive"
    assert run["message"] == 'Metric "success-rate" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)'


def test_no_data_gives_a_nan_scalar(prom):
    measurement = measure(metric(prom, SEED_002_QUERY, successCondition="result >= 0.95"), 70)
    assert (measurement.phase, measurement.value) == ("Failed", "NaN")
    measurement = measure(metric(prom, SEED_002_QUERY, successCondition="isNaN(result)"), 70)
    assert measurement.phase == "Successful"


# -- result types ---------------------------------------------------------------------------------------------


def test_vector_result_is_a_list(prom):
    query = 'success_rate{service=~"good|bad"}'
    measurement = measure(metric(prom, query, successCondition="all(result, {# >= 0.5}) && len(result) == 2"), 5)
    assert measurement.phase == "Successful"
    assert sorted(measurement.value.strip("[]").split(",")) == ["0.5", "0.99"]
    assert measure(metric(prom, query, successCondition="all(result, {# >= 0.95})"), 5).phase == "Failed"


def test_vector_nan_sample(prom):
    measurement = measure(metric(prom, 'success_rate{service="nan"}', successCondition="isNaN(result[0])"), 5)
    assert (measurement.phase, measurement.value) == ("Successful", "[NaN]")


def test_empty_vector(prom):
    query = 'success_rate{service="none"}'
    errored = measure(metric(prom, query, successCondition="result[0] >= 0.95"), 5)
    assert errored.phase == "Error" and "index out of range" in errored.message
    assert errored.value == "[]"  # what was measured is kept next to the error
    accepted = measure(metric(prom, query, successCondition="len(result) == 0 || result[0] >= 0.95"), 5)
    assert (accepted.phase, accepted.value) == ("Successful", "[]")


def test_no_conditions_is_successful(prom):
    assert measure(metric(prom, "vector(1)"), 5).phase == "Successful"


def test_matrix_is_not_supported(prom):
    measurement = measure(metric(prom, "success_rate[5m]"), 5)
    assert (measurement.phase, measurement.message) == ("Error", "Prometheus metric type not supported")


def test_bad_query_is_an_error_with_prometheus_words(prom):
    measurement = measure(metric(prom, "sum(", successCondition="result > 0"), 5)
    assert measurement.phase == "Error"
    assert measurement.message.startswith("prometheus error (bad_data)")


# -- failures of the server and auth -------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_an_error_and_hides_credentials():
    port = _closed_port()
    m = {"name": "m", "provider": {"prometheus": {"address": f"http://user:hunter2@127.0.0.1:{port}", "query": "up"}}}
    measurement = measure(m, 0)
    assert measurement.phase == "Error"
    assert "hunter2" not in measurement.message and "prometheus query failed" in measurement.message


def test_timeout_is_an_error():
    with socket.socket() as sock:  # accepts connections (backlog) but never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        m = {"name": "m", "provider": {"prometheus": {"address": f"http://127.0.0.1:{port}", "query": "up", "timeout": 0.3}}}
        measurement = measure(m, 0)
    assert measurement.phase == "Error" and "Timeout" in measurement.message


class _Capture(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        _Capture.seen.append((self.path, dict(self.headers)))
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, "0.97"]}]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_auth_header_from_a_secret_arg_is_sent_and_never_stored(tmp_path):
    from reconciler.cluster.local import LocalCluster

    cluster = LocalCluster(tmp_path, now=T0)
    cluster.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "prom-token", "namespace": "default"},
                    "data": {"token": base64.b64encode(b"s3cr3t-token").decode()}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        template = {
            "metadata": {"name": "t", "namespace": "default"},
            "spec": {
                "args": [{"name": "token", "valueFrom": {"secretKeyRef": {"name": "prom-token", "key": "token"}}}],
                "metrics": [{
                    "name": "rate", "successCondition": "result[0] > 0.9",
                    "provider": {"prometheus": {"address": f"http://127.0.0.1:{server.server_port}", "query": "up",
                                                "headers": [{"key": "Authorization", "value": "Bearer {{args.token}}"}]}},
                }],
            },
        }
        resolved = resolve_analysis({"templates": [{"templateName": "t"}]}, rollout={"metadata": {"name": "ro"}},
                                    lookup=lambda *a: template, stable_hash="a", latest_hash="b")
        run = start_run("ro-b-1", "default/ro", 1, resolved.metrics, T0, secret_args=resolved.secret_args)
        assert "s3cr3t" not in json.dumps(run)
        run = apply_measurements(run, take_measurements(due_measurements(run, T0), cluster=cluster, now=T0), T0)
        assert run["status"] == "Successful"
        path, headers = _Capture.seen[-1]
        assert headers["Authorization"] == "Bearer s3cr3t-token"
        assert f"time={T0.timestamp():.3f}" in path
        assert "s3cr3t" not in json.dumps(run)
    finally:
        server.shutdown()
        server.server_close()
