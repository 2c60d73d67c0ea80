"""The per-rollout log line says what its fields say: the status read back, "applied" only for writes (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "canary-nginx"


def _rollout_lines(tmp_path: Path, *args: str) -> list[dict]:
    env = dict(os.environ, NO_COLOR="1", HOME=str(tmp_path))
    env.pop("RECONCILER_LOG_LEVEL", None)
    done = subprocess.run([sys.executable, "-m", "reconciler", *args, str(FIXTURE), "--cluster", f"local:{tmp_path / 'cluster'}",
                           "--log-format", "json"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return [e for e in entries if e.get("rollout") == "rollout-test-canary-nginx"]


def test_a_run_logs_the_read_back_status_and_what_it_applied(tmp_path):
    [entry] = _rollout_lines(tmp_path, "run")
    assert entry["msg"].startswith(entry["status"]), entry
    assert entry["action"] == "apply" and "applied " in entry["msg"] and "would" not in entry["msg"]
    [again] = _rollout_lines(tmp_path, "run")  # nothing left to do: nothing claimed
    assert again["action"] == "none" and "nothing to apply" in again["msg"] and "applied " not in again["msg"]


def test_a_dry_run_never_says_applied(tmp_path):
    [entry] = _rollout_lines(tmp_path, "plan")
    assert entry["action"] == "plan" and entry["msg"].startswith(entry["status"])
    assert "applied " not in entry["msg"] and "would apply" in entry["msg"]
