"""DESIGN rule 7 as a property: random sequences of image changes (some crash, some are slow to
become ready), step lists, promote/abort/retry/undo and gaps between runs, driven through the real
engine and the embedded cluster (`run_once` in-process, a few runs through the CLI); after every
run, and after every write inside a run, no Service selector and no route weight points at a
ReplicaSet without available pods while another revision has some (tests/traffic_invariant.py).

Examples per test: TRAFFIC_PROPERTY_EXAMPLES (default 25; a long campaign sets it to thousands).
Failing examples found so far are kept below as @example regression cases.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from tests.rollout_harness import Harness, rollout
from tests.traffic_invariant import CheckingCluster, violations

EXAMPLES = int(os.environ.get("TRAFFIC_PROPERTY_EXAMPLES", "25"))
KUBELET = {"crash": ["bad:*"], "readyAfterSeconds": {"slow:*": 20}}

images = st.builds(lambda kind, n: f"{kind}:{n}", st.sampled_from(["app", "app", "slow", "bad"]), st.integers(1, 3))
canary_step = st.one_of(
    st.integers(0, 100).map(lambda w: {"setWeight": w}),
    st.sampled_from([{"pause": {}}, {"pause": {"duration": "10s"}}, {"pause": {"duration": "1s"}}]),
)
operation = st.one_of(
    images.map(lambda image: ("image", image)),
    st.sampled_from([("run",), ("run",), ("run",), ("promote",), ("promote-full",), ("abort",), ("retry",), ("undo",)]),
)
gaps = st.sampled_from([1, 5, 15, 30, 120])


@st.composite
def scenarios(draw):
    strategy = draw(st.sampled_from(["canary", "bluegreen"]))
    extra = {}
    if strategy == "canary":
        extra["steps"] = draw(st.lists(canary_step, max_size=5))
    else:
        extra["autoPromotionEnabled"] = draw(st.booleans())
        if draw(st.booleans()):
            extra["previewReplicaCount"] = draw(st.integers(1, 3))
        extra["scaleDownDelaySeconds"] = draw(st.sampled_from([0, 10, 30]))
    return {
        "strategy": strategy,
        "replicas": draw(st.integers(1, 6)),
        "first": draw(images),
        "extra": extra,
        "ops": draw(st.lists(st.tuples(operation, gaps), min_size=2, max_size=14)),
    }


def drive(tmp_path, scenario) -> list[str]:
    """Play the scenario; return every violation seen (empty: the invariant held throughout)."""
    extra = dict(scenario["extra"])
    steps = extra.pop("steps", None)
    h = Harness(tmp_path, strategy=scenario["strategy"], replicas=scenario["replicas"], steps=steps, image=scenario["first"],
                kubelet=KUBELET, **extra)
    history = [scenario["first"]]
    found: list[str] = []
    now = 0

    def run():
        desired = rollout(h.strategy, h.image, h.replicas, h.steps, h.services, **h.extra)
        checking = CheckingCluster(h.cluster(now), desired)
        h.run(now, cluster=checking)
        found.extend(f"t={now}s {problem}" for problem in checking.found)
        found.extend(f"t={now}s after the run: {problem}" for problem in violations(h.cluster(now), desired, checking.known_serving))

    run()
    for (op, *args), gap in scenario["ops"]:
        now += gap
        if op == "image":
            h.set_image(args[0])
            if history[-1] != args[0]:
                history.append(args[0])
        elif op == "undo" and len(history) > 1:
            history.append(history[-2])
            h.set_image(history[-1])
        elif op in ("promote", "promote-full", "abort", "retry") and h.state():
            h.gate(op.removesuffix("-full"), full=op == "promote-full")
        run()
        if found:
            break
    return found


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios())
# Regression cases: each was a violation before the engine kept selectors on ReplicaSets with pods.
@example(scenario={"strategy": "canary", "replicas": 5, "first": "app:1",
                   "extra": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 40}, {"pause": {"duration": "30s"}}, {"setWeight": 100}]},
                   "ops": [(("image", "app:2"), 5), (("run",), 5), (("promote",), 5)] + [(("run",), 15)] * 8})
# A preview that served alone (the active revision still starting) was scaled down while the active
# Service stayed on the revision without pods: found by a 300-example campaign.
@example(scenario={"strategy": "bluegreen", "replicas": 1, "first": "slow:1", "extra": {"autoPromotionEnabled": False, "scaleDownDelaySeconds": 0},
                   "ops": [(("image", "app:1"), 1), (("image", "app:2"), 1)]})
def test_no_selector_or_weight_points_at_a_replicaset_without_pods(tmp_path_factory, scenario):
    found = drive(tmp_path_factory.mktemp("traffic"), scenario)
    assert not found, "\n".join(found[:5])


def test_seed_002_canary_through_the_cli(tmp_path):
    """The reported case: seed 002's canary (5 replicas, canaryService + stableService, steps
    20 / pause {} / 40 / pause 30s / 100) through the CLI; the stable Service selected a ReplicaSet
    with 0 pods for two runs at the 100 % step."""
    import shutil

    from reconciler.cluster.local import LocalCluster
    from tests.conftest import FIXTURES

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "mock-server-canary", repo)
    manifest = next(repo.glob("*.yaml"))
    desired = None
    cluster_dir = tmp_path / "cluster"

    def cli(*args, now=None):
        command = [sys.executable, "-m", "reconciler", *args, "--cluster", f"local:{cluster_dir}"] + (["--now", now] if now else [])
        proc = subprocess.run(command, capture_output=True, text=True, cwd=str(ROOT), timeout=60)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    import yaml

    def check(now):
        nonlocal desired
        desired = next(d for d in yaml.safe_load_all(manifest.read_text()) if d and d.get("kind") == "Rollout")
        return violations(LocalCluster(cluster_dir, now=_at(now)), desired)

    seen = []
    cli("run", str(repo), now=_iso(0))
    manifest.write_text(manifest.read_text().replace("mock-go-server:1.0.0", "mock-go-server:2.0.0"))
    for t in range(10, 200, 10):
        if t == 40:
            assert cli("promote", "mock-server").returncode == 0
        cli("run", str(repo), now=_iso(t))
        seen += [f"t={t}: {v}" for v in check(t)]
    assert not seen, "\n".join(seen)
    view = subprocess.run([sys.executable, "-m", "reconciler", "get", "rollout", "mock-server", "-o", "json", "--cluster", f"local:{cluster_dir}",
                           "--now", _iso(200)], capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    assert '"status": "Healthy"' in view.stdout


def _at(seconds):
    from datetime import timedelta

    from tests.rollout_harness import T0

    return T0 + timedelta(seconds=seconds)


def _iso(seconds):
    return _at(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("strategy", ["canary", "bluegreen"])
def test_checker_sees_a_selector_on_a_replicaset_without_pods(tmp_path, strategy):
    """The checker itself can fail: a Service hand-pointed at a crashing revision is a violation."""
    h = Harness(tmp_path, strategy=strategy, kubelet=KUBELET, image="app:1", autoPromotionEnabled=False) if strategy == "bluegreen" else Harness(
        tmp_path, strategy=strategy, kubelet=KUBELET, image="app:1")
    h.run(0)
    h.set_image("bad:1")
    h.run(10)
    desired = rollout(h.strategy, h.image, h.replicas, h.steps, h.services, **h.extra)
    cluster = h.cluster(20)
    bad = next(rs for rs in cluster.list("ReplicaSet", "default") if rs["spec"]["template"]["spec"]["containers"][0]["image"] == "bad:1")
    name = h.service_names()[0]
    svc = cluster.get("Service", "default", name)
    svc["spec"]["selector"]["rollouts-pod-template-hash"] = bad["metadata"]["labels"]["rollouts-pod-template-hash"]
    cluster.replace(svc)
    assert violations(h.cluster(20), desired)


def _selector_revisions(h: Harness) -> dict[str, int]:
    by_hash = {rs["metadata"]["labels"]["rollouts-pod-template-hash"]: int(rs["metadata"]["annotations"]["rollout.argoproj.io/revision"])
               for rs in h.replicasets()}
    return {name: by_hash.get(pod_hash, 0) for name, pod_hash in h.selectors().items()}


@pytest.mark.parametrize("strategy", ["canary", "bluegreen"])
def test_a_new_selector_waits_for_available_pods(tmp_path, strategy):
    """canaryService / previewService stay on the serving revision while the new one's pods are
    not ready (slow:2 is ready 20 s after it starts), and move once they are."""
    h = Harness(tmp_path, strategy=strategy, kubelet=KUBELET, image="app:1")
    h.run(0)
    h.set_image("slow:2")
    h.run(10)
    other = "web-canary" if strategy == "canary" else "web-preview"
    assert _selector_revisions(h)[other] == 1
    h.run(20)
    assert _selector_revisions(h)[other] == 1
    h.run(31)
    assert _selector_revisions(h)[other] == 2


def test_a_crashing_canary_never_gets_a_selector(tmp_path):
    h = Harness(tmp_path, kubelet=KUBELET, image="app:1")
    h.run(0)
    h.set_image("bad:2")
    for t in (10, 20, 30, 700):
        h.run(t)
        assert _selector_revisions(h) == {"web-canary": 1, "web-stable": 1}


def test_at_100_percent_the_stable_service_stands_in_and_a_lost_state_still_knows_the_stable(tmp_path):
    """Seed 002's full step list ends `setWeight: 100` then `pause: {}`: the stable ReplicaSet is
    scaled to 0 while the rollout waits, so the stable Service serves the canary first, naming the
    stable revision in an annotation; a state lost there rebuilds to that pause, not to a promotion."""
    from reconciler.engine.rebuild import STABLE_STANDIN_ANNOTATION

    steps = [{"setWeight": 50}, {"setWeight": 100}, {"pause": {}}]
    h = Harness(tmp_path, steps=steps, image="app:1")
    h.run(0)
    h.set_image("app:2")
    for t in range(10, 200, 10):
        h.run(t)
        if h.state().get("step_index") == 2 and h.counts()[1][0] == 0:
            break
    assert h.state()["step_index"] == 2 and h.counts()[1] == (0, 0)
    assert _selector_revisions(h) == {"web-canary": 2, "web-stable": 2}
    stable_svc = h.cluster().get("Service", "default", "web-stable")
    assert stable_svc["metadata"]["annotations"][STABLE_STANDIN_ANNOTATION] == h.hash_of_revision(1)
    h.set_state(None)
    report = h.run(300)
    assert report.exit_code == 0
    state = h.state()
    assert state["stable_hash"] == h.hash_of_revision(1) and state["step_index"] == 2 and state["pause_reason"] == "CanaryPauseStep"
    h.gate("promote")
    h.run(310)
    h.run(320)
    assert h.state()["stable_hash"] == h.hash_of_revision(2)
    stable_svc = h.cluster().get("Service", "default", "web-stable")
    assert STABLE_STANDIN_ANNOTATION not in (stable_svc["metadata"].get("annotations") or {})


def test_selectors_move_before_the_replicaset_they_leave_is_scaled_down(tmp_path):
    """The plan's writes: Service selector changes come before any ReplicaSet scale-down."""
    h = Harness(tmp_path, steps=[{"setWeight": 100}], image="app:1")
    h.run(0)
    h.set_image("app:2")
    orders = []
    for t in range(10, 120, 10):
        report = h.run(t)
        kinds = [(a.kind, a.reason) for a in report.results[0].plan.actions]
        orders.append(kinds)
        services = [i for i, (kind, _) in enumerate(kinds) if kind == "Service"]
        downs = [i for i, (kind, reason) in enumerate(kinds) if kind == "ReplicaSet" and reason.startswith("scale down")]
        if services and downs:
            assert max(services) < min(downs), kinds
    assert any(kind == "Service" for order in orders for kind, _ in order)


def test_checker_reads_route_weights_from_virtualservices(tmp_path):
    """A weight > 0 on a Service (or DestinationRule subset) that selects a ReplicaSet without pods is
    a violation; weight 0 is not."""
    h = Harness(tmp_path, kubelet=KUBELET, image="app:1")
    h.run(0)
    h.set_image("bad:2")
    h.run(10)
    desired = rollout(h.strategy, h.image, h.replicas, h.steps, h.services, **h.extra)
    cluster = h.cluster(20)
    bad = next(rs["metadata"]["labels"]["rollouts-pod-template-hash"] for rs in cluster.list("ReplicaSet", "default")
               if rs["spec"]["template"]["spec"]["containers"][0]["image"] == "bad:2")
    assert not violations(cluster, desired)

    def vs(weight, subset=None):
        dest = {"host": "web-stable", **({"subset": subset} if subset else {})}
        return {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService", "metadata": {"name": "vs", "namespace": "default"},
                "spec": {"hosts": ["web"], "http": [{"route": [{"destination": dest, "weight": 100 - weight},
                                                               {"destination": {**dest, "host": "web-canary"}, "weight": weight}]}]}}

    canary = cluster.get("Service", "default", "web-canary")
    canary["spec"]["selector"]["rollouts-pod-template-hash"] = bad
    cluster.replace(canary)
    cluster.create(vs(0))
    assert [v for v in violations(cluster, desired) if "VirtualService" in v] == []
    current = cluster.get("VirtualService", "default", "vs")
    cluster.replace({**vs(20), "metadata": current["metadata"]})
    assert [v for v in violations(cluster, desired) if "VirtualService" in v]
