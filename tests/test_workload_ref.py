"""workloadRef (seed 003): the pod template comes from the Deployment (source or cluster), a
Deployment image bump is a new revision whose canary ReplicaSet carries the new image, a missing
Deployment or one with both template and workloadRef is a finding (never an empty ReplicaSet),
and `scaleDown` scales the Deployment as Argo defines it."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import yaml

from reconciler.engine import workload
from reconciler.engine.model import Desired, Live
from reconciler.engine.plan import plan
from reconciler.engine.state import RolloutState
from tests.backends import LocalBackend, cli, get_view
from tests.conftest import FIXTURES
from tests.test_engine_plan import T0, apply

NAME = "rollouts-demo"


def at(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"2026-01-01T00:{minutes:02d}:{secs:02d}Z"


def deployment(image="argoproj/rollouts-demo:blue", replicas=3):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default", "resourceVersion": "1"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}}}


def referencing(scale_down=None, steps=None):
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    if scale_down:
        ref["scaleDown"] = scale_down
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 3, "workloadRef": ref, "strategy": {"canary": {"steps": steps if steps is not None else [{"setWeight": 50}, {"pause": {}}]}}}}


def test_resolve_takes_template_and_selector_from_the_deployment():
    resolved, problem = workload.resolve(referencing(), deployment())
    assert problem == "" and resolved["spec"]["template"]["spec"]["containers"][0]["image"] == "argoproj/rollouts-demo:blue"
    assert resolved["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    _, problem = workload.resolve(referencing(), None)
    assert problem == "Deployment default/web (spec.workloadRef) is neither in the source nor in the cluster"


def test_an_unresolved_workload_ref_plans_no_replicaset():
    result = plan(Desired(referencing()), Live(), RolloutState(), T0)
    assert result.actions == [] and result.status == "Degraded" and result.message.startswith("InvalidSpec:")


@pytest.mark.parametrize("mode,expected", [
    ("never", [3, 3, 3]),
    ("onsuccess", [3, 3, 0]),
    ("progressively", [3, 1, 0]),
])
def test_scale_down_modes(mode, expected):
    """Deployment replicas after: the first run (rollout pods not yet available), the next run
    (2 of 3 available), the run after (Healthy)."""
    dep = deployment()
    rollout = referencing(mode)
    resolved, _ = workload.resolve(rollout, dep)
    state, replicasets, seen = RolloutState(), [], []
    for index in range(3):
        now = T0 + timedelta(seconds=10 * index)
        result = plan(Desired(resolved), Live(replicasets=replicasets, workload=dep), state, now)
        replicasets = apply(replicasets, result, now)
        if index == 0:  # pods ready at once in `apply`; make the second run see 2 of 3 available
            replicasets[0]["status"]["availableReplicas"] = 2
        for action in result.actions:
            if action.kind == "Deployment":
                dep = action.after
        seen.append(dep["spec"]["replicas"])
        state = result.state
        if index == 1:
            replicasets[0]["status"]["availableReplicas"] = 3
    assert seen == expected
    if mode != "never":
        assert dep["metadata"]["annotations"][workload.ORIGINAL_REPLICAS] == "3"
        kept = workload.carry_scaled_replicas("Deployment", dep, deployment(image="argoproj/rollouts-demo:yellow"))
        assert kept["spec"]["replicas"] == seen[-1] and kept["spec"]["template"]["spec"]["containers"][0]["image"].endswith("yellow")


def test_seed003_deployment_image_bump_gives_a_canary_replicaset_with_the_new_image(tmp_path):
    backend = LocalBackend(tmp_path / "cluster")
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "istio-canary", repo)
    assert cli(backend, "run", str(repo), now=at(0)).returncode == 0
    view = get_view(backend, NAME, at(1))
    assert (view["status"], view["actualWeight"]) == ("Healthy", 100)
    assert [i["image"] for i in view["images"]] == ["argoproj/rollouts-demo:blue"]
    [rs] = backend.cluster().list("ReplicaSet", "default")
    assert rs["spec"]["template"]["spec"]["containers"][0]["image"] == "argoproj/rollouts-demo:blue"
    assert rs["spec"]["template"]["metadata"]["labels"]["istio-injection"] == "enabled"  # the Deployment's pod template
    services = {s["metadata"]["name"]: s["spec"]["selector"] for s in backend.cluster().list("Service", "default")}
    assert services["rollouts-demo"]["rollouts-pod-template-hash"] == services["rollouts-demo-canary"]["rollouts-pod-template-hash"]

    path = repo / "deployments.yaml"
    path.write_text(path.read_text().replace("argoproj/rollouts-demo:blue", "argoproj/rollouts-demo:yellow"))  # kubectl set image, in Git
    cli(backend, "run", str(repo), now=at(10))
    cli(backend, "run", str(repo), now=at(20))
    view = get_view(backend, NAME, at(21))
    assert (view["status"], view["step"], view["setWeight"], view["actualWeight"]) == ("Paused", 1, 5, 5)
    by_revision = {rs["revision"]: rs for rs in view["replicaSets"]}
    assert by_revision[2]["tags"] == ["canary"] and by_revision[1]["tags"] == ["stable"]
    images = {i["image"]: i["tags"] for i in view["images"]}
    assert images == {"argoproj/rollouts-demo:yellow": ["canary"], "argoproj/rollouts-demo:blue": ["stable"]}
    vs = yaml.safe_load((backend.dir / "default" / "VirtualService" / f"{NAME}.yaml").read_text())
    assert [(d["destination"]["host"], d["weight"]) for d in vs["spec"]["http"][0]["route"]] == [("rollouts-demo", 95), ("rollouts-demo-canary", 5)]
    deployment_live = backend.cluster().get("Deployment", "default", NAME)
    assert deployment_live["spec"]["replicas"] == 1  # scaleDown: never (the default) leaves it


def test_a_missing_deployment_is_a_finding_and_no_replicaset(tmp_path):
    backend = LocalBackend(tmp_path / "cluster")
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "istio-canary", repo)
    (repo / "deployments.yaml").unlink()
    proc = cli(backend, "run", str(repo), now=at(0))
    assert proc.returncode == 1 and "spec.workloadRef.name" in proc.stdout + proc.stderr
    assert backend.cluster().list("ReplicaSet", "default") == []


@pytest.mark.parametrize("mode,scaled", [("never", 1), ("onsuccess", 0), ("progressively", 0)])
def test_scale_down_modes_through_the_cli(tmp_path, mode, scaled):
    """scaleDown on the embedded cluster: the Deployment from Git is scaled to 0 once the Rollout
    serves (onsuccess / progressively), and a later Git edit of the Deployment (an image bump)
    starts a new revision without bringing the Deployment's pods back."""
    backend = LocalBackend(tmp_path / "cluster")
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "istio-canary", repo)
    rollout = repo / "rollout.yaml"
    rollout.write_text(rollout.read_text().replace("    kind: Deployment\n    name: rollouts-demo\n", f"    kind: Deployment\n    name: rollouts-demo\n    scaleDown: {mode}\n"))
    assert "scaleDown: " + mode in rollout.read_text()
    for second in (0, 10, 20):
        assert cli(backend, "run", str(repo), now=at(second)).returncode == 0
    assert get_view(backend, NAME, at(21))["status"] == "Healthy"
    assert backend.cluster().get("Deployment", "default", NAME)["spec"]["replicas"] == scaled

    path = repo / "deployments.yaml"
    path.write_text(path.read_text().replace("argoproj/rollouts-demo:blue", "argoproj/rollouts-demo:yellow"))
    for second in (30, 40):
        assert cli(backend, "run", str(repo), now=at(second)).returncode == 0
    deployment_live = backend.cluster().get("Deployment", "default", NAME)
    assert deployment_live["spec"]["template"]["spec"]["containers"][0]["image"] == "argoproj/rollouts-demo:yellow"
    assert deployment_live["spec"]["replicas"] == scaled  # the Git edit did not scale the Deployment back up
    view = get_view(backend, NAME, at(41))
    assert view["revision"] == 2 and view["status"] == "Paused"
