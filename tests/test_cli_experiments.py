"""Canary experiment steps through the CLI, on the embedded cluster and the kube backend (the API
emulator): the template-named ReplicaSets come up with the right images, stay for the duration
(judged by --now across runs) and are scaled to 0 after it, and only then does the rollout move on."""

import json
import textwrap

import pytest

from tests.backends import cli, get_view

pytestmark = pytest.mark.slow

ROLLOUT = textwrap.dedent("""\
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata:
      name: web
    spec:
      replicas: 4
      selector:
        matchLabels:
          app: web
      strategy:
        canary:
          steps:
          - experiment:
              duration: 30s
              templates:
              - name: baseline
                specRef: stable
              - name: canary
                specRef: canary
          - setWeight: 50
          - pause: {}
      template:
        metadata:
          labels:
            app: web
        spec:
          containers:
          - name: web
            image: example/web:1.0
            ports:
            - containerPort: 8080
    """)


def at(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"2026-01-01T00:{minutes:02d}:{secs:02d}Z"


def experiment_replicasets(backend, now) -> dict:
    """name -> (spec replicas, images), read from the cluster itself."""
    from reconciler.engine.experiment_spec import EXPERIMENT_LABEL

    found = {}
    for rs in backend.cluster().list("ReplicaSet", "default"):
        if EXPERIMENT_LABEL in (rs["metadata"].get("labels") or {}):
            containers = rs["spec"]["template"]["spec"]["containers"]
            found[rs["metadata"]["name"].rsplit("-", 1)[-1]] = (rs["spec"]["replicas"], [c["image"] for c in containers])
    return found


def test_experiment_step_holds_the_rollout_for_its_duration(backend, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "web.yaml").write_text(ROLLOUT)
    assert cli(backend, "run", str(repo), now=at(0)).returncode == 0
    (repo / "web.yaml").write_text(ROLLOUT.replace("example/web:1.0", "example/web:2.0"))

    # the new revision enters step 0: the experiment's ReplicaSets are created in this run
    assert cli(backend, "run", str(repo), now=at(60)).returncode == 0
    assert experiment_replicasets(backend, at(60)) == {"baseline": (1, ["example/web:1.0"]), "canary": (1, ["example/web:2.0"])}
    view = get_view(backend, "web", at(61))
    assert (view["step"], view["setWeight"]) == (0, 0)
    [experiment] = view["experiments"]
    revision2_hash = experiment["name"].split("-")[1]
    assert experiment["name"] == f"web-{revision2_hash}-2-0" and experiment["revision"] == 2
    assert sorted(rs["name"] for rs in experiment["replicaSets"]) == [f"web-{revision2_hash}-2-0-baseline", f"web-{revision2_hash}-2-0-canary"]
    images = {i["image"]: i["tags"] for i in view["images"]}
    assert images == {"example/web:1.0": ["stable", "Σ:baseline"], "example/web:2.0": ["Σ:canary"]}

    # pods seen available: the experiment runs, its 30 s start now; the rollout waits at step 0
    cli(backend, "run", str(repo), now=at(70))
    view = get_view(backend, "web", at(71))
    assert view["experiments"][0]["status"] == "Running" and view["experiments"][0]["availableAt"] == at(70)
    for moment in (80, 99):
        cli(backend, "run", str(repo), now=at(moment))
        view = get_view(backend, "web", at(moment))
        assert (view["step"], view["setWeight"], view["experiments"][0]["status"]) == (0, 0, "Running"), moment
        assert experiment_replicasets(backend, at(moment)) == {"baseline": (1, ["example/web:1.0"]), "canary": (1, ["example/web:2.0"])}

    # 30 s after the pods came up: Successful, its ReplicaSets go to 0, and the rollout moves on
    proc = cli(backend, "run", str(repo), "-o", "json", now=at(100))
    assert proc.returncode == 0, proc.stderr
    assert experiment_replicasets(backend, at(100)) == {"baseline": (0, ["example/web:1.0"]), "canary": (0, ["example/web:2.0"])}
    view = get_view(backend, "web", at(101))
    assert (view["step"], view["setWeight"]) == (1, 50)
    assert view["experiments"][0]["status"] == "Successful"
    assert {rs["status"] for rs in view["experiments"][0]["replicaSets"]} == {"ScaledDown"}
    report = json.loads(proc.stdout)
    events = [e["reason"] for r in report["rollouts"] for e in r["plan"]["events"]]
    assert "ExperimentSuccessful" in events and "RolloutStepCompleted" in events

    # then the rest of the steps as usual: 50 %, then the pause waits for a promote
    cli(backend, "run", str(repo), now=at(110))
    cli(backend, "run", str(repo), now=at(120))
    view = get_view(backend, "web", at(121))
    assert (view["status"], view["step"], view["setWeight"]) == ("Paused", 2, 50)
    text = cli(backend, "get", "rollout", "web", now=at(121)).stdout
    assert f"Σ web-{revision2_hash}-2-0 " in text and "Successful" in text


def test_abort_during_the_experiment_scales_it_down(backend, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "web.yaml").write_text(ROLLOUT)
    cli(backend, "run", str(repo), now=at(0))
    (repo / "web.yaml").write_text(ROLLOUT.replace("example/web:1.0", "example/web:2.0"))
    cli(backend, "run", str(repo), now=at(60))
    cli(backend, "run", str(repo), now=at(70))
    assert cli(backend, "abort", "web").returncode == 0
    proc = cli(backend, "run", str(repo), now=at(75))
    assert proc.returncode == 1  # aborted in this run
    assert experiment_replicasets(backend, at(75)) == {"baseline": (0, ["example/web:1.0"]), "canary": (0, ["example/web:2.0"])}
    view = get_view(backend, "web", at(76))
    assert view["status"] == "Degraded" and view["experiments"][0]["status"] == "Successful" and view["experiments"][0]["terminated"]
