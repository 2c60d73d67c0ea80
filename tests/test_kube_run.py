"""`reconciler run --cluster kube` end to end against the API emulator: the read budget, events,
the lease, and faults in the middle of a run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.kube_emulator import KubeEmulator
from tests.kube_emulator.backend import rbac_from_manifests

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOW = "2026-01-01T00:00:00Z"


@pytest.fixture
def api():
    with KubeEmulator(now=T0, rbac=rbac_from_manifests()) as emulator:
        yield emulator


@pytest.fixture
def kubeconfig(api, tmp_path):
    return api.write_kubeconfig(tmp_path / "kubeconfig")


def run(kubeconfig, *args, source="fixtures/canary-nginx"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update({"KUBECONFIG": str(kubeconfig), "PYTHONPATH": str(ROOT)})
    command = [sys.executable, "-m", "reconciler", "run", source, "--cluster", "kube", "--now", NOW, "--log-format", "json", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_one_list_per_kind_per_namespace_and_no_read_per_object(api, kubeconfig):
    proc = run(kubeconfig)
    assert proc.returncode == 0, proc.stderr
    # One list per kind per namespace; the state store's ConfigMaps are their own (labelled) list,
    # in the rollouts' namespaces only: never a list across all namespaces.
    lists = Counter((r.path, tuple(r.query.get("labelSelector", []))) for r in api.calls("list"))
    assert lists and max(lists.values()) == 1, lists
    assert ("/api/v1/namespaces/default/configmaps", ("reconciler.rollouts.io/managed-by=reconciler",)) in lists
    assert all("/namespaces/" in path for path, _ in lists), lists
    gets = [r.path for r in api.calls("get")]
    assert all("/leases/" in path for path in gets), gets  # the Lease is the only object read by name
    # What the run created: the applied ConfigMap, the first ReplicaSet, the state, events.
    assert api.objects("ConfigMap", "default")
    assert [rs["metadata"]["name"].startswith("rollout-test-canary-nginx-") for rs in api.objects("ReplicaSet", "default")] == [True]
    assert {e["reason"] for e in api.objects("Event", "default")} >= {"NewReplicaSetCreated"}
    [lease] = api.objects("Lease", "default")
    assert "holderIdentity" not in lease["spec"]  # released at the end of the run


def test_a_live_lease_held_by_another_run_stops_this_one(api, kubeconfig):
    api.seed({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "reconciler", "namespace": "default"},
              "spec": {"holderIdentity": "cronjob-tick-42", "leaseDurationSeconds": 300, "renewTime": "2026-01-01T00:00:00.000000Z"}})
    proc = run(kubeconfig)
    assert proc.returncode == 2
    assert "another run holds the lease default/reconciler (cronjob-tick-42" in proc.stderr
    assert api.objects("ReplicaSet", "default") == []


def test_transient_server_errors_are_retried_inside_the_run(api, kubeconfig):
    api.fail(method="GET", path="/replicasets", status=500)
    api.fail(method="POST", path="/replicasets", status=429, retry_after=0)
    proc = run(kubeconfig)
    assert proc.returncode == 0, proc.stderr
    assert len(api.objects("ReplicaSet", "default")) == 1


def test_a_conflict_while_applying_is_reported_and_the_next_run_recovers(api, kubeconfig):
    api.fail(method="POST", path="/replicasets", status=409)
    proc = run(kubeconfig)
    assert proc.returncode == 1
    assert "changed since it was read" in proc.stdout + proc.stderr
    proc = run(kubeconfig)
    assert proc.returncode == 0, proc.stderr
    assert len(api.objects("ReplicaSet", "default")) == 1


def test_logs_are_json_lines_with_one_line_per_rollout(api, kubeconfig):
    import json

    proc = run(kubeconfig)
    entries = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    mine = [e for e in entries if e.get("rollout") == "rollout-test-canary-nginx"]
    assert mine and all({"time", "level", "msg", "namespace", "action"} <= set(e) for e in mine)
    assert "emulator-token" not in proc.stderr + proc.stdout


# app-repo holds kinds deploy/rbac.yaml cannot know (a Gateway, an HPA, a PDB): the user grants those
# (docs/kubernetes.md); tests/test_plain_objects_kube.py runs it with the grants, and without them.
# corpus is a folder of repositories (tests/test_corpus.py runs each), not one, with such kinds too.
FIXTURES = sorted(p.name for p in (ROOT / "fixtures").iterdir() if p.is_dir() and p.name not in ("invalid", "app-repo", "corpus"))


@pytest.mark.parametrize("fixture", FIXTURES)
def test_every_fixture_runs_on_kube_within_the_deploy_rbac(fixture, api, kubeconfig):
    for minute in (0, 1):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
        env.update({"KUBECONFIG": str(kubeconfig), "PYTHONPATH": str(ROOT)})
        command = [sys.executable, "-m", "reconciler", "run", f"fixtures/{fixture}", "--cluster", "kube", "--now", f"2026-01-01T00:0{minute}:00Z"]
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode in (0, 1), proc.stderr  # 2 would be a refused call, a 403 or a protocol error
        # a 403 status, not the digits inside a log line's timestamp (…09.854038Z once matched)
        assert not re.search(r"(?<![\d.])403(?!\d)", proc.stderr) and "refused" not in proc.stderr
    assert [r for r in api.requests if r.status == 403] == []
