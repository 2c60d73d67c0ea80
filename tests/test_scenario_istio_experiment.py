"""Seed 002 section 2.2.6 ([Manifest 15], figure 7) through the CLI on each backend: a canary whose
first step is an experiment with `stable` / `canary` templates of weight 20 each, their own
Services, the Istio VirtualService and the Kayenta-style `stable-canary-comparison` analysis on a
REAL Prometheus (its args are the experiment's ReplicaSet names). The weights are read back from
the cluster's VirtualService after every run: 100/0 until the experiment's pods are available,
then 3:1:1 (stable 60, experiment-stable 20, experiment-canary 20, canary 0), never a weight on a
Service whose pods are not available, and back to the canary's own weights (4:1) once it ends."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from tests import prometheus_server
from tests.backends import cli, get_view
from tests.conftest import FIXTURES

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not prometheus_server.available(), reason="Debian's prometheus/promtool not installed")]
NAME = "mock-server"
HASH = "rollouts-pod-template-hash"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SERVICES = ("mock-server-experiment-stable", "mock-server-experiment-canary", "mock-server-canary")


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def revision2_experiment() -> str:
    from reconciler.engine.hashing import pod_template_hash

    manifest = next(yaml.safe_load_all(next((FIXTURES / "istio-experiment").glob("*.yaml")).read_text()))
    template = manifest["spec"]["template"]
    template["spec"]["containers"][0]["image"] = "ghcr.io/ssup2/mock-go-server:2.0.0"
    return f"{NAME}-{pod_template_hash(template)}-2-0"


@pytest.fixture(scope="module")
def prom():
    """istio_requests_total counters, all 200s, for the experiment's two ReplicaSets (as Istio
    labels them: destination_workload) and for the canary Service."""
    experiment = revision2_experiment()
    start = int(T0.timestamp())
    lines = ["# TYPE istio_requests_total counter"]
    for offset in range(0, 1201, 15):
        for service, workload in ((SERVICES[0], f"{experiment}-stable"), (SERVICES[1], f"{experiment}-canary"), (SERVICES[2], "mock-server")):
            lines.append(f'istio_requests_total{{destination_service_name="{service}",destination_workload="{workload}",response_code="200"}} '
                         f'{10 * offset} {start + offset}')
    with prometheus_server.PrometheusServer("\n".join(lines + ["# EOF", ""])) as server:
        yield server


def live(backend, kind, name):
    if backend.name == "local":  # the file a person reads
        path = backend.dir / "default" / kind / f"{name}.yaml"
        return yaml.safe_load(path.read_text()) if path.exists() else None
    return next((obj for obj in backend.cluster().list(kind, "default") if obj["metadata"]["name"] == name), None)


def route(backend) -> dict:
    """host -> weight of the managed route, read back from the cluster; checked against rule 7."""
    vs = live(backend, "VirtualService", NAME)
    [http] = vs["spec"]["http"]
    weights = {d["destination"]["host"]: d.get("weight", 0) for d in http["route"]}
    assert sum(weights.values()) == 100, weights
    by_hash = {rs["metadata"]["labels"][HASH]: rs for rs in backend.cluster().list("ReplicaSet", "default")}
    for host, weight in weights.items():
        if weight > 0:
            selected = live(backend, "Service", host)["spec"]["selector"][HASH]
            assert int((by_hash[selected].get("status") or {}).get("availableReplicas") or 0) > 0, f"{host} gets {weight} with no available pod"
    return weights


def run(backend, repo, seconds, code=0):
    proc = cli(backend, "run", str(repo), now=at(seconds))
    assert proc.returncode == code, proc.stdout + proc.stderr
    return route(backend)


def test_seed002_figure7_three_to_one_to_one(backend, tmp_path, prom):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "istio-experiment", repo)
    manifest = next(repo.glob("*.yaml"))
    manifest.write_text(manifest.read_text().replace("http://prometheus.istio-system.svc.cluster.local:9090", prom.url))
    assert run(backend, repo, 0) == {"mock-server-stable": 100, "mock-server-canary": 0}
    manifest.write_text(manifest.read_text().replace("mock-go-server:1.0.0", "mock-go-server:2.0.0"))
    experiment = revision2_experiment()

    # the experiment starts: its ReplicaSets and Services are created, no weight while no pod is up
    assert run(backend, repo, 60) == {"mock-server-stable": 100, "mock-server-canary": 0}
    for template in ("stable", "canary"):
        rs = live(backend, "ReplicaSet", f"{experiment}-{template}")
        assert rs["spec"]["replicas"] == 1
        svc = live(backend, "Service", f"mock-server-experiment-{template}")
        assert svc["spec"]["selector"][HASH] == rs["metadata"]["labels"][HASH]
    images = {rs: live(backend, "ReplicaSet", f"{experiment}-{rs}")["spec"]["template"]["spec"]["containers"][0]["image"] for rs in ("stable", "canary")}
    assert images == {"stable": "ghcr.io/ssup2/mock-go-server:1.0.0", "canary": "ghcr.io/ssup2/mock-go-server:2.0.0"}

    # its pods are available: 3:1:1, read back from the VirtualService (the seed's `kubectl describe`)
    three_one_one = {"mock-server-stable": 60, "mock-server-canary": 0, "mock-server-experiment-stable": 20, "mock-server-experiment-canary": 20}
    assert run(backend, repo, 70) == three_one_one
    view = get_view(backend, NAME, at(71))
    assert (view["step"], view["setWeight"], view["actualWeight"]) == (0, 0, 0)
    [shown] = view["experiments"]
    assert shown["name"] == experiment and shown["status"] == "Running"
    assert {t["name"]: (t["weight"], t["actualWeight"]) for t in shown["templates"]} == {"stable": (20, 20), "canary": (20, 20)}  # read back
    assert [r["name"] for r in shown["analysisRuns"]] == [f"{experiment}-stable-canary-comparison"]

    # the analysis measures the experiment's ReplicaSets every 30 s; the weights hold for 2 minutes
    for seconds in (100, 130, 160, 189):
        assert run(backend, repo, seconds) == three_one_one, seconds
    view = get_view(backend, NAME, at(189))
    assert view["experiments"][0]["analysisRuns"][0]["status"] == "Successful"
    text = cli(backend, "get", "rollout", NAME, now=at(189)).stdout
    assert f"Σ {experiment}" in text and f"α {experiment}-stable-canary-comparison" in text and "✔ 6" in text

    # two minutes after the pods came up: Successful, its weights leave the route, the rollout moves
    # to setWeight 20 (weight 0 until the canary pod is up), then 4:1
    assert run(backend, repo, 190) == {"mock-server-stable": 100, "mock-server-canary": 0}
    for template in ("stable", "canary"):
        assert live(backend, "ReplicaSet", f"{experiment}-{template}")["spec"]["replicas"] == 0
    view = get_view(backend, NAME, at(191))
    assert (view["step"], view["setWeight"], view["experiments"][0]["status"]) == (1, 20, "Successful")
    assert run(backend, repo, 200) == {"mock-server-stable": 80, "mock-server-canary": 20}


def test_abort_during_the_experiment_takes_its_weights_off_first(backend, tmp_path, prom):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "istio-experiment", repo)
    manifest = next(repo.glob("*.yaml"))
    manifest.write_text(manifest.read_text().replace("http://prometheus.istio-system.svc.cluster.local:9090", prom.url))
    run(backend, repo, 0)
    manifest.write_text(manifest.read_text().replace("mock-go-server:1.0.0", "mock-go-server:2.0.0"))
    run(backend, repo, 60)
    assert run(backend, repo, 70)["mock-server-experiment-stable"] == 20
    assert cli(backend, "abort", NAME).returncode == 0
    assert run(backend, repo, 80, code=1) == {"mock-server-stable": 100, "mock-server-canary": 0}
    experiment = revision2_experiment()
    assert {live(backend, "ReplicaSet", f"{experiment}-{t}")["spec"]["replicas"] for t in ("stable", "canary")} == {0}
