"""The Job provider on both Cluster backends, and the simulated kubelet's documented Job rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import yaml

from reconciler import PREFIX
from reconciler.analysis.measure import take_measurements
from reconciler.analysis.providers.base import ProviderContext
from reconciler.analysis.providers.job import RUN_UID_LABEL, build_job, job_name
from reconciler.analysis.run import apply_measurements, start_run, terminate
from reconciler.analysis.schedule import due_measurements
from reconciler.cluster.kubelet_jobs import container_exit_code, decide, simulate_job
from reconciler.cluster.local import LocalCluster

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def seed_001_metric(exit_code: int = 0) -> dict:
    """seed 001's test-analysis template: alpine `sh -c "exit N"`, backoffLimit 1."""
    return {
        "name": "test-analysis",
        "provider": {"job": {"spec": {
            "backoffLimit": 1,
            "template": {"spec": {
                "containers": [{"name": "sleep", "image": "alpine:3.8", "command": ["sh", "-c"], "args": [f"exit {exit_code}"]}],
                "restartPolicy": "Never",
            }},
        }}},
    }


def invoke(run, cluster, now):
    """One reconciler invocation's analysis work: due -> measure -> apply."""
    if hasattr(cluster, "now"):
        cluster.now = now
    return apply_measurements(run, take_measurements(due_measurements(run, now), cluster=cluster, now=now), now)


# -- the simulated kubelet rule (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "container, code",
    [
        ({"command": ["sh", "-c"], "args": ["exit 0"]}, 0),
        ({"command": ["sh", "-c"], "args": ["exit 1"]}, 1),
        ({"command": ["sh", "-c", "curl -f http://svc/health; exit 3"]}, 3),
        ({"command": ["/bin/check"], "args": ["--exit", "1"]}, 0),
        ({"args": ["echo hi && exit 2;"]}, 2),
        ({}, 0),
    ],
)
def test_exit_code_comes_from_a_trailing_exit(container, code):
    assert container_exit_code(container) == code


def job_object(name="u.test-analysis.1", exit_code=0, created=T0, **spec):
    job = build_job(seed_001_metric(exit_code), ProviderContext(run="r", namespace="default", run_uid="u", rollout="ro", index=1, now=created))
    job["metadata"]["name"] = name
    job["metadata"]["creationTimestamp"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    job["spec"].update(spec)
    return job


def test_simulated_job_succeeds_or_fails_by_its_command():
    done = simulate_job(job_object(exit_code=0), {}, T0)
    assert done["status"]["succeeded"] == 1 and done["status"]["conditions"][0]["type"] == "Complete"
    failed = simulate_job(job_object(exit_code=1), {}, T0)
    assert failed["status"]["failed"] == 2  # backoffLimit 1: two failed pods, as seed 001 shows
    assert failed["status"]["conditions"][0]["reason"] == "BackoffLimitExceeded"


def test_kubelet_yaml_overrides_by_name_pattern_and_delays_completion():
    config = {"jobs": {"*.smoke.*": "Failed", "*.test-analysis.*": {"result": "Succeeded", "afterSeconds": 30}}}
    assert decide(job_object(name="u.smoke.1"), config) == ("Failed", 0.0)
    running = simulate_job(job_object(exit_code=1), config, T0 + timedelta(seconds=29))
    assert running["status"] == {"startTime": "2026-01-01T00:00:00Z", "active": 1}
    done = simulate_job(job_object(exit_code=1), config, T0 + timedelta(seconds=30))
    assert done["status"]["conditions"][0]["type"] == "Complete"


def test_a_job_that_never_finishes_fails_at_its_active_deadline():
    config = {"jobs": {"*": "Running"}}
    assert "active" in simulate_job(job_object(activeDeadlineSeconds=60), config, T0 + timedelta(seconds=59))["status"]
    late = simulate_job(job_object(activeDeadlineSeconds=60), config, T0 + timedelta(seconds=60))
    assert late["status"]["conditions"][0]["reason"] == "DeadlineExceeded"


def test_simulate_job_is_pure():
    job = job_object()
    before = yaml.safe_dump(job)
    simulate_job(job, {}, T0)
    assert yaml.safe_dump(job) == before


# -- the provider on the embedded cluster -------------------------------------------------------------------------


def test_seed_001_success_on_the_local_cluster(tmp_path):
    cluster = LocalCluster(tmp_path, now=T0)
    run = start_run("rollout-bg-test-analysis-6bcfbc585f-2", "default/rollout-bg-test-analysis", 2, [seed_001_metric(0)], T0)
    run = invoke(run, cluster, T0)
    assert run["status"] == "Running"
    [job] = run["jobs"]
    assert job["name"] == f"{run['uid']}.test-analysis.1" and job["status"] == "Running"
    stored = cluster.list("Job", "default")
    assert [j["metadata"]["name"] for j in stored] == [job["name"]]
    labels = stored[0]["metadata"]["labels"]
    assert labels[RUN_UID_LABEL] == run["uid"] and labels[f"{PREFIX}/rollout"] == "rollout-bg-test-analysis"
    run = invoke(run, cluster, T0 + timedelta(seconds=10))
    assert run["status"] == "Successful"
    assert run["jobs"][0]["status"] == "Successful"
    assert len(cluster.list("Job", "default")) == 1  # resumed, never created twice


def test_seed_001_failure_on_the_local_cluster(tmp_path):
    cluster = LocalCluster(tmp_path, now=T0)
    run = start_run("rollout-bg-test-analysis-6b7c8784cc-3", "default/rollout-bg-test-analysis", 3, [seed_001_metric(1)], T0)
    run = invoke(run, cluster, T0)
    run = invoke(run, cluster, T0 + timedelta(seconds=12))
    assert run["status"] == "Failed"
    assert run["message"] == 'Metric "test-analysis" assessed Failed due to failed (1) > failureLimit (0)'
    assert run["jobs"][0]["status"] == "Failed"


def test_job_still_running_stays_running_then_terminate_deletes_it(tmp_path):
    (tmp_path / "kubelet.yaml").write_text('jobs:\n  "*": {result: Running}\n')
    cluster = LocalCluster(tmp_path, now=T0)
    run = start_run("r", "default/ro", 1, [seed_001_metric(0)], T0)
    for seconds in (0, 30, 60):
        run = invoke(run, cluster, T0 + timedelta(seconds=seconds))
        assert run["status"] == "Running"
    run = terminate(run, T0 + timedelta(seconds=61))
    run = invoke(run, cluster, T0 + timedelta(seconds=62))
    assert run["status"] == "Successful" and run["message"] == "Run Terminated"
    assert cluster.list("Job", "default") == []
    assert run["metrics"][0]["measurements"][-1]["message"] == "Metric Terminated"


def test_job_deleted_behind_our_back_is_an_error_measurement(tmp_path):
    cluster = LocalCluster(tmp_path, now=T0)
    run = invoke(start_run("r", "default/ro", 1, [seed_001_metric(0)], T0), cluster, T0)
    cluster.delete("Job", "default", run["jobs"][0]["name"])
    run = invoke(run, cluster, T0 + timedelta(seconds=1))
    result = run["metrics"][0]
    assert result["error"] == 1 and "not found" in result["measurements"][-1]["message"]


def test_job_names_stay_within_63_characters():
    assert len(job_name("0208d4a6-ee21-4ec5-b969-4b75b6784a4b", "a-very-long-metric-name-that-goes-on-and-on", 12)) <= 63
    assert job_name("0208d4a6-ee21-4ec5-b969-4b75b6784a4b", "test-analysis", 1) == "0208d4a6-ee21-4ec5-b969-4b75b6784a4b.test-analysis.1"


# -- the same on the kube backend (official client against the API emulator) ----------------------------------------


def test_seed_001_on_the_kube_backend(tmp_path):
    from reconciler.cluster.kube import KubeCluster
    from tests.kube_emulator import KubeEmulator

    with KubeEmulator(now=T0) as api:
        cluster = KubeCluster(kubeconfig=str(api.write_kubeconfig(tmp_path / "kubeconfig")), sleep=lambda s: None)
        try:
            ok = start_run("ok-run", "default/ro", 2, [seed_001_metric(0)], T0)
            bad = start_run("bad-run", "default/ro", 3, [seed_001_metric(1)], T0)
            ok, bad = invoke(ok, cluster, T0), invoke(bad, cluster, T0)
            assert (ok["status"], bad["status"]) == ("Running", "Running")
            api.set_now(T0 + timedelta(seconds=5))
            ok, bad = invoke(ok, cluster, T0 + timedelta(seconds=5)), invoke(bad, cluster, T0 + timedelta(seconds=5))
            assert (ok["status"], bad["status"]) == ("Successful", "Failed")
            names = sorted(j["metadata"]["name"] for j in api.objects("Job", "default"))
            assert names == sorted([ok["jobs"][0]["name"], bad["jobs"][0]["name"]])
        finally:
            cluster.close()


def test_many_jobs_in_flight_cost_one_job_list_per_namespace(tmp_path):
    from reconciler.analysis.measure import measure_runs
    from reconciler.analysis.run import apply_all

    cluster = LocalCluster(tmp_path, now=T0)
    runs = {f"run-{i}": start_run(f"run-{i}", "default/ro", i, [seed_001_metric(i % 2)], T0) for i in range(5)}
    runs = apply_all(runs, measure_runs(runs, cluster=cluster, now=T0), T0)
    cluster.now = T0 + timedelta(seconds=5)
    before = dict(cluster.reads_by)
    runs = apply_all(runs, measure_runs(runs, cluster=cluster, now=cluster.now), cluster.now)
    assert cluster.reads_by.get(("Job", "default"), 0) - before.get(("Job", "default"), 0) == 1
    assert [runs[f"run-{i}"]["status"] for i in range(5)] == ["Successful", "Failed"] * 2 + ["Successful"]
