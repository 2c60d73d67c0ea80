"""A real Prometheus server on 127.0.0.1 with data the test controls.

    with PrometheusServer(openmetrics_text) as prom:
        prom.url   # http://127.0.0.1:<free port>

The OpenMetrics text is turned into TSDB blocks with `promtool tsdb create-blocks-from openmetrics`
(Debian's `prometheus` package), then `prometheus` is started on a free loopback port with that
data directory and an empty scrape config, and stopped (terminate, then kill) on exit. Queries must
pass an explicit `time` inside the backfilled window; the provider sends the run's `now`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
START_TIMEOUT_SECONDS = 30


def available() -> bool:
    return os.access(PROMETHEUS, os.X_OK) and os.access(PROMTOOL, os.X_OK)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusServer:
    def __init__(self, openmetrics: str):
        self.openmetrics = openmetrics if openmetrics.rstrip().endswith("# EOF") else openmetrics.rstrip() + "\n# EOF\n"
        self.process: subprocess.Popen | None = None
        self.tmp: tempfile.TemporaryDirectory | None = None
        self.url = ""

    def __enter__(self) -> PrometheusServer:
        self.tmp = tempfile.TemporaryDirectory(prefix="reconciler-prom-")
        root = Path(self.tmp.name)
        data, source = root / "data", root / "data.om"
        data.mkdir()
        source.write_text(self.openmetrics)
        subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
                       check=True, capture_output=True, timeout=60)
        config = root / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(root / "prometheus.log", "wb")
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=100y",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited early:\n{(root / 'prometheus.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError("prometheus did not become ready in time")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if getattr(self, "log", None):
            self.log.close()
        if self.tmp is not None:
            self.tmp.cleanup()
            self.tmp = None
