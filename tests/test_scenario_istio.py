"""Seed 002 figure 5 (manifest 13, host-level VirtualService) and figure 8 (manifest 16,
DestinationRule subsets) driven through the CLI on each backend (the embedded cluster and the
kube API emulator). After every run the weights are read back from the cluster's VirtualService
(on the embedded cluster: its YAML file): 80/20 after the update, 60/40 after a promote, 100/0
after the last promote or an abort; no route ever gives weight to a ReplicaSet without an
available pod, every route sums to 100, and the stable keeps its 5 pods throughout."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.backends import cli, get_view
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow
NAME = "mock-server"
HASH = "rollouts-pod-template-hash"


def at(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"2026-01-01T00:{minutes:02d}:{secs:02d}Z"


def live(backend, kind, name=NAME):
    if backend.name == "local":  # the file a person reads
        path = backend.dir / "default" / kind / f"{name}.yaml"
        return yaml.safe_load(path.read_text()) if path.exists() else None
    return backend.cluster().get(kind, "default", name)


def route_weights(backend, subsets: bool) -> dict:
    vs = live(backend, "VirtualService")
    [route] = vs["spec"]["http"]
    return {(d["destination"]["subset"] if subsets else d["destination"]["host"]): d.get("weight", 0) for d in route["route"]}


def replicasets(backend) -> dict:
    cluster = backend.cluster()
    return {rs["metadata"]["labels"][HASH]: rs for rs in cluster.list("ReplicaSet", "default")}


def check_safety(backend, subsets: bool) -> tuple[int, int]:
    """(stable weight, canary weight) as the cluster has them, after checking rule 7 on them."""
    weights = route_weights(backend, subsets)
    assert sum(weights.values()) == 100, weights
    by_hash = replicasets(backend)
    if subsets:
        dr = live(backend, "DestinationRule")
        targets = {s["name"]: s["labels"].get(HASH) for s in dr["spec"]["subsets"]}
        stable_w, canary_w = weights["stable"], weights["canary"]
    else:
        targets = {role: live(backend, "Service", f"{NAME}-{role}")["spec"]["selector"].get(HASH) for role in ("stable", "canary")}
        stable_w, canary_w = weights[f"{NAME}-stable"], weights[f"{NAME}-canary"]
    for role, weight in (("stable", stable_w), ("canary", canary_w)):
        if weight > 0:
            rs = by_hash[targets[role]]
            assert int((rs.get("status") or {}).get("availableReplicas") or 0) > 0, f"{role} weight {weight} on a ReplicaSet with no available pod"
    return stable_w, canary_w


def run(backend, repo, seconds, subsets, code=0):
    proc = cli(backend, "run", str(repo), now=at(seconds))
    assert proc.returncode == code, proc.stdout + proc.stderr
    return check_safety(backend, subsets)


def repo_for(tmp_path, fixture):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / fixture, repo)
    manifest = next(repo.glob("*.yaml"))
    return repo, manifest


def update(manifest):
    manifest.write_text(manifest.read_text().replace("mock-go-server:1.0.0", "mock-go-server:2.0.0"))


def pods_per_revision(view) -> list[tuple[int, int, list]]:
    return [(rs["revision"], rs["replicas"], rs["tags"]) for rs in view["replicaSets"] if rs["replicas"]]


VARIANTS = [("istio-virtualservice", False), ("istio-destinationrule", True)]


@pytest.mark.parametrize("fixture,subsets", VARIANTS, ids=["host-level", "destinationrule"])
def test_seed002_figure5_weights_read_back_after_every_run(backend, tmp_path, fixture, subsets):
    repo, manifest = repo_for(tmp_path, fixture)
    stable, canary = (("stable", "canary") if subsets else (f"{NAME}-stable", f"{NAME}-canary"))
    assert run(backend, repo, 0, subsets) == (100, 0)
    view = get_view(backend, NAME, at(1))
    assert (view["status"], view["step"], view["setWeight"], view["actualWeight"]) == ("Healthy", 5, 100, 100)
    if subsets:  # both subsets select revision 1 (seed 002 figure 8)
        assert {s["labels"][HASH] for s in live(backend, "DestinationRule")["spec"]["subsets"]} == {view["replicaSets"][0]["podTemplateHash"]}

    update(manifest)
    assert run(backend, repo, 60, subsets) == (100, 0)  # the canary pod is not available yet: no weight
    assert run(backend, repo, 70, subsets) == (80, 20)
    view = get_view(backend, NAME, at(71))
    assert (view["status"], view["message"], view["step"], view["setWeight"], view["actualWeight"]) == ("Paused", "CanaryPauseStep", 1, 20, 20)
    assert view["replicas"] == {"desired": 5, "current": 6, "updated": 1, "ready": 6, "available": 6}
    assert pods_per_revision(view) == [(2, 1, ["canary"]), (1, 5, ["stable"])]
    version = live(backend, "VirtualService")["metadata"]["resourceVersion"]
    assert run(backend, repo, 80, subsets) == (80, 20)  # idle: nothing rewritten
    assert live(backend, "VirtualService")["metadata"]["resourceVersion"] == version

    assert cli(backend, "promote", NAME).returncode == 0
    assert run(backend, repo, 90, subsets) == (80, 20)  # the second canary pod first
    assert run(backend, repo, 100, subsets) == (60, 40)
    view = get_view(backend, NAME, at(101))
    assert (view["status"], view["step"], view["setWeight"], view["actualWeight"]) == ("Paused", 3, 40, 40)
    assert view["replicas"]["current"] == 7 and pods_per_revision(view) == [(2, 2, ["canary"]), (1, 5, ["stable"])]

    assert cli(backend, "promote", NAME).returncode == 0
    seconds, weights = 110, []
    while True:
        weights.append(run(backend, repo, seconds, subsets))
        view = get_view(backend, NAME, at(seconds + 1))
        if view["status"] == "Healthy":
            break
        assert pods_per_revision(view)[-1] == (1, 5, ["stable"])  # with a router the stable keeps its 5 pods
        seconds += 10
        assert seconds < 200
    assert weights[-1] == (100, 0) and (0, 100) in weights
    assert (view["step"], view["setWeight"], view["actualWeight"]) == (5, 100, 100)
    new_hash = view["replicaSets"][0]["podTemplateHash"]
    if subsets:
        assert {s["name"]: s["labels"][HASH] for s in live(backend, "DestinationRule")["spec"]["subsets"]} == {"stable": new_hash, "canary": new_hash}
    else:
        assert live(backend, "Service", f"{NAME}-stable")["spec"]["selector"][HASH] == new_hash
    # the old ReplicaSet keeps its pods scaleDownDelaySeconds (30s) after the weights moved
    assert replicasets(backend)[view["replicaSets"][1]["podTemplateHash"]]["spec"]["replicas"] == 5
    assert run(backend, repo, seconds + 31, subsets) == (100, 0)
    assert replicasets(backend)[view["replicaSets"][1]["podTemplateHash"]]["spec"]["replicas"] == 0
    view = get_view(backend, NAME, at(seconds + 32))
    assert [i["image"] for i in view["images"]] == ["ghcr.io/ssup2/mock-go-server:2.0.0"]  # as the seed shows it
    assert view["replicas"] == {"desired": 5, "current": 5, "updated": 5, "ready": 5, "available": 5}
    assert route_weights(backend, subsets) == {stable: 100, canary: 0}


@pytest.mark.parametrize("fixture,subsets", VARIANTS, ids=["host-level", "destinationrule"])
def test_abort_sets_100_0_to_stable_at_once(backend, tmp_path, fixture, subsets):
    repo, manifest = repo_for(tmp_path, fixture)
    run(backend, repo, 0, subsets)
    update(manifest)
    run(backend, repo, 60, subsets)
    assert run(backend, repo, 70, subsets) == (80, 20)
    assert cli(backend, "abort", NAME).returncode == 0
    assert run(backend, repo, 80, subsets, code=1) == (100, 0)  # Degraded in this run: exit 1
    view = get_view(backend, NAME, at(81))
    assert (view["status"], view["step"], view["setWeight"], view["actualWeight"]) == ("Degraded", 0, 0, 0)
    assert pods_per_revision(view) == [(2, 1, ["canary"]), (1, 5, ["stable"])]  # abortScaleDownDelaySeconds: 30s
    assert view["replicaSets"][0]["scaleDownDeadline"] == at(110)
    assert run(backend, repo, 111, subsets) == (100, 0)
    assert pods_per_revision(get_view(backend, NAME, at(112))) == [(1, 5, ["stable"])]


def test_externally_changed_virtualservice_pauses_and_view_reads_it_back(tmp_path):
    from tests.backends import LocalBackend

    backend = LocalBackend(tmp_path / "cluster")
    repo, manifest = repo_for(tmp_path, "istio-virtualservice")
    run(backend, repo, 0, False)
    update(manifest)
    run(backend, repo, 60, False)
    run(backend, repo, 70, False)
    path = backend.dir / "default" / "VirtualService" / f"{NAME}.yaml"
    vs = yaml.safe_load(path.read_text())
    vs["spec"]["http"][0]["route"][0]["weight"], vs["spec"]["http"][0]["route"][1]["weight"] = 50, 50
    path.write_text(yaml.safe_dump(vs))  # someone edits the live object
    view = get_view(backend, NAME, at(71))
    assert (view["status"], view["actualWeight"]) == ("Paused", 50) and view["message"].startswith("TrafficRoutingChanged:")
    assert cli(backend, "promote", NAME).returncode == 0
    proc = cli(backend, "run", str(repo), now=at(80))
    assert "TrafficRoutingChanged" in proc.stdout + proc.stderr
    assert route_weights(backend, False) == {f"{NAME}-stable": 50, f"{NAME}-canary": 50}  # not overwritten
    assert get_view(backend, NAME, at(81))["step"] == 1

    path.unlink()  # deleted: Degraded, no number
    view = get_view(backend, NAME, at(82))
    assert (view["status"], view["actualWeight"]) == ("Degraded", None)
    assert "VirtualService default/mock-server not found" in view["message"]


def test_header_route_survives_the_git_kept_virtualservice(backend, tmp_path):
    """The VirtualService is in Git; a setHeaderRoute step inserts a route into the live one. The
    next run must neither revert that route as drift nor re-apply Git's copy over it: before the
    engine recorded the routes it inserted, every run removed the route and added it back, and the
    step never completed (the rollout stayed at step 1 for ever)."""
    repo, manifest = repo_for(tmp_path, "istio-virtualservice")
    text = manifest.read_text()
    text = text.replace("      - setWeight: 20\n      - pause: {}\n      - setWeight: 40\n",
                        "      - setWeight: 20\n      - setHeaderRoute:\n          name: canary-header\n          match:\n"
                        "          - headerName: X-Canary\n            headerValue: {exact: \"yes\"}\n      - pause: {}\n      - setWeight: 40\n")
    text = text.replace("            routes:\n            - primary\n", "            routes:\n            - primary\n        managedRoutes:\n        - name: canary-header\n")
    manifest.write_text(text)

    def routes():
        return [r.get("name") for r in live(backend, "VirtualService")["spec"]["http"]]

    assert cli(backend, "run", str(repo), now=at(0)).returncode == 0
    update(manifest)
    seen = []
    for second in range(60, 160, 10):
        proc = cli(backend, "run", str(repo), now=at(second))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "VirtualService default/mock-server (replaced)" not in proc.stdout, proc.stdout  # no revert of the header route
        view = get_view(backend, NAME, at(second + 1))
        seen.append((view["step"], view["status"], routes()))
    assert (2, "Paused", ["canary-header", "primary"]) in seen, seen  # the header step completed; the pause holds
    assert seen[-1] == (2, "Paused", ["canary-header", "primary"]), seen

    # a person's Git edit of the VirtualService during the step keeps the header route and the weights
    vs_file = next(p for p in repo.glob("*.yaml") if "kind: VirtualService" in p.read_text())
    vs_file.write_text(vs_file.read_text().replace("  - name: primary\n", "  - name: primary\n    timeout: 5s\n", 1))
    proc = cli(backend, "run", str(repo), now=at(200))
    assert proc.returncode == 0 and "VirtualService default/mock-server (replaced)" in proc.stdout, proc.stdout
    assert routes() == ["canary-header", "primary"] and live(backend, "VirtualService")["spec"]["http"][1].get("timeout") == "5s"

    assert cli(backend, "promote", NAME, "--full").returncode == 0
    for second in range(210, 300, 10):
        cli(backend, "run", str(repo), now=at(second))
    view = get_view(backend, NAME, at(301))
    assert view["status"] == "Healthy" and routes() == ["primary"]
