"""A repository of an application: a Rollout beside a Gateway, an HTTPRoute, an HPA, a PDB, a load-test
Job and a Secret (fixtures/app-repo). It validates with warnings only, and runs: the objects the
engine does not manage are applied as plain objects, diffed by `plan`, listed by `run`, kept in sync;
a Secret only with --allow-secrets and never printed; a cluster-scoped object only with
--apply-cluster-scoped. Through the CLI, on the embedded cluster (tests/test_plain_objects_kube.py:
the kube backend)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys

import yaml

from tests.backends import ROOT
from tests.conftest import FIXTURES

APP = FIXTURES / "app-repo"
SECRET_VALUE = "fixture-password-not-real"
SECRET_FORMS = (SECRET_VALUE, base64.b64encode(SECRET_VALUE.encode()).decode())
PLAIN = ["Gateway", "HTTPRoute", "HorizontalPodAutoscaler", "Job", "PodDisruptionBudget"]
T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:05Z", "2026-01-01T00:02:10Z"


def reconciler(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, env=env, timeout=60, cwd=str(ROOT))


def copy_app(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(APP, repo)
    return repo


def relative(finding: dict, repo) -> str:
    """validate -o json names files as SOURCE was given (here an absolute path)."""
    return finding["file"].removeprefix(f"{repo}/")


def assert_no_secret(proc: subprocess.CompletedProcess) -> None:
    for form in SECRET_FORMS:
        assert form not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_app_repo_validates_with_one_warning_the_secret():
    proc = reconciler("validate", str(APP), "-o", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert (relative(finding, APP), finding["line"], finding["severity"], finding["rule"]) == ("secret.yaml", 2, "warning", "secret-in-source")
    assert_no_secret(proc)
    text = reconciler("validate", str(APP))
    assert text.returncode == 0 and "valid: 0 error(s), 1 warning(s)" in text.stdout


def test_two_runs_apply_the_plain_objects_once_and_the_rollout_is_read_back(tmp_path):
    cluster = tmp_path / "cluster"
    first = reconciler("run", str(APP), "--cluster", f"local:{cluster}", "--now", T0)
    assert first.returncode == 0, first.stdout + first.stderr
    for kind in PLAIN:
        name = "shop-load-test" if kind == "Job" else "shop"
        assert f"applied {kind} default/{name} (created)" in first.stdout
        stored = yaml.safe_load((cluster / "default" / kind / f"{name}.yaml").read_text())
        assert stored["kind"] == kind and stored["metadata"]["namespace"] == "default"
    assert "secret.yaml:2:1: warning: kind: Secret default/shop-db" in first.stdout
    assert not (cluster / "default" / "Secret").exists()
    assert "default/shop: Healthy" in first.stdout
    assert_no_secret(first)
    hpa = yaml.safe_load((cluster / "default" / "HorizontalPodAutoscaler" / "shop.yaml").read_text())
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "shop"}

    second = reconciler("run", str(APP), "--cluster", f"local:{cluster}", "--now", T1)
    assert second.returncode == 0, second.stdout + second.stderr
    assert [line for line in second.stdout.splitlines() if line.startswith("applied ")] == []  # nothing changed in Git: nothing written again
    assert "default/shop: Healthy" in second.stdout and "nothing to apply" in second.stdout
    assert_no_secret(second)

    got = reconciler("get", "rollout", "shop", "--cluster", f"local:{cluster}", "--now", T1, "-o", "json")
    assert got.returncode == 0, got.stderr
    view = json.loads(got.stdout)
    assert view["status"] == "Healthy" and view["replicas"]["available"] == 3


def test_a_new_revision_progresses_beside_the_plain_objects_and_plan_diffs_them(tmp_path):
    repo, cluster = copy_app(tmp_path), tmp_path / "cluster"
    assert reconciler("run", str(repo), "--cluster", f"local:{cluster}", "--now", T0).returncode == 0
    rollout = repo / "rollout.yaml"
    rollout.write_text(rollout.read_text().replace("shop:1.0.0", "shop:1.1.0"))
    scaling = repo / "scaling.yaml"
    scaling.write_text(scaling.read_text().replace("maxReplicas: 10", "maxReplicas: 12"))
    plan = reconciler("plan", str(repo), "--cluster", f"local:{cluster}", "--now", T1)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "replace HorizontalPodAutoscaler default/shop: apply scaling.yaml" in plan.stdout
    assert "-  maxReplicas: 10\n+  maxReplicas: 12" in plan.stdout
    assert "Gateway" not in plan.stdout  # unchanged: no action, no diff
    run = reconciler("run", str(repo), "--cluster", f"local:{cluster}", "--now", T1)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "applied HorizontalPodAutoscaler default/shop (replaced)" in run.stdout
    assert "default/shop: Progressing" in run.stdout and "weight 25" in run.stdout
    hpa = yaml.safe_load((cluster / "default" / "HorizontalPodAutoscaler" / "shop.yaml").read_text())
    assert hpa["spec"]["maxReplicas"] == 12


def test_a_hand_change_to_a_plain_object_is_reverted(tmp_path):
    cluster = tmp_path / "cluster"
    assert reconciler("run", str(APP), "--cluster", f"local:{cluster}", "--now", T0).returncode == 0
    path = cluster / "default" / "PodDisruptionBudget" / "shop.yaml"
    path.write_text(path.read_text().replace("minAvailable: 2", "minAvailable: 0"))
    plan = reconciler("plan", str(APP), "--cluster", f"local:{cluster}", "--now", T1)
    assert "replace PodDisruptionBudget default/shop: revert drift in spec.minAvailable" in plan.stdout
    run = reconciler("run", str(APP), "--cluster", f"local:{cluster}", "--now", T1)
    assert "applied PodDisruptionBudget default/shop (replaced)" in run.stdout
    assert yaml.safe_load(path.read_text())["spec"]["minAvailable"] == 2


def test_secrets_are_applied_only_with_allow_secrets_and_never_printed(tmp_path):
    repo, cluster = copy_app(tmp_path), tmp_path / "cluster"
    plan = reconciler("plan", str(repo), "--cluster", f"local:{cluster}", "--now", T0, "--allow-secrets")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "create Secret default/shop-db: apply secret.yaml" in plan.stdout
    assert "+  password: <redacted>" in plan.stdout
    assert "applied because of --allow-secrets" in plan.stdout
    assert_no_secret(plan)
    as_json = reconciler("run", str(repo), "--cluster", f"local:{cluster}", "--now", T0, "--allow-secrets", "-o", "json")
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    [action] = [a for a in json.loads(as_json.stdout)["manifestActions"] if a["kind"] == "Secret"]
    assert action["after"]["data"] == {"password": "<redacted>"}
    assert_no_secret(as_json)
    stored = yaml.safe_load((cluster / "default" / "Secret" / "shop-db.yaml").read_text())
    assert base64.b64decode(stored["data"]["password"]).decode() == SECRET_VALUE  # stored as the API server would
    assert "stringData" not in stored
    again = reconciler("run", str(repo), "--cluster", f"local:{cluster}", "--now", T1, "--allow-secrets")
    assert "applied Secret" not in again.stdout  # stringData folded into data: no drift every run
    secret = repo / "secret.yaml"
    secret.write_text(secret.read_text().replace(SECRET_VALUE, "rotated-value-not-real"))
    changed = reconciler("plan", str(repo), "--cluster", f"local:{cluster}", "--now", T1, "--allow-secrets")
    assert "-  password: <redacted old value>\n+  password: <redacted new value>" in changed.stdout
    assert "rotated-value-not-real" not in changed.stdout + changed.stderr
    assert base64.b64encode(b"rotated-value-not-real").decode() not in changed.stdout


CLUSTER_SCOPED = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: shop-reader
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop
"""


def test_cluster_scoped_objects_are_skipped_with_a_warning_unless_asked(tmp_path):
    repo, cluster = copy_app(tmp_path), tmp_path / "cluster"
    (repo / "rbac.yaml").write_text(CLUSTER_SCOPED)
    validate = reconciler("validate", str(repo), "-o", "json")
    assert validate.returncode == 0, validate.stdout
    [role] = [f for f in json.loads(validate.stdout)["findings"] if f["rule"] == "cluster-scoped"]
    assert (relative(role, repo), role["line"], role["severity"]) == ("rbac.yaml", 2, "warning")
    assert "least-privilege ServiceAccount" in role["message"] and "--apply-cluster-scoped" in role["hint"]
    run = reconciler("run", str(repo), "--cluster", f"local:{cluster}", "--now", T0)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "rbac.yaml:2:1: warning: kind: ClusterRole shop-reader: ClusterRole is cluster-scoped; skipped" in run.stdout
    assert "applied ServiceAccount default/shop (created)" in run.stdout
    assert not (cluster / "_cluster").exists()
    asked = reconciler("run", str(repo), "--cluster", f"local:{cluster}", "--now", T1, "--apply-cluster-scoped")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert "applied ClusterRole shop-reader (created)" in asked.stdout and "cluster-scoped" not in asked.stdout
    assert yaml.safe_load((cluster / "_cluster" / "ClusterRole" / "shop-reader.yaml").read_text())["rules"][0]["verbs"] == ["get"]


def test_objects_the_reconciler_makes_itself_stay_refused(tmp_path):
    repo, cluster = copy_app(tmp_path), tmp_path / "cluster"
    (repo / "rs.yaml").write_text("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: shop-old\nspec:\n  replicas: 1\n"
                                  "---\napiVersion: argoproj.io/v1alpha1\nkind: AnalysisRun\nmetadata:\n  name: shop-run\n")
    validate = reconciler("validate", str(repo), "-o", "json")
    assert validate.returncode == 1
    refused = [f for f in json.loads(validate.stdout)["findings"] if f["rule"] == "kind-not-applied"]
    assert {(f["object"].split("/")[0], f["severity"], f["line"]) for f in refused} == {("ReplicaSet", "error", 2), ("AnalysisRun", "error", 9)}
    run = reconciler("run", str(repo), "--cluster", f"local:{cluster}", "--now", T0)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert not (cluster / "default" / "ReplicaSet" / "shop-old.yaml").exists()
    assert "applied Gateway default/shop (created)" in run.stdout and "default/shop: Healthy" in run.stdout


def test_kustomize_and_helm_beside_the_app_are_warnings_and_the_run_goes_on(tmp_path):
    repo, cluster = copy_app(tmp_path), tmp_path / "cluster"
    (repo / "overlays" / "prod").mkdir(parents=True)
    (repo / "overlays" / "prod" / "kustomization.yaml").write_text("resources: [../../rollout.yaml]\n")
    (repo / "chart" / "templates").mkdir(parents=True)
    (repo / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 0.1.0\n")
    (repo / "chart" / "values.yaml").write_text("replicaCount: 3\n")
    (repo / "chart" / "templates" / "svc.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n")
    validate = reconciler("validate", str(repo), "-o", "json")
    assert validate.returncode == 0, validate.stdout
    rules = sorted((relative(f, repo), f["rule"]) for f in json.loads(validate.stdout)["findings"])
    assert rules == [("chart/Chart.yaml", "render-first"), ("overlays/prod/kustomization.yaml", "render-first"), ("secret.yaml", "secret-in-source")]
    run = reconciler("run", str(repo), "--cluster", f"local:{cluster}", "--now", T0)
    assert run.returncode == 0 and "Traceback" not in run.stderr
    assert "kustomize build overlays/prod" in run.stdout and "default/shop: Healthy" in run.stdout
