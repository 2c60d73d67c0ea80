"""`reconciler ... --cluster kube` from the command line: failures are exit 2, fast, with a hint, no secret."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kube_emulator import write_kubeconfig

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "s3cr3t-token-value"


def cli(*args, env_extra=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECONCILER_", "KUBERNETES_"))}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", [["run", "fixtures/canary-nginx"], ["plan", "fixtures/canary-nginx"], ["get", "rollout", "x"]])
def test_unreachable_cluster_is_exit_2_with_a_hint(command, closed_port, tmp_path):
    # No wall-clock assertion (noisy machines); the subprocess timeout is the guard against a retry loop.
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server=f"https://127.0.0.1:{closed_port}", token=TOKEN)
    proc = cli(*command, "--cluster", "kube", env_extra={"KUBECONFIG": str(kubeconfig)})
    assert proc.returncode == 2, proc.stderr
    assert f"cannot reach the Kubernetes API at https://127.0.0.1:{closed_port}" in proc.stderr
    assert "hint:" in proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout


def test_missing_kubeconfig_and_context_are_exit_2(tmp_path, closed_port):
    proc = cli("run", "fixtures/canary-nginx", "--cluster", "kube", env_extra={"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)})
    assert proc.returncode == 2 and "no kubeconfig found" in proc.stderr
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server=f"http://127.0.0.1:{closed_port}", token=TOKEN)
    proc = cli("run", "fixtures/canary-nginx", "--cluster", "kube", "--context", "prod", env_extra={"KUBECONFIG": str(kubeconfig)})
    assert proc.returncode == 2 and "prod" in proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout


def test_cluster_kube_from_the_environment(tmp_path, closed_port):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server=f"http://127.0.0.1:{closed_port}", token=TOKEN)
    proc = cli("run", "fixtures/canary-nginx", env_extra={"KUBECONFIG": str(kubeconfig), "RECONCILER_CLUSTER": "kube"})
    assert proc.returncode == 2 and "cannot reach the Kubernetes API" in proc.stderr


def test_startup_does_not_import_the_kubernetes_client():
    code = "import sys, reconciler.cli; print('kubernetes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
