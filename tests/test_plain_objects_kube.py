"""fixtures/app-repo on `--cluster kube` (the API emulator, RBAC enforced): the objects the engine does
not manage are applied with server-side apply under the field manager `reconciler`, at the resource
discovery names for them, once the user grants their verbs (deploy/rbac.yaml does not); without the
grant, or without the CRD, each is a finding at its place and the Rollout still progresses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import pytest

from reconciler.kinds import KindInfo
from tests.backends import ROOT
from tests.conftest import FIXTURES

APP = FIXTURES / "app-repo"
GATEWAY_API = (KindInfo("Gateway", "gateway.networking.k8s.io", "v1", "gateways"),
               KindInfo("HTTPRoute", "gateway.networking.k8s.io", "v1", "httproutes"))
# What docs/kubernetes.md tells the user to grant for their kinds (verbs get list create patch).
GRANTS = [(group, resource, verb, "namespace") for group, resource in (
    ("policy", "poddisruptionbudgets"), ("autoscaling", "horizontalpodautoscalers"), ("batch", "jobs"),
    ("gateway.networking.k8s.io", "gateways"), ("gateway.networking.k8s.io", "httproutes"),
) for verb in ("get", "list", "create", "patch")]
PLAIN_RESOURCES = "poddisruptionbudgets|horizontalpodautoscalers|gateways|httproutes|jobs"


def run(api, tmp_path, *args, now="2026-01-01T00:00:00Z"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update({"KUBECONFIG": str(api.write_kubeconfig(tmp_path / "kubeconfig")), "PYTHONPATH": str(ROOT)})
    api.set_now(datetime.fromisoformat(now.replace("Z", "+00:00")))
    command = [sys.executable, "-m", "reconciler", *args, "--cluster", "kube", "--now", now]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_plain_objects_are_server_side_applied_under_the_reconciler_field_manager(tmp_path):
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    with KubeEmulator(rbac=rbac_from_manifests() + GRANTS, extra_kinds=GATEWAY_API) as api:
        first = run(api, tmp_path, "run", str(APP))
        assert first.returncode == 0, first.stdout + first.stderr
        for kind, name in (("Gateway", "shop"), ("HTTPRoute", "shop"), ("HorizontalPodAutoscaler", "shop"),
                           ("PodDisruptionBudget", "shop"), ("Job", "shop-load-test")):
            assert f"applied {kind} default/{name} (created)" in first.stdout
            [stored] = [o for o in api.objects(kind, "default") if o["metadata"]["name"] == name]
            assert [e["manager"] for e in stored["metadata"]["managedFields"]] == ["reconciler"]
        writes = api.calls(path=PLAIN_RESOURCES)
        patches = [r for r in writes if r.method == "PATCH"]
        assert {r.path for r in patches} == {
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets/shop",
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/shop",
            "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/shop",
            "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/shop",
            "/apis/batch/v1/namespaces/default/jobs/shop-load-test",
        }
        assert all(r.query["fieldManager"] == ["reconciler"] and r.query["force"] == ["true"] for r in patches)
        assert {r.method for r in writes} == {"GET", "PATCH"}  # server-side apply only: no POST, no PUT
        assert api.objects("Secret", "default") == [] and not api.calls(path="/secrets")
        assert "default/shop: Healthy" in first.stdout
        # The second run reads them back and writes nothing: Git did not change.
        before = len(api.calls(verb="patch"))
        second = run(api, tmp_path, "run", str(APP), now="2026-01-01T00:01:05Z")
        assert second.returncode == 0, second.stdout + second.stderr
        assert [line for line in second.stdout.splitlines() if line.startswith("applied ")] == []
        assert len(api.calls(verb="patch")) == before
        # A hand change is reverted by the next run (the field is ours).
        pdb = api.objects("PodDisruptionBudget", "default")[0]
        pdb["spec"]["minAvailable"] = 0
        api.seed(pdb)
        third = run(api, tmp_path, "run", str(APP), now="2026-01-01T00:02:10Z")
        assert "applied PodDisruptionBudget default/shop (replaced)" in third.stdout
        assert api.objects("PodDisruptionBudget", "default")[0]["spec"]["minAvailable"] == 2


def test_without_the_grant_or_the_crd_each_object_is_a_finding_and_the_rollout_progresses(tmp_path):
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    grants = [g for g in GRANTS if g[1] != "poddisruptionbudgets"]
    with KubeEmulator(rbac=rbac_from_manifests() + grants) as api:  # no Gateway API CRDs installed
        proc = run(api, tmp_path, "run", str(APP), "-o", "json")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        report = json.loads(proc.stdout)
        by_kind = {f["object"].split("/")[0]: f for f in report["findings"]}
        assert {kind: f["rule"] for kind, f in by_kind.items()} == {
            "Secret": "secret-in-source", "PodDisruptionBudget": "forbidden", "Gateway": "refused", "HTTPRoute": "refused"}
        assert (by_kind["PodDisruptionBudget"]["file"], by_kind["PodDisruptionBudget"]["line"]) == ("scaling.yaml", 21)
        assert "cannot list poddisruptionbudgets (apiGroup policy) in namespace 'default' (403 Forbidden)" in by_kind["PodDisruptionBudget"]["message"]
        assert "does not serve gateway.networking.k8s.io/v1" in by_kind["Gateway"]["message"]
        assert "install the CustomResourceDefinition" in by_kind["Gateway"]["hint"]
        assert {a["kind"] for a in report["manifestActions"]} == {"Service", "HorizontalPodAutoscaler", "Job"}
        assert api.objects("HorizontalPodAutoscaler", "default") and api.objects("PodDisruptionBudget", "default") == []
        [rollout] = report["rollouts"]
        assert rollout["error"] == "" and rollout["view"]["status"] == "Healthy"


# -- a real kube-apiserver (scripts/realkube.sh): managedFields as the server records them ------------

PLAIN_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reconciler-plain-objects", "namespace": "default"},
    "rules": [{"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["get", "list", "create", "patch"]},
              {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get", "list", "create", "patch"]},
              {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["patch"]}],
}
PLAIN_BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reconciler-plain-objects", "namespace": "default"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reconciler-plain-objects"},
    "subjects": [{"kind": "ServiceAccount", "name": "reconciler", "namespace": "default"}],
}


@pytest.mark.realkube
def test_a_plain_object_is_server_side_applied_on_a_real_apiserver(realkube_backend, tmp_path):
    import shutil

    from tests.backends import cli

    plane = realkube_backend.api
    # What docs/kubernetes.md tells the user to grant for their kinds, beside deploy/rbac.yaml's Role.
    plane.must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", PLAIN_ROLE, ok=(201, 409))
    plane.must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", PLAIN_BINDING, ok=(201, 409))
    for where in ("/apis/policy/v1/namespaces/default/poddisruptionbudgets/shop", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/shop"):
        plane.call("DELETE", where)  # a previous test's (reset() knows only reconciler.kinds)
    repo = tmp_path / "repo"
    shutil.copytree(APP, repo)
    (repo / "gateway.yaml").unlink()  # no Gateway API CRDs on this apiserver
    proc = cli(realkube_backend, "run", str(repo), now="2026-01-01T00:00:00Z")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "applied PodDisruptionBudget default/shop (created)" in proc.stdout
    pdb = plane.must("GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/shop")
    applied = [m for m in pdb["metadata"]["managedFields"] if m["manager"] == "reconciler"]
    assert [m["operation"] for m in applied] == ["Apply"], pdb["metadata"]["managedFields"]
    assert "f:minAvailable" in json.dumps(applied[0]["fieldsV1"]) and "applied-hash" in json.dumps(applied[0]["fieldsV1"])
    hpa = plane.must("GET", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/shop")
    assert ("reconciler", "Apply") in {(m["manager"], m["operation"]) for m in hpa["metadata"]["managedFields"]}
    again = cli(realkube_backend, "run", str(repo), now="2026-01-01T00:01:05Z")
    assert again.returncode == 0 and [line for line in again.stdout.splitlines() if line.startswith("applied ")] == [], again.stdout


APPMESH = (KindInfo("VirtualNode", "appmesh.k8s.aws", "v1beta2", "virtualnodes"),
           KindInfo("VirtualRouter", "appmesh.k8s.aws", "v1beta2", "virtualrouters"),
           KindInfo("VirtualService", "appmesh.k8s.aws", "v1beta2", "virtualservices"))


def test_an_app_mesh_virtualservice_is_applied_at_app_mesh_s_resource_not_istio_s(tmp_path):
    """fixtures/corpus/router-appmesh: App Mesh's VirtualService shares its kind name with Istio's; it is
    the appmesh.k8s.aws group's custom resource, applied (once) where discovery says, never at Istio's."""
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    grants = [("appmesh.k8s.aws", k.plural, verb, "namespace") for k in APPMESH for verb in ("get", "list", "create", "patch")]
    with KubeEmulator(rbac=rbac_from_manifests() + grants, extra_kinds=APPMESH) as api:
        for now in ("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"):
            proc = run(api, tmp_path, "run", str(FIXTURES / "corpus" / "router-appmesh"), now=now)
            assert proc.returncode == 0 and "TrafficRoutingNotSupported" in proc.stdout, proc.stdout + proc.stderr
        assert [(r.method, r.path) for r in api.calls(path="virtualservices") if r.method != "GET"] == [
            ("PATCH", "/apis/appmesh.k8s.aws/v1beta2/namespaces/default/virtualservices/payments")]
        [stored] = api.objects("VirtualService", "default")
        assert stored["apiVersion"] == "appmesh.k8s.aws/v1beta2" and stored["spec"]["provider"]["virtualRouter"]
