"""Issue 10 §5, secrets never leave: a token in the SOURCE URL reaches git only through its
environment, and appears in no output, log line, error, commit, Git object, cluster file, or argv
of a git process the reconciler starts.

The repository is served over authenticated smart HTTP on 127.0.0.1 (tests/git_http_server.py:
`git http-backend` behind basic auth), so the token is really used. The argv of every git the
reconciler spawns is captured by a `git` wrapper first on PATH, and git's own child processes
(remote-http, the credential helper) by GIT_TRACE.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.git_http_server import git_http_server
from tests.gitserver import git, make_bare_repo

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-01-01T00:00:00Z"


def _wrapper(bin_dir: Path, argv_log: Path) -> None:
    real = shutil.which("git")
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "git"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$0 $*" >> "{argv_log}"\nexec "{real}" "$@"\n', encoding="utf-8")
    script.chmod(0o755)


class Harness:
    def __init__(self, tmp: Path, token: str):
        self.tmp = tmp
        self.token = token
        self.argv_log = tmp / "git-argv.log"
        self.trace_log = tmp / "git-trace.log"
        self.cluster = tmp / "cluster"
        _wrapper(tmp / "bin", self.argv_log)
        self.outputs: list[str] = []

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RECONCILER_", "GIT_"))}
        env.update({
            "PYTHONPATH": str(ROOT),
            "PATH": f"{self.tmp / 'bin'}:{os.environ.get('PATH', '')}",
            "GIT_TRACE": str(self.trace_log),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "RECONCILER_LOG_LEVEL": "debug",
            "HOME": str(self.tmp),
        })
        return env

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, env=self.env(),
                              timeout=120, cwd=str(self.tmp))
        self.outputs += [proc.stdout, proc.stderr]  # (the command line itself is the test's, not the tool's)
        return proc

    def everything(self, bare: Path) -> dict[str, str]:
        """Every place the token must not be: outputs, logs, argv, cluster files, the repository's objects."""
        places = {"outputs (stdout, stderr, logs)": "\n".join(self.outputs)}
        places["argv of spawned git (wrapper)"] = self.argv_log.read_text(encoding="utf-8", errors="replace")
        places["GIT_TRACE (git's own children)"] = self.trace_log.read_text(encoding="utf-8", errors="replace")
        for path in sorted(self.cluster.rglob("*")):
            if path.is_file():
                places[f"cluster file {path.relative_to(self.cluster)}"] = path.read_text(encoding="utf-8", errors="replace")
        objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=bare, capture_output=True, timeout=60)
        places["git objects (commits, trees, blobs)"] = objects.stdout.decode("utf-8", "replace")
        places["commit messages"] = git("log", "--all", "--format=%H %an %B", cwd=bare)
        for path in sorted(bare.rglob("*")):
            if path.is_file() and "objects" not in path.parts:
                places[f"repo file {path.relative_to(bare)}"] = path.read_text(encoding="utf-8", errors="replace")
        return places


def _leaks(places: dict[str, str], needles: list[str]) -> list[str]:
    return [f"{needle!r} in {where}" for where, text in places.items() for needle in needles if needle in text]


@pytest.fixture
def served(tmp_path):
    token = "tok" + secrets.token_hex(12)
    served_dir = tmp_path / "served"
    repo = make_bare_repo(served_dir, name="manifests", fixture="canary-nginx")
    with git_http_server(served_dir, user="deploy-bot", password=token) as server:
        yield repo, server, token, f"http://deploy-bot:{token}@127.0.0.1:{server.port}/manifests.git"


def test_a_token_in_the_source_url_never_leaves(tmp_path, served):
    repo, server, token, url = served
    h = Harness(tmp_path / "work", token)
    h.tmp.mkdir(exist_ok=True)
    local = ["--cluster", f"local:{h.cluster}", "--now", NOW]

    assert h.cli("validate", url).returncode == 0, h.outputs[-1]
    for output in ("text", "markdown", "json"):
        proc = h.cli("plan", url, *local, "-o", output, "--log-format", "json")
        assert proc.returncode == 0, proc.stderr
    assert h.cli("run", url, *local, "--log-format", "json").returncode == 0, h.outputs[-1]
    # commit mode pushes a status commit through the same authenticated remote
    pushed_before = repo.head()
    proc = h.cli("run", url, *local, "--status", "commit", "--log-format", "text")
    assert proc.returncode == 0, proc.stderr
    assert repo.head() != pushed_before, "the status commit was pushed"
    assert "reconciler run of http://127.0.0.1" in git("log", "-1", "--format=%B", cwd=repo.path)
    git("pull", "-q", "--ff-only", "origin", "main", cwd=repo.work)  # take the status commit first
    repo.commit({"nginx.yaml": (repo.work / "nginx.yaml").read_text().replace("nginx:1.14.1", "nginx:1.14.2")}, "new image")
    assert h.cli("run", url, *local, "--status", "commit", "--log-format", "json").returncode == 0, h.outputs[-1]
    assert h.cli("get", "rollout", "rollout-test-canary-nginx", *local, "--status", "commit", "--source", url).returncode == 0
    assert h.cli("abort", "rollout-test-canary-nginx", "--cluster", f"local:{h.cluster}", "--status", "commit", "--source", url).returncode == 0
    # errors that name the source: a missing ref, a missing folder, a wrong token
    assert h.cli("plan", url, *local, "--ref", "no-such-branch").returncode == 2
    assert h.cli("plan", url, *local, "--path", "no-such-folder").returncode == 2
    wrong = "wrong" + secrets.token_hex(8)
    proc = h.cli("plan", url.replace(token, wrong), *local)
    assert proc.returncode == 2 and "authentication failed" in proc.stderr

    assert any(auth for _, _, auth in server.requests), "the token was used to authenticate"
    assert any(method == "POST" and path.endswith("git-receive-pack") and auth for method, path, auth in server.requests), "a push happened"
    places = h.everything(repo.path)
    basic = base64.b64encode(f"deploy-bot:{token}".encode()).decode()
    leaks = _leaks(places, [token, wrong, basic])
    context = [line for line in places["outputs (stdout, stderr, logs)"].splitlines() if token in line or wrong in line][:5]
    assert leaks == [], (leaks, context)
    assert "127.0.0.1" in places["argv of spawned git (wrapper)"]  # the wrapper did see the clones


def test_a_token_from_the_environment_stays_out_of_argv_and_outputs(tmp_path, served):
    repo, server, token, url = served
    h = Harness(tmp_path / "work", token)
    h.tmp.mkdir(exist_ok=True)
    clean = url.replace(f"deploy-bot:{token}@", "")
    env_token = {"RECONCILER_GIT_TOKEN": token, "RECONCILER_GIT_USERNAME": "deploy-bot"}
    original = h.env
    h.env = lambda: {**original(), **env_token}
    proc = h.cli("run", clean, "--cluster", f"local:{h.cluster}", "--now", NOW, "--status", "commit")
    assert proc.returncode == 0, proc.stderr
    places = h.everything(repo.path)
    assert _leaks(places, [token]) == []


# -- provider credentials ----------------------------------------------------------------------------

def test_a_secret_a_web_metric_sends_never_reaches_the_recorded_measurement(tmp_path):
    """A header value from a Secret that the server echoes back (in the value, the error message,
    a redirect URL) is redacted before the measurement is recorded."""
    import http.server
    import threading
    from datetime import datetime, timezone

    from reconciler.analysis.measure import take_measurements
    from reconciler.analysis.measurement import MeasurementRequest
    from reconciler.cluster.local import LocalCluster

    secret = "sk-" + secrets.token_hex(10)

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"auth": self.headers.get("Authorization"), "url": f"http://u:{secret}@elsewhere/x"}).encode()
            self.send_response(200 if self.path == "/ok" else 500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cluster = LocalCluster(tmp_path / "cluster", now=now)
    cluster.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api", "namespace": "default"},
                    "data": {"token": base64.b64encode(secret.encode()).decode()}})
    try:
        requests_ = []
        for path, condition in (("/ok", "result.auth == 'nope'"), ("/fail", "true")):
            metric = {"name": "m", "successCondition": condition, "provider": {"web": {
                "url": f"http://127.0.0.1:{httpd.server_port}{path}", "jsonPath": "$",
                "headers": [{"key": "Authorization", "value": "Bearer {{args.token}}"}]}}}
            requests_.append(MeasurementRequest(run="r", namespace="default", run_uid="u", rollout="ro", index=1, action="start",
                                                metric=metric, secret_args={"token": {"name": "api", "key": "token"}}))
        taken = take_measurements(requests_, cluster=cluster, now=now)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert [m.phase for m in taken] == ["Failed", "Error"]
    recorded = json.dumps([m.as_record() for m in taken])
    assert secret not in recorded
