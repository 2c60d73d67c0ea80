"""The kube backend against a real kube-apiserver (scripts/realkube.sh; fixtures in tests/realkube.py).

- The Cluster protocol's contract, each test run against the emulator and the real apiserver, as
  the deploy/ ServiceAccount (TokenRequest token, deploy/rbac.yaml's Roles).
- What only a real server shows: a real 409 on a stale resourceVersion re-planned and retried by
  the run, a Lease held by another holder respected by the CLI.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.errors import ClusterError, Conflict
from tests.backends import cli
from tests.conftest import FIXTURES

pytestmark = [pytest.mark.realkube, pytest.mark.slow]

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SA_USER = "system:serviceaccount:default:reconciler"


# -- the Cluster protocol, on both servers ---------------------------------------------------------------


class _Emulated:
    def __init__(self, api, kubeconfig):
        self.api, self.kubeconfig = api, kubeconfig

    def seed(self, obj):
        return self.api.seed(obj)


class _Real:
    def __init__(self, plane, kubeconfig):
        self.api, self.kubeconfig = plane, kubeconfig

    def seed(self, obj):
        return self.api.seed(obj)


@pytest.fixture(params=["emulator", "realkube"])
def server(request, tmp_path):
    """(a handle with `.seed(obj)`, a kubeconfig for the reconciler's ServiceAccount)."""
    if request.param == "emulator":
        from tests.kube_emulator import KubeEmulator
        from tests.kube_emulator.backend import rbac_from_manifests

        with KubeEmulator(now=T0, rbac=rbac_from_manifests()) as api:
            yield _Emulated(api, api.write_kubeconfig(tmp_path / "kubeconfig"))
    else:
        plane = request.getfixturevalue("realkube")
        plane.reset()
        yield _Real(plane, plane.install_service_account("default", managed=["default"]))


@pytest.fixture
def kube(server):
    from reconciler.cluster.kube import KubeCluster

    cluster = KubeCluster(kubeconfig=str(server.kubeconfig), sleep=lambda s: None)
    yield cluster
    cluster.close()


def analysisrun(name="demo-1"):
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "demo"}},
            "spec": {"metrics": [{"name": "ok", "provider": {"job": {"spec": {"template": {"spec": {"containers": []}}}}}}]}}


def replicaset(name="demo-abc", replicas=2, app="demo"):
    labels = {"app": app, POD_TEMPLATE_HASH_LABEL: name.rsplit("-", 1)[-1]}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": "nginx:1.14.2"}]}}}}


def test_round_trip_with_resource_versions(kube):
    created = kube.create(analysisrun())
    assert created["metadata"]["resourceVersion"] and created["metadata"]["uid"]
    created["spec"]["terminate"] = True
    replaced = kube.replace(created)
    assert replaced["spec"]["terminate"] is True
    assert replaced["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    [listed] = kube.list("AnalysisRun", "default")
    assert (listed["kind"], listed["metadata"]["name"]) == ("AnalysisRun", "demo-1")
    assert kube.get("AnalysisRun", "default", "missing") is None
    kube.delete("AnalysisRun", "default", "demo-1", resource_version=replaced["metadata"]["resourceVersion"])
    assert kube.list("AnalysisRun", "default") == []
    kube.delete("AnalysisRun", "default", "demo-1")  # a missing object is not an error


def test_stale_resource_version_create_twice_and_replace_of_deleted_are_conflicts(kube):
    first = kube.create(analysisrun())
    kube.replace(dict(first, spec={**first["spec"], "terminate": True}))
    with pytest.raises(Conflict):
        kube.replace(dict(first, spec={**first["spec"], "terminate": False}))
    with pytest.raises(Conflict):
        kube.delete("AnalysisRun", "default", "demo-1", resource_version=first["metadata"]["resourceVersion"])
    with pytest.raises(Conflict):
        kube.create(analysisrun())
    assert kube.get("AnalysisRun", "default", "demo-1")["spec"]["terminate"] is True
    current = kube.get("AnalysisRun", "default", "demo-1")
    kube.delete("AnalysisRun", "default", "demo-1")
    with pytest.raises(Conflict):
        kube.replace(current)


def test_list_narrowed_by_label_selector_and_built_in_kinds_get_their_kind_back(kube):
    for name, app in (("rs-aaaaa", "demo"), ("rs-bbbbb", "demo"), ("rs-ccccc", "other")):
        kube.create(replicaset(name=name, app=app))
    names = sorted(o["metadata"]["name"] for o in kube.list("ReplicaSet", "default", selector={"app": "demo"}))
    assert names == ["rs-aaaaa", "rs-bbbbb"]
    assert {(o["apiVersion"], o["kind"]) for o in kube.list("ReplicaSet", "default")} == {("apps/v1", "ReplicaSet")}


def test_a_put_of_a_replicaset_keeps_the_status_the_controller_wrote(kube):
    created = kube.create(replicaset(replicas=2))
    created["spec"]["replicas"] = 3
    created["status"] = {"replicas": 99, "availableReplicas": 99}
    scaled = kube.replace(created)
    assert scaled["spec"]["replicas"] == 3
    assert (scaled.get("status") or {}).get("availableReplicas") != 99  # status is the controller's (a subresource)


def test_a_lease_held_by_a_live_holder_is_respected_and_an_expired_one_taken_over(kube, server):
    server.seed({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "reconciler", "namespace": "default"},
                 "spec": {"holderIdentity": "cronjob-tick-42", "leaseDurationSeconds": 300, "renewTime": "2026-01-01T00:00:00.000000Z"}})
    with pytest.raises(ClusterError, match="another run holds the lease default/reconciler"):
        with kube.lease("reconciler", "default", "me", duration_seconds=300, now=T0 + timedelta(seconds=10)):
            pass
    with kube.lease("reconciler", "default", "me", duration_seconds=300, now=T0 + timedelta(seconds=301)) as held:
        assert held.obj["spec"]["holderIdentity"] == "me" and held.obj["spec"]["leaseTransitions"] == 1
    assert "holderIdentity" not in kube.get("Lease", "default", "reconciler")["spec"]  # released


def _forbidden(plane, since: int) -> list[str]:
    return [f"{e['verb']} {e['requestURI']}" for e in plane.audit(SA_USER)[since:] if (e.get("responseStatus") or {}).get("code") == 403]


# -- what only a real server shows ---------------------------------------------------------------------


def test_a_real_409_on_the_state_is_reloaded_replanned_and_retried(realkube_backend, tmp_path):
    from reconciler.runner import run_once
    from reconciler.status.annotations import AnnotationsStatusStore

    plane = realkube_backend.api
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "canary-nginx", repo)
    assert cli(realkube_backend, "run", str(repo), now="2026-01-01T00:00:00Z").returncode == 0
    (repo / "nginx.yaml").write_text((repo / "nginx.yaml").read_text().replace("nginx:1.14.1", "nginx:1.14.2"))

    class RivalWritesFirst(AnnotationsStatusStore):
        """Another writer changes the state ConfigMap between this run's read and its write."""

        loads = saves = 0

        def load(self, namespaces=None):
            RivalWritesFirst.loads += 1
            return super().load(namespaces=namespaces)

        def save(self, changed, *, message):
            RivalWritesFirst.saves += 1
            if RivalWritesFirst.saves == 1:
                [state] = [cm for cm in plane.objects("ConfigMap", "default") if cm["metadata"]["name"].endswith("-rollout-state")]
                state["metadata"].setdefault("labels", {})["touched-by"] = "rival"
                plane.must("PUT", f"/api/v1/namespaces/default/configmaps/{state['metadata']['name']}", state)
            return super().save(changed, message=message)

    cluster = realkube_backend.cluster(now="2026-01-01T00:01:00Z")
    since = len(plane.audit(SA_USER))
    report = run_once(repo, cluster, RivalWritesFirst(cluster), T0 + timedelta(minutes=1), dry_run=False)
    assert report.exit_code == 0 and not report.results[0].error
    assert (RivalWritesFirst.loads, RivalWritesFirst.saves) == (2, 2)
    codes = [(e["verb"], e["objectRef"]["resource"], e["responseStatus"]["code"]) for e in plane.audit(SA_USER)[since:]]
    assert ("update", "configmaps", 409) in codes  # the real apiserver refused the stale write
    assert len(plane.objects("ReplicaSet", "default")) == 2  # the re-planned step was applied once


def test_a_lease_held_by_another_holder_stops_the_cli_run(realkube_backend, tmp_path):
    plane = realkube_backend.api
    plane.seed({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "reconciler", "namespace": "default"},
                "spec": {"holderIdentity": "cronjob-tick-42", "leaseDurationSeconds": 300, "renewTime": "2026-01-01T00:00:00.000000Z"}})
    proc = cli(realkube_backend, "run", str(FIXTURES / "canary-nginx"), now="2026-01-01T00:00:30Z", check=False)
    assert proc.returncode == 2
    assert "another run holds the lease default/reconciler (cronjob-tick-42" in proc.stderr
    assert plane.objects("ReplicaSet", "default") == []
