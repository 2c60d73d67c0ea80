"""Objects from Git are server-side applied (field manager `reconciler`), and hand changes to them
are drift: `plan` shows it, `run` reverts the fields Git sets and leaves other managers' fields."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.backends import cli
from tests.conftest import FIXTURES

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:01:00Z"
SERVICE = "rollout-test-bluegreen-active"


def bluegreen_repo(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "bluegreen-nginx", repo)
    return repo


def hand_edit(backend, kind, name, change):
    """A person changes a live object (kubectl edit): through the real API as another field manager."""
    if backend.name == "local":
        cluster = backend.cluster()
        obj = cluster.get(kind, "default", name)
        change(obj)
        cluster.replace(obj)
    elif backend.name == "kube":
        obj = backend.api.objects(kind, "default")
        [obj] = [o for o in obj if o["metadata"]["name"] == name]
        change(obj)
        backend.api.seed(obj)
    else:
        plane = backend.api
        obj = plane.get(kind, "default", name)
        change(obj)
        from tests.realkube import KINDS, path

        plane.must("PUT", path(KINDS[kind], "default", name) + "?fieldManager=kubectl-edit", obj)


def live(backend, kind, name):
    if backend.name == "realkube":
        return backend.api.get(kind, "default", name)
    return backend.cluster().get(kind, "default", name)


def _selector_app(obj):
    return obj["spec"]["selector"]["app"]


@pytest.fixture(params=["local", "kube", "realkube"])
def any_backend(request, tmp_path):
    if request.param == "realkube":
        yield request.getfixturevalue("realkube_backend")
        return
    from tests.backends import LocalBackend

    if request.param == "local":
        yield LocalBackend(tmp_path / "cluster")
    else:
        from tests.kube_emulator.backend import kube_backend

        with kube_backend(tmp_path) as kube:
            yield kube


def test_a_hand_changed_service_selector_is_drift_shown_by_plan_and_reverted_by_run(any_backend, tmp_path):
    repo = bluegreen_repo(tmp_path)
    assert cli(any_backend, "run", str(repo), now=NOW).returncode == 0
    before = live(any_backend, "Service", SERVICE)
    hand_edit(any_backend, "Service", SERVICE, lambda s: s["spec"]["selector"].update(app="someone-else"))
    assert _selector_app(live(any_backend, "Service", SERVICE)) == "someone-else"

    plan = cli(any_backend, "plan", str(repo), now=LATER)
    assert "revert drift in spec.selector.app" in plan.stdout, plan.stdout
    assert _selector_app(live(any_backend, "Service", SERVICE)) == "someone-else"  # plan writes nothing

    assert cli(any_backend, "run", str(repo), now=LATER).returncode == 0
    after = live(any_backend, "Service", SERVICE)
    assert _selector_app(after) == _selector_app(before)
    # the selector's pod-template-hash (the engine's own field) is not drift: it stays as the engine set it
    assert after["spec"]["selector"]["rollouts-pod-template-hash"] == before["spec"]["selector"]["rollouts-pod-template-hash"]
    again = cli(any_backend, "plan", str(repo), now=LATER)
    assert "drift" not in again.stdout


@pytest.mark.realkube
def test_objects_from_git_are_server_side_applied_and_other_managers_fields_stay(realkube_backend, tmp_path):
    plane = realkube_backend.api
    repo = bluegreen_repo(tmp_path)
    assert cli(realkube_backend, "run", str(repo), now=NOW).returncode == 0
    service = plane.get("Service", "default", SERVICE)
    managers = {(m["manager"], m["operation"]) for m in service["metadata"]["managedFields"]}
    assert ("reconciler", "Apply") in managers, managers
    ours = {m["operation"]: json.dumps(m["fieldsV1"]) for m in service["metadata"]["managedFields"] if m["manager"] == "reconciler"}
    assert "f:ports" in ours["Apply"] and "applied-hash" in ours["Apply"]  # the fields Git sets are applied by us
    # A Service's selector is an atomic map: the engine's switch of its pod-template-hash (a
    # compare-and-swap update) makes the whole selector ours by Update, not by Apply.
    assert "f:selector" in ours.get("Update", "")

    # Another manager adds a label; Git then changes a field: ours change, theirs stay.
    hand_edit(realkube_backend, "Service", SERVICE, lambda s: s["metadata"].setdefault("labels", {}).update(team="payments"))
    manifest = next(repo.glob("*.yaml"))
    manifest.write_text(manifest.read_text().replace("port: 80", "port: 8080", 1))
    assert cli(realkube_backend, "run", str(repo), now=LATER).returncode == 0
    service = plane.get("Service", "default", SERVICE)
    assert service["metadata"]["labels"]["team"] == "payments"
    assert 8080 in [p["port"] for p in service["spec"]["ports"]]
