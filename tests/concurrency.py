"""Helpers for the concurrency and crash trials: real `reconciler` processes started together
against one embedded cluster directory (tests/test_concurrent_runs.py, tests/test_crash_trials.py).

Each process imports the CLI first and then waits for a shared start instant, so the two runs
overlap as closely as two CronJob pods (or a CronJob and a person) can; what runs after the wait is
the ordinary `reconciler` entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Imports the CLI, sleeps until argv[1] (a time.time() instant), then runs `reconciler argv[2:]`.
_AT_INSTANT = (
    "import sys, time\n"
    "from reconciler.cli import main\n"
    "import reconciler.pipeline, reconciler.cluster.local, reconciler.status.annotations\n"
    "start = float(sys.argv[1])\n"
    "time.sleep(max(0.0, start - time.time()))\n"
    "sys.argv = ['reconciler'] + sys.argv[2:]\n"
    "main()\n"
)

ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
  namespace: default
spec:
  replicas: 5
  selector:
    matchLabels: {{app: web}}
  strategy:
    canary:
      steps:
      - setWeight: 20
      - setWeight: 40
      - setWeight: 60
      - setWeight: 80
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: {image}
"""


def env() -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    clean["PYTHONPATH"] = str(ROOT) + os.pathsep + clean.get("PYTHONPATH", "")
    return clean


def reconciler(*args: str, cwd: Path, check: bool = True, timeout: float = 120, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=env() | (extra_env or {}), capture_output=True,
                            text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def start_together(argvs: list[list[str]], cwd: Path, *, delay: float = 1.5) -> list[subprocess.Popen]:
    """Start one process per argv; all of them begin `reconciler ...` at the same instant."""
    instant = time.time() + delay
    return [
        subprocess.Popen([sys.executable, "-c", _AT_INSTANT, repr(instant), *argv], cwd=cwd, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for argv in argvs
    ]


def events(cluster: Path, namespace: str = "default") -> list[dict]:
    import yaml

    directory = cluster / namespace / "Event"
    return [yaml.safe_load(p.read_text()) for p in sorted(directory.glob("*.yaml"))] if directory.is_dir() else []


def applied_transitions(outputs: list[str]) -> list[str]:
    """One key per rollout step a run applied (it wrote actions and recorded the state they lead to).
    Two runs applying the same key = one step's side effects applied twice."""
    keys = []
    for text in outputs:
        try:
            report = json.loads(text)
        except ValueError:
            continue  # a run that stopped (e.g. the lease was held) prints no report
        for rollout in report.get("rollouts") or []:
            plan = rollout.get("plan")
            if rollout.get("error") or not plan or not plan.get("actions"):
                continue
            state = {k: v for k, v in (plan.get("state") or {}).items() if k not in ("updatedAt", "updated_at")}
            keys.append(json.dumps([rollout["namespace"], rollout["name"], state], sort_keys=True))
    return keys


def duplicated(items) -> list:
    return [item for item, count in Counter(items).items() if count > 1]
