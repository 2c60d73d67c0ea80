"""`--prune` on `--cluster kube` (the API emulator, RBAC enforced: deploy/rbac.yaml plus the grants
docs/kubernetes.md tells the user to add for their plain kinds): objects this SOURCE applied and then
removed are deleted with their resourceVersion as precondition; one made by hand is not; a plain kind
without the `delete` grant is reported and the rest goes on (tests/test_prune.py: the embedded cluster)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.test_plain_objects_kube import APP, GATEWAY_API, GRANTS, run
from tests.test_prune import EXTRA

# docs/kubernetes.md, "Pruning": add `delete` for the plain kinds you want pruned (here PDBs, not HPAs).
PRUNE_GRANTS = GRANTS + [("policy", "poddisruptionbudgets", "delete", "namespace")]


def test_the_rbac_grants_delete_on_every_kind_prune_lists_and_no_cluster_scoped_one():
    from reconciler.cluster.kube_grants import API_CALLS
    from reconciler.kinds import KINDS
    from reconciler.pipeline.prune import PRUNABLE_MANAGED

    deletable = {kind for kind, verbs in API_CALLS.items() if isinstance(kind, str) and "delete" in verbs}
    assert deletable >= PRUNABLE_MANAGED
    assert all(KINDS[kind].namespaced for kind in PRUNABLE_MANAGED)
    assert "delete" not in API_CALLS["ClusterAnalysisTemplate"]


def test_run_prune_deletes_what_this_source_applied_and_only_that(tmp_path):
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    repo = tmp_path / "repo"
    shutil.copytree(APP, repo)
    (repo / "extra.yaml").write_text(EXTRA)
    with KubeEmulator(rbac=rbac_from_manifests() + PRUNE_GRANTS, extra_kinds=GATEWAY_API) as api:
        first = run(api, tmp_path, "run", str(repo))
        assert first.returncode == 0, first.stdout + first.stderr
        api.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "made-by-hand", "namespace": "default"}, "data": {"k": "v"}})
        (repo / "extra.yaml").unlink()
        scaling = [d for d in yaml.safe_load_all((repo / "scaling.yaml").read_text()) if d["kind"] != "HorizontalPodAutoscaler"]
        (repo / "scaling.yaml").write_text(yaml.safe_dump_all(scaling))

        plan = run(api, tmp_path, "plan", str(repo), "--prune", now="2026-01-01T00:01:00Z")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        for what in ("ConfigMap default/shop-settings", "Service default/shop-debug", "PodDisruptionBudget default/shop-strict",
                     "HorizontalPodAutoscaler default/shop"):
            assert f"delete {what}: no longer in SOURCE" in plan.stdout
        assert api.calls(verb="delete") == []

        pruned = run(api, tmp_path, "run", str(repo), "--prune", now="2026-01-01T00:02:00Z")
        assert pruned.returncode == 1, pruned.stdout + pruned.stderr  # the HPA's delete is not granted
        assert "error: could not prune HorizontalPodAutoscaler default/shop: missing permission: cannot delete horizontalpodautoscalers" in pruned.stdout
        deletes = {r.path: r for r in api.calls(verb="delete")}
        assert set(deletes) == {
            "/api/v1/namespaces/default/configmaps/shop-settings",
            "/api/v1/namespaces/default/services/shop-debug",
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets/shop-strict",
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/shop",
        }
        assert all(r.body["preconditions"]["resourceVersion"] for r in deletes.values())
        names = {(o["kind"], o["metadata"]["name"]) for kind in ("ConfigMap", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler")
                 for o in api.objects(kind, "default")}
        assert {("ConfigMap", "shop-settings"), ("Service", "shop-debug"), ("PodDisruptionBudget", "shop-strict")}.isdisjoint(names)
        assert {("ConfigMap", "made-by-hand"), ("Service", "shop"), ("PodDisruptionBudget", "shop"), ("HorizontalPodAutoscaler", "shop")} <= names
        assert "default/shop: Healthy" in pruned.stdout  # the rollout went on


@pytest.mark.realkube
def test_run_prune_on_a_real_apiserver_under_deploy_rbac(realkube_backend, tmp_path):
    """deploy/rbac.yaml's `delete` grants, on a real kube-apiserver: what left Git is deleted, a Service
    the remaining Rollout names and a ConfigMap made by hand are not, and no call is refused."""
    from tests.backends import cli
    from tests.test_prune import BLUEGREEN, SERVICES

    plane = realkube_backend.api
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in (("rollout.yaml", BLUEGREEN), ("services.yaml", SERVICES), ("extra.yaml", EXTRA.split("---\napiVersion: policy/v1")[0])):
        (repo / name).write_text(text)
    first = cli(realkube_backend, "run", str(repo), now="2026-01-01T00:00:00Z")
    assert first.returncode == 0, first.stdout + first.stderr
    plane.must("POST", "/api/v1/namespaces/default/configmaps",
               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "made-by-hand"}, "data": {"k": "v"}}, ok=(201,))
    (repo / "services.yaml").unlink()
    (repo / "extra.yaml").unlink()
    pruned = cli(realkube_backend, "run", str(repo), "--prune", now="2026-01-01T00:01:00Z")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert "pruned ConfigMap default/shop-settings: no longer in SOURCE" in pruned.stdout
    assert "pruned Service default/shop-debug: no longer in SOURCE" in pruned.stdout
    assert "kept Service default/web-active: no longer in SOURCE, but Rollout default/web still names it" in pruned.stdout
    assert plane.call("GET", "/api/v1/namespaces/default/configmaps/shop-settings")[0] == 404
    assert plane.call("GET", "/api/v1/namespaces/default/services/shop-debug")[0] == 404
    for where in ("services/web-active", "services/web-preview", "configmaps/made-by-hand"):
        plane.must("GET", f"/api/v1/namespaces/default/{where}")
