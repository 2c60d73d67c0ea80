"""The `backend` fixture: scenario tests run against each cluster backend through the CLI.

Params: "local" (the embedded cluster). The kube engineer adds "kube" (the API emulator).
The object yielded has `.cli_args`, `.env`, `.kubelet_config(dict)` and `.cluster()`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


class LocalBackend:
    name = "local"

    def __init__(self, directory: Path):
        self.dir = directory
        self.cli_args = ["--cluster", f"local:{directory}"]
        self.env: dict[str, str] = {}

    def kubelet_config(self, config: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "kubelet.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")

    def cluster(self, now=None):
        from reconciler.cluster.local import LocalCluster

        return LocalCluster(self.dir, now=now)


BACKENDS = ["local", "kube"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    if request.param == "local":
        yield LocalBackend(tmp_path / "cluster")
    elif request.param == "kube":  # the API emulator on 127.0.0.1 (tests/kube_emulator/backend.py)
        from tests.kube_emulator.backend import kube_backend

        with kube_backend(tmp_path) as kube:
            yield kube
    else:  # pragma: no cover - registered by other backends
        pytest.skip(f"backend {request.param} not available")


def cli(backend, *args, now: str | None = None, check: bool | None = True) -> subprocess.CompletedProcess:
    """Run `python -m reconciler ARGS` with the backend's flags; returns the completed process."""
    command = [sys.executable, "-m", "reconciler", *args]
    if now and hasattr(backend, "set_now"):
        backend.set_now(now)  # a backend whose simulated controllers keep their own clock
    if args and args[0] in ("run", "plan", "get", "list", "promote", "abort", "retry"):
        command += backend.cli_args
        if now and args[0] in ("run", "plan", "get", "list"):
            command += ["--now", now]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update(backend.env)
    env["PYTHONPATH"] = str(ROOT)
    if hasattr(backend, "before_command"):
        backend.before_command()  # the real apiserver's backend binds its Role in new namespaces
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, cwd=str(ROOT))
    if hasattr(backend, "after_command"):
        backend.after_command()  # ... and plays the controllers at the run's clock (tests/realkube.py)
    if check and proc.returncode not in (0, 1):
        raise AssertionError(f"{command} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def get_view(backend, name: str, now: str) -> dict:
    proc = cli(backend, "get", "rollout", name, "-o", "json", now=now)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
