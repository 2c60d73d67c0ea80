"""The run's Lease: its namespace (--lease-namespace, the pod's own, `default`), and its renewal while
a long run acts, on both backends; the kube run is driven on the API emulator's clock."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from reconciler.cluster.lease import LEASE_SECONDS, lease_namespace
from reconciler.errors import ClusterError, UsageError
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOW = "2026-01-01T00:00:00Z"


def micro(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- where the Lease lives ----------------------------------------------------------------------------------


def test_lease_namespace_option_then_the_pods_namespace_then_default(tmp_path):
    pod_namespace = tmp_path / "namespace"
    assert lease_namespace(None, namespace_file=pod_namespace) == "default"  # not in a pod
    pod_namespace.write_text("rollouts\n")
    assert lease_namespace(None, namespace_file=pod_namespace) == "rollouts"
    assert lease_namespace("ops", namespace_file=pod_namespace) == "ops"
    with pytest.raises(UsageError, match="not a namespace name"):
        lease_namespace("Not_A_Namespace")


def test_in_a_pod_the_run_takes_its_lease_in_the_pods_namespace(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import reconciler.cluster.lease as lease_module
    from reconciler.cli import app

    (tmp_path / "namespace").write_text("rollouts")
    monkeypatch.setattr(lease_module, "SERVICE_ACCOUNT_NAMESPACE_FILE", tmp_path / "namespace")
    cluster = tmp_path / "cluster"
    result = CliRunner().invoke(app, ["run", str(FIXTURES / "canary-nginx"), "--cluster", f"local:{cluster}", "--now", NOW])
    assert result.exit_code == 0, result.output
    assert (cluster / "rollouts" / "Lease" / "reconciler.yaml").is_file()
    assert not (cluster / "default" / "Lease").exists()


def kube_run(api, tmp_path, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update({"KUBECONFIG": str(api.write_kubeconfig(tmp_path / "kubeconfig")), "PYTHONPATH": str(ROOT)})
    env.update(env_extra or {})
    command = [sys.executable, "-m", "reconciler", "run", "fixtures/canary-nginx", "--cluster", "kube", "--now", NOW, *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("how", ["option", "env"])
def test_lease_namespace_from_the_option_or_the_environment(how, tmp_path):
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    with KubeEmulator(now=T0, rbac=rbac_from_manifests(lease_namespace="rollouts")) as api:
        api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rollouts"}})
        if how == "option":
            proc = kube_run(api, tmp_path, "--lease-namespace", "rollouts")
        else:
            proc = kube_run(api, tmp_path, env_extra={"RECONCILER_LEASE_NAMESPACE": "rollouts"})
        assert proc.returncode == 0, proc.stderr
        [lease] = api.objects("Lease", "rollouts")
        assert lease["metadata"]["name"] == "reconciler" and api.objects("Lease", "default") == []
        assert [r for r in api.requests if r.status == 403] == []


def test_a_lease_namespace_without_the_lease_role_says_where_to_bind_it(tmp_path):
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    with KubeEmulator(now=T0, rbac=rbac_from_manifests(lease_namespace="default")) as api:
        api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}})
        proc = kube_run(api, tmp_path, "--lease-namespace", "ops")
        assert proc.returncode == 2
        assert "cannot get leases (apiGroup coordination.k8s.io) in namespace 'ops' (403 Forbidden)" in proc.stderr
        assert "bind it in namespace 'ops'" in proc.stderr
        assert api.objects("ReplicaSet", "default") == []  # nothing acted without the lease


# -- renewal through the Cluster interface, both backends ------------------------------------------------------


def test_a_renewed_lease_stays_held_and_a_lost_one_is_said(backend):
    mine, rival = backend.cluster(now=T0), backend.cluster(now=T0)
    with mine.lease("reconciler", "default", "run-a", duration_seconds=60, now=T0) as held:
        mine.renew_lease(held, now=T0 + timedelta(seconds=40))
        assert held.renewed_at == T0 + timedelta(seconds=40)
        # Past the first renewTime's expiry (60 s), but within the renewed one's (100 s): still held.
        with pytest.raises(ClusterError, match="holds the lease"):
            with rival.lease("reconciler", "default", "run-b", duration_seconds=60, now=T0 + timedelta(seconds=90)):
                pass
        taken = rival.lease("reconciler", "default", "run-b", duration_seconds=60, now=T0 + timedelta(seconds=101))
        taken.__enter__()  # run-b takes the expired lease over and keeps it
        with pytest.raises(ClusterError, match="lost the lease default/reconciler to run-b") as err:
            mine.renew_lease(held, now=T0 + timedelta(seconds=102))
        assert "stopped before acting further" in err.value.message and err.value.hint
    # Leaving our `with` must not hand back a lease that is run-b's now.
    assert mine.get("Lease", "default", "reconciler")["spec"]["holderIdentity"] == "run-b"
    taken.__exit__(None, None, None)


# -- a long run on the emulator's clock ---------------------------------------------------------------------------


def three_rollouts(tmp_path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    text = (FIXTURES / "canary-nginx" / "nginx.yaml").read_text()
    for name in ("web-a", "web-b", "web-c"):
        (repo / f"{name}.yaml").write_text(text.replace("rollout-test-canary-nginx", name))
    return repo


@pytest.fixture
def emulator():
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    with KubeEmulator(now=T0, rbac=rbac_from_manifests()) as api:
        yield api


def kube_cluster(api, tmp_path):
    from reconciler.cluster.kube import KubeCluster

    return KubeCluster(kubeconfig=str(api.write_kubeconfig(tmp_path / f"kubeconfig-{len(list(tmp_path.iterdir()))}")))


def run_on_the_emulators_clock(api, tmp_path, repo, rival_at: int):
    """One in-process `run` whose clock is the emulator's; at `rival_at` seconds another run tries to
    take the lease (and keeps it if it gets it). Returns (what the rival got, the run's error, the
    rival's open leases: keep them referenced, as collecting one releases it)."""
    from reconciler.runner import run_once
    from reconciler.status.annotations import AnnotationsStatusStore

    kube, rival = kube_cluster(api, tmp_path), kube_cluster(api, tmp_path)
    rival_got: list[str] = []
    held_by_rival = []  # a context manager left open must stay referenced, or collecting it releases the lease

    def clock() -> datetime:
        moment = api.now
        if moment >= T0 + timedelta(seconds=rival_at) and not rival_got:
            try:
                taken = rival.lease("reconciler", "default", "rival", duration_seconds=LEASE_SECONDS, now=moment)
                taken.__enter__()
                held_by_rival.append(taken)
                rival_got.append("took it")
            except ClusterError as err:
                rival_got.append(err.message)
        return moment

    try:
        run_once(repo, kube, AnnotationsStatusStore(kube), T0, dry_run=False, lease_namespace="default", clock=clock)
    except ClusterError as err:
        return rival_got, err, held_by_rival
    return rival_got, None, held_by_rival


def lease_writes(api) -> list[tuple[str | None, str]]:
    return [(r.body["spec"].get("holderIdentity"), r.body["spec"].get("renewTime")) for r in api.calls("update", "/leases/reconciler$")]


def test_a_run_longer_than_the_lease_renews_it_between_rollouts(emulator, tmp_path):
    api = emulator
    # Each ReplicaSet create takes 200 s on the emulator's clock: the run lasts 600 s, twice the lease.
    api.fail(method="POST", path="/replicasets$", advance=200, times=3)
    rival_got, error, _ = run_on_the_emulators_clock(api, tmp_path, three_rollouts(tmp_path), rival_at=400)
    assert error is None
    assert len(api.objects("ReplicaSet", "default")) == 3
    # Renewed at 200 s (before web-b) and 400 s (before web-c), then released.
    holder = lease_writes(api)[0][0]
    assert lease_writes(api) == [(holder, micro(200)), (holder, micro(400)), (None, micro(400))]
    # At 400 s the lease taken at 0 s would have expired (300 s); renewed at 200 s, it had not.
    assert len(rival_got) == 1 and "another run holds the lease default/reconciler" in rival_got[0]


def test_a_lease_lost_mid_run_stops_the_run_before_the_next_rollout(emulator, tmp_path):
    api = emulator
    # One step takes longer than the whole lease: another run takes it over meanwhile.
    api.fail(method="POST", path="/replicasets$", advance=LEASE_SECONDS + 100, times=1)
    rival_got, error, rivals = run_on_the_emulators_clock(api, tmp_path, three_rollouts(tmp_path), rival_at=LEASE_SECONDS + 1)
    assert rival_got == ["took it"]
    assert error is not None and "lost the lease default/reconciler to rival" in error.message
    assert [rs["metadata"]["name"].split("-")[1] for rs in api.objects("ReplicaSet", "default")] == ["a"]  # web-b, web-c untouched
    [lease] = api.objects("Lease", "default")
    assert lease["spec"]["holderIdentity"] == "rival"  # our release did not hand back someone else's lease
    rivals[0].__exit__(None, None, None)


def test_the_cli_run_holds_and_releases_the_lease_on_the_runs_clock(emulator, tmp_path):
    proc = kube_run(emulator, tmp_path)
    assert proc.returncode == 0, proc.stderr
    [created] = emulator.calls("create", "/leases$")
    assert created.body["spec"]["renewTime"] == micro(0)  # the time the run believes it is (--now)
    assert [holder for holder, _ in lease_writes(emulator)] == [None]  # a short run: released, not renewed


def test_plan_takes_no_lease(emulator, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update({"KUBECONFIG": str(emulator.write_kubeconfig(tmp_path / "kubeconfig")), "PYTHONPATH": str(ROOT)})
    proc = subprocess.run([sys.executable, "-m", "reconciler", "plan", "fixtures/canary-nginx", "--cluster", "kube", "--now", NOW],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert emulator.calls(path="/leases") == []
