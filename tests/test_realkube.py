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


def fetch(kube, kind: str, namespace: str, name: str) -> dict | None:
    """One object, read as a run reads (a list: `get` is granted only where the code uses it)."""
    return next((obj for obj in kube.list(kind, namespace) if obj["metadata"]["name"] == name), None)


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
    assert fetch(kube, "AnalysisRun", "default", "missing") is None
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
    assert fetch(kube, "AnalysisRun", "default", "demo-1")["spec"]["terminate"] is True
    current = fetch(kube, "AnalysisRun", "default", "demo-1")
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


# app-repo's plain kinds need grants of the user's own (docs/kubernetes.md; tests/test_plain_objects_kube.py);
# corpus is a folder of repositories with such kinds (tests/test_corpus.py runs each on the embedded cluster).
FIXTURE_DIRS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in ("invalid", "app-repo", "corpus"))


def test_every_call_the_service_account_made_is_granted_by_deploy_rbac(realkube_backend, tmp_path):
    """Every fixture run twice as the deploy/ ServiceAccount; the apiserver's audit log
    of its calls is compared with the rules of deploy/rbac.yaml (and with API_CALLS)."""
    from reconciler.cluster.kube_grants import rbac_rules
    from tests.test_deploy import deploy_rbac

    plane = realkube_backend.api
    since = len(plane.audit(SA_USER))
    for fixture in FIXTURE_DIRS:
        for minute in (0, 1):
            proc = cli(realkube_backend, "run", str(FIXTURES / fixture), now=f"2026-01-01T00:0{minute}:00Z", check=False)
            assert proc.returncode in (0, 1), proc.stderr
    events = plane.audit(SA_USER)[since:]
    assert events, "the audit log recorded nothing"
    used = {((e["objectRef"].get("apiGroup") or ""), e["objectRef"]["resource"] + (f"/{e['objectRef']['subresource']}" if e["objectRef"].get("subresource") else ""),
             e["verb"]) for e in events if e.get("objectRef")}
    granted = {(group, resource, verb) for group, resource, verb, _ in deploy_rbac()}
    declared = {(group, resource, verb) for _, group, resource, verbs in rbac_rules() for verb in verbs}
    assert used <= granted, sorted(used - granted)
    assert used <= declared, sorted(used - declared)
    assert _forbidden(plane, since) == []
    # Least privilege: every grant these runs did not use is one a listed code path needs.
    unexercised = granted - used
    unexplained = sorted(grant for grant in unexercised if _why_granted(grant) is None)
    assert unexplained == [], f"granted but neither used by the fixtures nor explained in _why_granted: {unexplained}"


# Grants the fixture runs above do not exercise, and the code path that needs each one.
_SSA_CREATE = "server-side apply that creates the object is authorised as `create` as well (the audit log records `patch`)"
_NEEDED_BY = {
    ("", "configmaps", "get"): "notifications: argo-rollouts-notification-configmap is read by name (reconciler/notifications)",
    ("", "configmaps", "delete"): "status store: a rollout's previous state ConfigMap is removed when renamed (status/annotations.py)",
    ("", "pods", "list"): "spec.restartAt: the pods older than it (engine/restart.py, pipeline/observe.py)",
    ("", "pods", "delete"): "spec.restartAt: one pod older than it per run (engine/restart.py)",
    ("apps", "replicasets", "update"): "scaling an existing ReplicaSet (each later step; the fixtures' two runs mostly create)",
    ("apps", "replicasets", "delete"): "revisionHistoryLimit: old ReplicaSets beyond it (engine/history.py)",
    ("argoproj.io", "rollouts", "list"): "validating an Experiment against the live cluster: its name must not be a Rollout's (validation/rules/experiments.py)",
    ("networking.k8s.io", "ingresses", "list"): "Ingress objects applied from Git are observed for drift",
    ("networking.k8s.io", "ingresses", "patch"): "Ingress objects applied from Git (server-side apply)",
    ("argoproj.io", "clusteranalysistemplates", "list"): "ClusterAnalysisTemplate references (analysis steps with clusterScope)",
    ("argoproj.io", "clusteranalysistemplates", "patch"): "ClusterAnalysisTemplates applied from Git (server-side apply)",
}
_ANALYSIS = "analysis steps and background analysis (tests/test_realkube_scenarios.py runs them as this ServiceAccount)"
_JOBS = "the Job metric provider (tests/test_realkube.py::test_a_job_metric_runs_as_real_pods_with_the_controllers)"


def _why_granted(grant: tuple[str, str, str]) -> str | None:
    group, resource, verb = grant
    if grant in _NEEDED_BY:
        return _NEEDED_BY[grant]
    if verb == "create" and resource in _APPLIED_RESOURCES:
        return _SSA_CREATE
    if verb == "delete" and resource in _PRUNED_RESOURCES:
        return _PRUNE
    if resource == "analysisruns":
        return _ANALYSIS
    if resource == "jobs":
        return _JOBS
    return None


_PRUNE = "run --prune: an object this SOURCE applied and then removed from Git (pipeline/prune.py; tests/test_prune_kube.py)"
_PRUNED_RESOURCES = {"services", "deployments", "ingresses", "virtualservices", "destinationrules", "analysistemplates"}
_APPLIED_RESOURCES = {"configmaps", "services", "deployments", "ingresses", "virtualservices", "destinationrules", "analysistemplates", "clusteranalysistemplates"}


# -- real controllers: a Job provider's Job runs as pods on the simulated node -----------------------


def test_a_job_metric_runs_as_real_pods_with_the_controllers(realkube_controllers, tmp_path):
    from reconciler.cluster.kube import KubeCluster

    plane = realkube_controllers
    namespace = plane.fresh_namespace("jobs")
    kubeconfig = plane.install_service_account(namespace)
    kube = KubeCluster(kubeconfig=str(kubeconfig))
    for name, command in (("passes", "exit 0"), ("fails", "exit 3")):
        kube.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": namespace},
                     "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                              "containers": [{"name": "check", "image": "busybox", "command": ["sh", "-c", command]}]}}}})

    def finished(name):
        job = fetch(kube, "Job", namespace, name)
        return next((c["type"] for c in (job.get("status") or {}).get("conditions") or []
                     if c["type"] in ("Complete", "Failed") and c["status"] == "True"), None)

    assert plane.wait_for("the passing Job to complete", lambda: finished("passes")) == "Complete"
    assert plane.wait_for("the failing Job to fail", lambda: finished("fails")) == "Failed"
    pods = kube.list("Pod", namespace)
    assert {p["status"]["phase"] for p in pods} == {"Succeeded", "Failed"}


def _in_namespace(source, target, namespace):
    """Copy a fixture with every object put in `namespace`, as kustomize's `namespace:` would."""
    import yaml

    target.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        if path.suffix not in (".yaml", ".yml"):
            continue
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        for doc in docs:
            doc.setdefault("metadata", {})["namespace"] = namespace
        (target / path.name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return target


def _run_as(kubeconfig, namespace, *args):
    import os
    import subprocess
    import sys

    from tests.backends import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update({"KUBECONFIG": str(kubeconfig), "PYTHONPATH": str(ROOT)})
    extra = ["--lease-namespace", namespace] if args[0] == "run" else []
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--cluster", "kube", *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _settled(plane, namespace) -> bool:
    """The controllers caught up: every ReplicaSet has its pods available, no Job is still running."""
    for rs in plane.objects("ReplicaSet", namespace):
        status = rs.get("status") or {}
        if status.get("observedGeneration") != rs["metadata"].get("generation") or \
                (status.get("availableReplicas") or 0) != rs["spec"].get("replicas"):
            return False
    return all((job.get("status") or {}).get("conditions") for job in plane.objects("Job", namespace))


@pytest.mark.parametrize("template,outcome", [("test-analysis", "Healthy"), ("test-analysis-fail", "Degraded")])
def test_seed001_with_real_controllers_a_job_metric_decides_the_rollout(template, outcome, realkube_controllers, tmp_path):
    """Seed 001 on the real clock: kube-controller-manager makes the pods and runs the analysis Job,
    the simulated node runs them (`exit 0` / `exit 1`); the CLI runs as the deploy/ ServiceAccount
    in a fresh namespace until the post-promotion analysis has decided."""
    plane = realkube_controllers
    namespace = plane.fresh_namespace("seed001")
    kubeconfig = plane.install_service_account(namespace)
    repo = _in_namespace(FIXTURES / "bluegreen-analysis", tmp_path / "repo", namespace)
    manifest = repo / "rollout-bg-test-analysis.yml"
    manifest.write_text(manifest.read_text().replace("templateName: test-analysis", f"templateName: {template}"))
    name = "rollout-bg-test-analysis"

    def view():
        proc = _run_as(kubeconfig, namespace, "get", "rollout", name, "-n", namespace, "-o", "json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def run_until(done, runs=12):
        for _ in range(runs):
            proc = _run_as(kubeconfig, namespace, "run", str(repo))
            assert proc.returncode in (0, 1), proc.stderr
            plane.wait_for(f"the controllers in {namespace}", lambda: _settled(plane, namespace), timeout=180)
            current = view()
            if done(current):
                return current
        raise AssertionError(f"not done after {runs} runs: {current['status']} {current['message']}")

    first = run_until(lambda v: v["status"] == "Healthy")
    assert first["replicas"]["available"] == 2
    manifest.write_text(manifest.read_text().replace("image: nginx:latest", "image: nginx:stable"))
    final = run_until(lambda v: v["analysisRuns"] and v["analysisRuns"][0]["status"] in ("Successful", "Failed", "Error")
                      and v["status"] in ("Healthy", "Degraded"))
    assert final["status"] == outcome
    jobs = plane.objects("Job", namespace)
    assert jobs and all(j["metadata"]["name"].endswith(".test-analysis.1") for j in jobs)  # <analysis run uid>.<metric>.<n>
    pods = [p for p in plane.objects("Pod", namespace) if any(o["kind"] == "Job" for o in p["metadata"].get("ownerReferences") or [])]
    assert pods and {p["status"]["phase"] for p in pods} == ({"Succeeded"} if outcome == "Healthy" else {"Failed"})
    active = plane.get("Service", namespace, "rollout-active-service-analysis")["spec"]["selector"]["rollouts-pod-template-hash"]
    revisions = {rs["metadata"]["labels"]["rollouts-pod-template-hash"]: rs["metadata"]["annotations"].get("rollout.argoproj.io/revision")
                 for rs in plane.objects("ReplicaSet", namespace)}
    assert revisions[active] == ("2" if outcome == "Healthy" else "1")
