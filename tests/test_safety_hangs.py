"""Issue 10 §6, nothing hangs: `matches` is linear-time (RE2), provider calls are bounded in time and
size, and `run --timeout` bounds a whole run, stopping only between writes."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.analysis.expr import ExprError, check_expression, evaluate_condition
from reconciler.analysis.providers.base import ProviderContext
from reconciler.analysis.providers.http import MAX_RESPONSE_BYTES
from reconciler.analysis.providers.web import WebProvider
from reconciler.cluster.local import LocalCluster
from reconciler.runner import run_once
from reconciler.status.annotations import AnnotationsStatusStore

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


# -- matches: RE2 ------------------------------------------------------------------------------

def test_catastrophic_pattern_on_35_chars_returns_instead_of_hanging():
    # Python's backtracking `re` needs ~2^35 steps here (over a minute); RE2 is linear. Run in a
    # child so the old engine fails this test by its guard instead of hanging the suite.
    code = ("from reconciler.analysis.expr import evaluate_condition as e;"
            "print(e(\"result matches '^(a+)+$'\", 'a' * 35 + 'b'), e(\"result matches '^(a+)+$'\", 'a' * 35))")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90, cwd=str(ROOT),
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        pytest.fail("`matches` backtracked for over 90 s on a 36-character input")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("pattern", [r"(a)\1", r"a(?=b)", r"(?<!x)a"])
def test_patterns_re2_cannot_run_are_found_by_validate_and_are_an_error_when_measured(pattern):
    condition = "result matches '" + pattern.replace("\\", "\\\\") + "'"  # a backslash is escaped in expr strings
    problem = check_expression(condition)
    assert problem and "RE2" in problem
    with pytest.raises(ExprError):
        evaluate_condition(condition, "ab")


def test_ordinary_patterns_keep_working():
    assert evaluate_condition(r"result matches '^v\\d+\\.\\d+$'", "v1.25") is True
    assert evaluate_condition("result matches 'é+'", "caféé") is True
    assert check_expression("result matches '^ok$' || result == 'fine'") is None


# -- provider calls: bounded time and size ---------------------------------------------------------

class _Hostile(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stop = threading.Event()

    def do_GET(self):
        try:
            if self.path == "/trickle":  # valid headers, then one byte of body now and then, for a long time
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(100000):
                    if _Hostile.stop.is_set():
                        return
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif self.path == "/huge":  # a valid JSON document of 4 MiB, sent without a Content-Length
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                parts = [b'{"ok": true, "pad": "', b"x" * (4 * MAX_RESPONSE_BYTES), b'"}']
                for part in parts:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            elif self.path == "/declared-huge":
                self.send_response(200)
                self.send_header("Content-Length", str(50 * MAX_RESPONSE_BYTES))
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def hostile_server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        _Hostile.stop.set()
        httpd.shutdown()
        httpd.server_close()


def _measure(**web):
    metric = {"name": "web", "successCondition": "result == true", "provider": {"web": web}}
    return WebProvider().run(metric, ProviderContext(run="r", namespace="default", run_uid="u", rollout="ro", index=1, now=T0))


def test_a_server_that_trickles_its_body_is_an_error_measurement(hostile_server):
    # each read gets a byte well within the 1 s socket timeout: only a bound on the whole call stops it
    m = _measure(url=f"{hostile_server}/trickle", timeoutSeconds=1, jsonPath="$.ok")
    # the whole-call bound ("Timeout: no complete answer"), or, on a loaded machine where a byte came
    # late, requests' own read timeout ("Read timed out"): either way an Error, not a hung run
    assert m.phase == "Error" and ("Timeout" in m.message or "timed out" in m.message), m.message


def test_a_body_over_the_size_cap_is_an_error_measurement(hostile_server):
    m = _measure(url=f"{hostile_server}/huge", timeoutSeconds=30, jsonPath="$.ok")
    assert m.phase == "Error" and "larger than" in m.message


def test_a_declared_size_over_the_cap_is_refused_before_reading(hostile_server):
    m = _measure(url=f"{hostile_server}/declared-huge", timeoutSeconds=30, jsonPath="$.ok")
    assert m.phase == "Error" and "larger than" in m.message


# -- run --timeout ---------------------------------------------------------------------------------

_ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  replicas: 4
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: c, image: "nginx:{tag}"}}]}}
  strategy:
    canary:
      steps: [{{setWeight: 25}}, {{setWeight: 50}}]
"""
NAMES = ("a", "b", "c")


def _write(repo: Path, tag: str) -> None:
    for name in NAMES:
        (repo / f"{name}.yaml").write_text(_ROLLOUT.format(name=name, tag=tag), encoding="utf-8")


def _replicasets(cluster, name: str) -> list:
    return sorted((rs["metadata"]["name"], rs["spec"]["replicas"]) for rs in cluster.list("ReplicaSet", "default")
                  if rs["metadata"]["name"].startswith(name + "-"))


class _ExpiresAfter:
    """A Deadline that expires at its n-th check: places every stopping point without a clock."""

    seconds = 0.0

    def __init__(self, checks: int):
        self.left = checks

    def expired(self) -> bool:
        self.left -= 1
        return self.left < 0

    def remaining(self) -> float:
        return 0.0

    def describe(self) -> str:
        return "--timeout (test)"


def _cluster_at_v2(tmp: Path):
    repo = tmp / "repo"
    repo.mkdir(parents=True)
    _write(repo, "1")
    cluster = LocalCluster(tmp / "cluster", now=T0)
    run_once(repo, cluster, AnnotationsStatusStore(cluster), T0, dry_run=False)
    _write(repo, "2")
    return repo, cluster


@pytest.mark.parametrize("checks", range(0, 5))
def test_a_run_stopped_at_any_check_leaves_each_rollout_before_or_at_its_step_and_the_next_run_repairs(tmp_path, checks):
    # Reference: the same runs without a timeout.
    repo, cluster = _cluster_at_v2(tmp_path / "reference")
    before = {n: _replicasets(cluster, n) for n in NAMES}
    run_once(repo, cluster, AnnotationsStatusStore(cluster), T0, dry_run=False)
    one = {n: _replicasets(cluster, n) for n in NAMES}
    run_once(repo, cluster, AnnotationsStatusStore(cluster), T0, dry_run=False)
    two = {n: _replicasets(cluster, n) for n in NAMES}

    repo, cluster = _cluster_at_v2(tmp_path / "stopped")
    report = run_once(repo, cluster, AnnotationsStatusStore(cluster), T0, dry_run=False, deadline=_ExpiresAfter(checks))
    stopped = {n: _replicasets(cluster, n) for n in NAMES}
    if checks < len(NAMES) + 1:  # one check before recording, one before each rollout's actions
        assert report.exit_code == 2 and report.timed_out
        assert any("--timeout" in r.error for r in report.results)
    for name in NAMES:  # never torn: a rollout is where it was, or where a whole run puts it
        assert stopped[name] in (before[name], one[name])
    run_once(repo, cluster, AnnotationsStatusStore(cluster), T0, dry_run=False)
    for name in NAMES:  # the next run applies what was recorded, and never skips a step
        assert _replicasets(cluster, name) in (one[name], two[name])
        if stopped[name] == before[name]:
            assert _replicasets(cluster, name) == one[name]


def _cli(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update(env_extra or {})
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, env=env, timeout=120, cwd=str(ROOT))


def test_run_timeout_through_the_cli_and_the_environment(tmp_path):
    repo, _ = _cluster_at_v2(tmp_path)
    cluster_flag = ["--cluster", f"local:{tmp_path / 'cluster'}", "--now", "2026-01-01T00:00:00Z"]
    before = sorted(p.name for p in (tmp_path / "cluster" / "default" / "ReplicaSet").iterdir())
    proc = _cli("run", str(repo), *cluster_flag, "--timeout", "0")
    assert proc.returncode == 2, proc.stderr
    assert "run stopped" in proc.stderr and "--timeout" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in (tmp_path / "cluster" / "default" / "ReplicaSet").iterdir()) == before
    proc = _cli("run", str(repo), *cluster_flag, "-o", "json", env_extra={"RECONCILER_TIMEOUT": "0s"})
    assert proc.returncode == 2 and json.loads(proc.stdout)["timedOut"]
    proc = _cli("run", str(repo), *cluster_flag, "--timeout", "10m")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "cluster" / "default" / "ReplicaSet").iterdir()) != before
    proc = _cli("run", str(repo), *cluster_flag, "--timeout", "soon")
    assert proc.returncode == 2 and "--timeout 'soon'" in proc.stderr
