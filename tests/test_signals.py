"""SIGTERM (a CronJob's deadline, a cancelled CI job) and SIGINT (Ctrl-C): a run stops cleanly,
releases its Lease and exits 143 / 130; a write in progress is finished first (issue 10, section 4).

The window: the run takes an analysis measurement from a web metric served on 127.0.0.1 that
answers only when the test lets it, so the signal arrives while the run holds the Lease."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from reconciler.cluster.local import LocalCluster
from reconciler.interrupt import Interrupted, handled, shielded
from tests.concurrency import env, reconciler

NOW = ["2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:40:00Z"]

MANIFESTS = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: slow-check
  namespace: default
spec:
  metrics:
  - name: slow
    successCondition: result == true
    provider:
      web:
        url: {url}
        timeoutSeconds: 120
        jsonPath: "{{$.ok}}"
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  strategy:
    canary:
      steps:
      - analysis:
          templates:
          - templateName: slow-check
      - setWeight: 50
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: {image}
"""


class SlowMetric:
    """A web metric that answers {"ok": true} only once `release` is set."""

    def __init__(self):
        self.received = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.received.set()
                outer.release.wait(timeout=120)
                body = json.dumps({"ok": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the run was stopped meanwhile

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/check"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def metric():
    served = SlowMetric()
    yield served
    served.close()


def _lease(cluster: Path) -> dict:
    return yaml.safe_load((cluster / "default" / "Lease" / "reconciler.yaml").read_text())


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_run_releases_the_lease_and_exits_128_plus_the_signal(metric, tmp_path, signum, code):
    source, cluster = tmp_path / "src", tmp_path / "cluster"
    source.mkdir()
    (source / "web.yaml").write_text(MANIFESTS.format(url=metric.url, image="nginx:v1"))
    argv = ["run", str(source), "--cluster", f"local:{cluster}"]
    reconciler(*argv, "--now", NOW[0], cwd=tmp_path)
    (source / "web.yaml").write_text(MANIFESTS.format(url=metric.url, image="nginx:v2"))
    for now in NOW[1:4]:  # the analysis starts, then a later run measures it (and waits on the metric)
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", *argv, "--now", now], cwd=tmp_path, env=env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None and not metric.received.wait(timeout=0.2):
            pass
        if metric.received.is_set():
            break
        assert proc.wait() == 0, proc.stderr.read()
    else:
        pytest.fail("no run asked the metric")
    assert _lease(cluster)["spec"]["holderIdentity"]  # held while the run waits
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert f"stopped by {signal.Signals(signum).name} (exit {code})" in err and "Traceback" not in err
    assert _lease(cluster)["spec"]["holderIdentity"] is None  # released: the next run need not wait it out
    assert not [p for p in cluster.rglob("*.tmp")]  # no half-written object
    metric.release.set()
    again = reconciler(*argv, "--now", now, "-o", "json", cwd=tmp_path)  # at once, same time: not refused by the lease
    assert json.loads(again.stdout)["exitCode"] == 0


def test_a_signal_inside_a_write_takes_effect_once_the_write_is_done(tmp_path):
    cluster = LocalCluster(tmp_path)
    stored = cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": {"n": "1"}})
    real_write = cluster._write

    def write_after_a_signal(path, obj):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives between the resourceVersion check and the rename
        real_write(path, obj)

    cluster._write = write_after_a_signal
    with handled():
        stored["data"]["n"] = "2"
        with pytest.raises(Interrupted) as caught:
            cluster.replace(stored)
    assert caught.value.exit_code == 143
    assert cluster.get("ConfigMap", "default", "c")["data"]["n"] == "2"  # the write finished whole
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_signal_held_during_a_write_is_raised_as_the_write_ends():
    reached = []
    with handled(), pytest.raises(Interrupted) as caught:
        with shielded():
            os.kill(os.getpid(), signal.SIGINT)
            reached.append("inside")
        reached.append("after")  # never: the held signal is raised as the write ends
    assert reached == ["inside"] and caught.value.exit_code == 130


def test_an_in_process_run_gives_the_signal_handlers_back(tmp_path):
    """`run` turns SIGTERM/SIGINT into Interrupted while it runs; a process that called it in-process
    (a test runner, a script) must get its own handlers back, or SIGTERM could no longer stop it."""
    from typer.testing import CliRunner

    from reconciler.cli import app

    def mine(signum, frame):  # pragma: no cover - never called
        pass

    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for s in previous:
            signal.signal(s, mine)
        (tmp_path / "src").mkdir()
        result = CliRunner().invoke(app, ["run", str(tmp_path / "src"), "--cluster", f"local:{tmp_path / 'cluster'}"])
        assert result.exit_code == 0, result.output
        assert {s: signal.getsignal(s) for s in previous} == {s: mine for s in previous}
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
