"""Validation of Istio traffic routing (issue 12): each mistake is an error at file:line with the
field path and a hint; what Argo accepts is accepted; a router the reconciler does not implement
is a warning (the run holds the rollout Paused)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from reconciler.manifests.loader import load_directory
from reconciler.validation import validate
from tests.conftest import FIXTURES, ROOT

SEED13 = (FIXTURES / "istio-virtualservice" / "mock-server-canary-istio-virtualservice.yaml").read_text()
SEED16 = (FIXTURES / "istio-destinationrule" / "mock-server-canary-istio-destinationrule.yaml").read_text()


def findings(tmp_path, text, live=None):
    (tmp_path / "repo").mkdir(parents=True, exist_ok=True)
    (tmp_path / "repo" / "app.yaml").write_text(text)
    loaded = load_directory(tmp_path / "repo")
    return [(f.rule, f.path, f.severity.value, f.message, f.hint, f.line) for f in loaded.findings + validate(loaded.manifests, live=live)]


def without_kind(text, kind):
    return "---\n".join(doc for doc in text.split("---\n") if f"kind: {kind}\n" not in doc)


CASES = {
    "named HTTP route missing, the routes it has are listed": (
        SEED13.replace("  - name: primary\n    route:", "  - name: main\n    route:"),
        ("istio-route", "spec.strategy.canary.trafficRouting.istio.virtualService.routes[0]", "has no HTTP route named `primary`", "its HTTP routes are: main")),
    "a managed route without the canary Service's destination": (
        SEED13.replace("host: mock-server-canary", "host: mock-server-preview"),
        ("istio-route", "spec.strategy.canary.trafficRouting.istio.virtualService.routes[0]", "no destination for the canary Service `mock-server-canary`", "host: mock-server-canary")),
    "no `routes` while the VirtualService has several HTTP routes": (
        SEED13.replace("            routes:\n            - primary\n", "").replace(
            "  http:\n", "  http:\n  - name: admin\n    route:\n    - destination:\n        host: mock-server-stable\n"),
        ("istio-route", "spec.strategy.canary.trafficRouting.istio.virtualService.name", "has 2 HTTP routes", "routes: [admin]")),
    "host-level routing without canaryService": (
        SEED13.replace("      canaryService: mock-server-canary\n", ""),
        ("canary-services", "spec.strategy.canary", "traffic routing needs `canaryService`", "set both canaryService and stableService")),
    "DestinationRule subset missing": (
        SEED16.replace("canarySubsetName: canary", "canarySubsetName: preview"),
        ("istio-route", "spec.strategy.canary.trafficRouting.istio.destinationRule.canarySubsetName", "has no subset `preview`", "its subsets are: stable, canary")),
    "DestinationRule absent from the source": (
        without_kind(SEED16, "DestinationRule"),
        ("reference", "spec.strategy.canary.trafficRouting.istio.destinationRule.name", "DestinationRule default/mock-server is not in the source", "")),
    "VirtualService absent from the source": (
        without_kind(SEED13, "VirtualService"),
        ("reference", "spec.strategy.canary.trafficRouting.istio.virtualService.name", "VirtualService default/mock-server is not in the source", "")),
    "setHeaderRoute not listed in managedRoutes": (
        SEED13.replace("      - pause: {}\n      - setWeight: 40", "      - setHeaderRoute: {name: canary-header, match: [{headerName: X-Canary, headerValue: {exact: 'yes'}}]}\n      - pause: {}\n      - setWeight: 40", 1),
        ("managed-routes", "spec.strategy.canary.steps[1].setHeaderRoute.name", "route `canary-header` is not listed in trafficRouting.managedRoutes", "managedRoutes")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_istio_mistake_is_one_located_error(tmp_path, case):
    text, (rule, path, message, hint) = CASES[case]
    errors = [f for f in findings(tmp_path, text) if f[2] == "error"]
    assert len(errors) == 1, errors
    got = errors[0]
    assert (got[0], got[1]) == (rule, path) and message in got[3] and hint in got[4], got
    assert got[5] > 0


def test_a_virtualservice_kept_in_the_cluster_is_found_there(tmp_path):
    vs = next(doc for doc in yaml.safe_load_all(SEED13) if doc["kind"] == "VirtualService")
    live = {("VirtualService", "default", "mock-server"): {**vs, "metadata": {"name": "mock-server", "namespace": "default"}}}
    assert findings(tmp_path, without_kind(SEED13, "VirtualService"), live=live) == []
    assert [f[3] for f in findings(tmp_path / "x", without_kind(SEED13, "VirtualService"), live={})] == [
        "VirtualService default/mock-server is neither in the source nor in the cluster"]


def test_tls_only_virtualservice_with_routes_primary_is_accepted_as_argo_does(tmp_path):
    tls = SEED13.replace(
        "  http:\n  - name: primary\n    route:",
        "  tls:\n  - match:\n    - port: 443\n      sniHosts: [mock-server.example.com]\n    route:")
    assert "http:" not in tls.split("kind: VirtualService")[1]
    assert findings(tmp_path, tls) == []


def test_a_router_the_reconciler_does_not_implement_is_a_located_warning(tmp_path):
    text = SEED13.replace("        istio:\n", "        nginx:\n          stableIngress: mock-server\n        istio:\n")
    [warning] = [f for f in findings(tmp_path, text) if f[0] == "traffic-router"]
    assert warning[1:3] == ("spec.strategy.canary.trafficRouting.nginx", "warning")
    assert "held (Paused) before any scale or weight change" in warning[3]


def test_validate_cli_exits_1_with_file_line_and_field_path(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.yaml").write_text(SEED13.replace("host: mock-server-canary", "host: mock-server-preview"))
    proc = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(repo)], capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    assert proc.returncode == 1
    assert "app.yaml:25:" in proc.stdout and "spec.strategy.canary.trafficRouting.istio.virtualService.routes[0]" in proc.stdout


def test_header_route_before_any_canary_pod_is_a_warning_with_the_fix(tmp_path):
    """A setHeaderRoute step before any step gives the canary pods would wait (rule 7: no route
    to a ReplicaSet without available pods) until the progress deadline: validate says so."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    repo = tmp_path / "repo"
    shutil.copytree(root / "fixtures" / "istio-virtualservice", repo)
    [manifest] = repo.glob("*.yaml")
    header = ("      - setHeaderRoute:\n          name: header-route\n          match:\n"
              "          - headerName: x-canary\n            headerValue:\n              exact: \"yes\"\n")
    text = manifest.read_text().replace("      trafficRouting:\n", "      trafficRouting:\n        managedRoutes:\n        - name: header-route\n", 1)
    manifest.write_text(text.replace("      steps:\n", "      steps:\n" + header, 1))
    done = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(repo)], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stdout  # a warning: Argo accepts it
    assert "steps[0].setHeaderRoute" in done.stdout and "setCanaryScale" in done.stdout, done.stdout
    # With a setCanaryScale first, nothing to say.
    manifest.write_text(text.replace("      steps:\n", "      steps:\n      - setCanaryScale:\n          replicas: 1\n" + header, 1))
    done = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(repo)], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0 and "setHeaderRoute would send" not in done.stdout, done.stdout
