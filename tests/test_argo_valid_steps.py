"""Valid Argo YAML that validate used to refuse (issue 19, point 3), through the CLI.

Facts from Argo Rollouts (pkg/apis/rollouts/validation/validation.go):
- hasMultipleStepsType counts only setWeight, pause, experiment and analysis: a step holds at most
  one of those; setCanaryScale, setHeaderRoute, setMirrorRoute (and plugin) may go with one of them.
  Argo's e2e manifest test/e2e/apisix/rollout-apisix-canary-set-header.yaml has a step holding
  setCanaryScale, setHeaderRoute and pause.
- setHeaderRoute is accepted with trafficRouting istio, alb, apisix or plugins; setMirrorRoute with
  istio only; either needs its name in trafficRouting.managedRoutes.
- requireCanaryStableServices: an ALB canary with pingPong needs no canaryService/stableService;
  pingPong needs pingService and pongService, different from each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.backends import LocalBackend
from tests.fields_cli import CliRollout, service

ROOT = Path(__file__).resolve().parent.parent
NS = "default"


def rollout(canary: dict) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "app", "namespace": NS},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "app"}},
                 "template": {"metadata": {"labels": {"app": "app"}}, "spec": {"containers": [{"name": "app", "image": "app:1"}]}},
                 "strategy": {"canary": canary}},
    }


def virtual_service() -> dict:
    return {"apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService", "metadata": {"name": "app-vs", "namespace": NS},
            "spec": {"hosts": ["app"], "http": [{"name": "primary", "route": [
                {"destination": {"host": "app-stable"}, "weight": 100}, {"destination": {"host": "app-canary"}, "weight": 0}]}]}}


ISTIO = {"managedRoutes": [{"name": "header-route"}], "istio": {"virtualService": {"name": "app-vs", "routes": ["primary"]}}}
ALB = {"managedRoutes": [{"name": "header-route"}], "alb": {"ingress": "app-ingress", "rootService": "app-root", "servicePort": 8080}}
HEADER = {"name": "header-route", "match": [{"headerName": "trace", "headerValue": {"exact": "debug"}}]}


def validate(tmp_path: Path, *docs: dict) -> tuple[int, dict]:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "rollout.yaml").write_text(yaml.safe_dump_all(list(docs), sort_keys=False))
    done = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(repo), "-o", "json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def errors(report: dict) -> list[str]:
    return [f"{f['path']}: {f['message']}" for f in report["findings"] if f["severity"] == "error"]


def test_a_step_with_scale_header_route_and_pause_is_valid(tmp_path):
    canary = {"canaryService": "app-canary", "stableService": "app-stable", "trafficRouting": ISTIO,
              "steps": [{"setCanaryScale": {"replicas": 1}, "setHeaderRoute": HEADER, "pause": {"duration": 15}}, {"setWeight": 50}]}
    code, report = validate(tmp_path, rollout(canary), service("app-canary"), service("app-stable"), virtual_service())
    assert (code, errors(report)) == (0, [])


def test_a_step_with_only_a_header_route_is_valid_and_two_step_types_are_not(tmp_path):
    canary = {"canaryService": "app-canary", "stableService": "app-stable", "trafficRouting": ISTIO,
              "steps": [{"setWeight": 20}, {"setHeaderRoute": HEADER}, {"setHeaderRoute": {"name": "header-route"}},
                        {"setWeight": 40, "pause": {}}]}
    code, report = validate(tmp_path, rollout(canary), service("app-canary"), service("app-stable"), virtual_service())
    assert code == 1
    (only,) = errors(report)
    assert only.startswith("spec.strategy.canary.steps[3].pause: step sets `setWeight` and `pause`"), only


def test_header_route_under_alb_is_not_refused_the_router_is_flagged(tmp_path):
    canary = {"canaryService": "app-canary", "stableService": "app-stable", "trafficRouting": ALB,
              "steps": [{"setWeight": 20}, {"setHeaderRoute": HEADER}, {"pause": {}}]}
    code, report = validate(tmp_path, rollout(canary), service("app-canary"), service("app-stable"))
    assert (code, errors(report)) == (0, [])
    warnings = [f["path"] for f in report["findings"] if f["severity"] == "warning"]
    assert "spec.strategy.canary.trafficRouting.alb" in warnings


def test_mirror_route_still_needs_istio_and_route_names_need_managed_routes(tmp_path):
    routing = {"alb": ALB["alb"]}
    canary = {"canaryService": "app-canary", "stableService": "app-stable", "trafficRouting": routing,
              "steps": [{"setWeight": 20}, {"setMirrorRoute": {"name": "m", "percentage": 10}}, {"setHeaderRoute": HEADER}]}
    code, report = validate(tmp_path, rollout(canary), service("app-canary"), service("app-stable"))
    assert code == 1
    found = errors(report)
    assert any(e.startswith("spec.strategy.canary.steps[1].setMirrorRoute: setMirrorRoute needs trafficRouting.istio") for e in found), found
    assert any(e.startswith("spec.strategy.canary.steps[2].setHeaderRoute.name: setHeaderRoute route `header-route` is not listed") for e in found), found


def test_ping_pong_needs_no_canary_service(tmp_path):
    canary = {"pingPong": {"pingService": "app-ping", "pongService": "app-pong"}, "trafficRouting": {"alb": ALB["alb"]},
              "steps": [{"setWeight": 20}, {"pause": {}}]}
    code, report = validate(tmp_path, rollout(canary), service("app-ping"), service("app-pong"))
    assert (code, errors(report)) == (0, [])
    warnings = {f["path"]: f["message"] for f in report["findings"] if f["severity"] == "warning"}
    assert "not implemented" in warnings["spec.strategy.canary.pingPong"]


def test_ping_pong_services_must_differ_and_exist(tmp_path):
    canary = {"pingPong": {"pingService": "app-ping", "pongService": "app-ping"}, "trafficRouting": {"alb": ALB["alb"]},
              "steps": [{"setWeight": 20}]}
    code, report = validate(tmp_path, rollout(canary))
    assert code == 1
    found = errors(report)
    assert any("pingService and pongService are both `app-ping`" in e for e in found), found
    assert any(e.startswith("spec.strategy.canary.pingPong.pingService: Service default/app-ping is not in the source") for e in found), found


def test_ping_pong_is_held_before_any_scale_or_weight(tmp_path):
    canary = {"pingPong": {"pingService": "app-ping", "pongService": "app-pong"},
              "trafficRouting": {"istio": {"virtualService": {"name": "app-vs", "routes": ["primary"]}}},
              "steps": [{"setWeight": 20}, {"pause": {}}]}
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), canary=canary,
                     extra=[service("app-ping"), service("app-pong"), virtual_service()])
    first = app.run(0)
    assert "PingPongNotSupported" in first.stdout, first.stdout
    app.set_image("app:2")
    for t in (10, 20):
        done = app.run(t)
        assert "set canary weight" not in done.stdout + done.stderr
    view = app.view(20)
    assert view["status"] == "Paused" and "pingPong is not implemented" in view["message"], view
    assert app.pods(20).get(2, 0) == 0
    (vs,) = app.objects("VirtualService", 20)
    assert [d["weight"] for d in vs["spec"]["http"][0]["route"]] == [100, 0]


def test_a_combined_step_runs_every_part(tmp_path):
    """setCanaryScale + setHeaderRoute + pause in one step: the canary gets its pod, the header
    route is written, and the step ends only once the pause is over."""
    canary = {"canaryService": "app-canary", "stableService": "app-stable", "trafficRouting": ISTIO,
              "steps": [{"setCanaryScale": {"replicas": 1}, "setHeaderRoute": HEADER, "pause": {"duration": 30}},
                        {"setWeight": 50}, {"pause": {}}]}
    app = CliRollout(tmp_path, LocalBackend(tmp_path / "cluster"), canary=canary, extra=[virtual_service()])
    app.run(0)
    app.run(5)
    app.set_image("app:2")
    for t in (10, 20, 30):
        app.run(t)
    assert app.view(30)["step"] == 0  # the pause (30s from t=10) is not over
    assert app.pods(30)[2] == 1
    (vs,) = app.objects("VirtualService", 30)
    assert [r["name"] for r in vs["spec"]["http"]] == ["header-route", "primary"]
    assert vs["spec"]["http"][0]["match"] == [{"headers": {"trace": {"exact": "debug"}}}]
    for t in (41, 50, 60):
        app.run(t)
    assert app.view(60)["step"] >= 1
