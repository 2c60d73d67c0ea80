"""spec.restartAt on both backends (issue 18): the embedded cluster restarts a simulated pod in its
ReplicaSet, the kube backend deletes the Pod through the API (the emulator's simulated ReplicaSet
controller starts the replacement, as Kubernetes' would). One pod per run on each."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.backends import cli, get_view

ROOT = Path(__file__).resolve().parent.parent
NAME = "rollout-test-canary-nginx"


def starts(backend, now: str) -> list[str]:
    view = get_view(backend, NAME, now)
    return sorted(pod["createdAt"] for rs in view["replicaSets"] for pod in rs["pods"])


def test_restart_at_replaces_one_pod_per_run(backend, tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT / "fixtures" / "canary-nginx", source)
    assert cli(backend, "run", str(source), now="2026-01-01T00:00:00Z").returncode == 0
    assert starts(backend, "2026-01-01T00:00:00Z") == ["2026-01-01T00:00:00Z"] * 5
    manifest = source / "nginx.yaml"
    manifest.write_text(manifest.read_text().replace("\nspec:\n", '\nspec:\n  restartAt: "2026-01-01T00:05:00Z"\n', 1))
    for index in range(5):
        now = f"2026-01-01T00:0{5 + index}:00Z"
        done = cli(backend, "run", str(source), now=now)
        assert done.returncode == 0, done.stdout + done.stderr
        assert starts(backend, now).count("2026-01-01T00:00:00Z") == 4 - index, "one pod per run"
        assert now in starts(backend, now), "the replacement started at the run's time"
    last = cli(backend, "plan", str(source), now="2026-01-01T00:11:00Z")
    assert "restart at 2026-01-01T00:05:00Z complete: every pod was observed started after it" in last.stdout
