"""What a run does with each kind in its source (reconciler.kinds.handling): a Secret and a
cluster-scoped object are warnings and skipped, a ServiceAccount or a PodDisruptionBudget is applied
as a plain object (on the kube backend: only where RBAC lets it, else a finding at its place), a
typo in `kind:` is an error; the other objects and Rollouts still progress, on both backends."""

from __future__ import annotations

import json
import shutil

from reconciler.kinds import APPLIED_FROM_SOURCE, KINDS, REFUSED_IN_SOURCE, SourcePolicy, applied, handling
from tests.backends import cli, get_view
from tests.conftest import FIXTURES

NAME = "rollout-test-canary-nginx"
NOW = "2026-01-01T00:00:00Z"
SECRET_VALUE = "hunter2-do-not-print"

EXTRA = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: {SECRET_VALUE}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  maxUnavailable: 1
---
apiVersion: v1
kind: Servce
metadata:
  name: typo
"""
# Line of each object's `kind:` in EXTRA.
KIND_LINES = {"Secret": 2, "ServiceAccount": 9, "Namespace": 14, "PodDisruptionBudget": 19, "Servce": 26}


def repo_with_extra(tmp_path, extra: str = EXTRA):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "canary-nginx", repo)
    (repo / "extra.yaml").write_text(extra)
    return repo


def live_secrets(backend) -> list:
    if backend.name == "kube":
        return backend.api.objects("Secret", "default")
    return sorted(p.name for p in (backend.dir / "default" / "Secret").glob("*"))


def test_each_kind_is_applied_warned_or_refused_and_the_rest_progresses(backend, tmp_path):
    repo = repo_with_extra(tmp_path)
    proc = cli(backend, "run", str(repo), "-o", "json", now=NOW)
    assert proc.returncode == 1, proc.stderr  # the typo is an error finding, not an infrastructure error
    report = json.loads(proc.stdout)
    by_kind = {f["object"].split("/")[0]: f for f in report["findings"]}
    expected = {"Secret": ("warning", "secret-in-source"), "Namespace": ("warning", "cluster-scoped"), "Servce": ("error", "kind-not-applied")}
    if backend.name == "kube":  # deploy/rbac.yaml grants no plain kinds: the user grants them (docs/kubernetes.md)
        expected.update({"ServiceAccount": ("error", "forbidden"), "PodDisruptionBudget": ("error", "forbidden")})
    assert set(by_kind) == set(expected)
    for kind, (severity, rule) in expected.items():
        finding = by_kind[kind]
        assert (finding["file"], finding["line"], finding["path"], finding["severity"], finding["rule"]) == (
            "extra.yaml", KIND_LINES[kind], "kind", severity, rule), finding
        assert finding["hint"]
    assert "Sealed Secrets" in by_kind["Secret"]["hint"] and "--allow-secrets" in by_kind["Secret"]["message"]
    assert "did you mean `Service`?" in by_kind["Servce"]["hint"]
    assert "cluster-scoped" in by_kind["Namespace"]["message"] and "least-privilege" in by_kind["Namespace"]["message"]
    plain = set() if backend.name == "kube" else {"ServiceAccount", "PodDisruptionBudget"}  # kube: not even listed (403)
    assert {a["kind"] for a in report["manifestActions"]} == {"ConfigMap"} | plain
    [rollout] = report["rollouts"]
    assert rollout["error"] == "" and rollout["plan"]["actions"]
    assert live_secrets(backend) == []
    assert SECRET_VALUE not in proc.stdout + proc.stderr
    view = get_view(backend, NAME, "2026-01-01T00:00:01Z")
    assert view["status"] == "Healthy" and view["replicas"]["available"] == 5
    if backend.name == "kube":
        assert "cannot list poddisruptionbudgets (apiGroup policy) in namespace 'default' (403 Forbidden)" in by_kind["PodDisruptionBudget"]["message"]
        assert not backend.api.calls(path="/secrets|/namespaces/shop$")
        assert backend.api.objects("PodDisruptionBudget", "default") == []
    else:
        assert (backend.dir / "default" / "ServiceAccount" / "web.yaml").is_file()
        assert (backend.dir / "default" / "PodDisruptionBudget" / "web.yaml").is_file()
        assert not (backend.dir / "_cluster" / "Namespace").exists()


def test_run_text_output_names_the_place_and_the_hint(backend, tmp_path):
    repo = repo_with_extra(tmp_path, EXTRA.split("---\n")[0])
    proc = cli(backend, "run", str(repo), now=NOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a warning does not fail the run
    assert "extra.yaml:2:1: warning: kind: Secret default/db: a Secret's values are committed to Git; not applied" in proc.stdout
    assert "(hint: anyone who can read the repository can read it" in proc.stdout
    assert f"default/{NAME}: Healthy" in proc.stdout
    assert SECRET_VALUE not in proc.stdout + proc.stderr


def test_validate_reports_them_too(tmp_path):
    from typer.testing import CliRunner

    from reconciler.cli import app

    repo = repo_with_extra(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(repo), "-f", "json"])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.output)["findings"]
    assert {(f["object"].split("/")[0], f["severity"], f["rule"]) for f in findings} == {
        ("Secret", "warning", "secret-in-source"), ("Namespace", "warning", "cluster-scoped"), ("Servce", "error", "kind-not-applied")}
    result = CliRunner().invoke(app, ["validate", str(repo), "-f", "json", "--apply-cluster-scoped", "--allow-secrets"])
    findings = json.loads(result.output)["findings"]
    assert {(f["object"].split("/")[0], f["rule"]) for f in findings} == {("Secret", "secret-in-source"), ("Servce", "kind-not-applied")}
    assert "applied because of --allow-secrets" in next(f["message"] for f in findings if f["rule"] == "secret-in-source")


def test_the_managed_kinds_are_exactly_those_the_kube_backend_may_create_and_update():
    from reconciler.cluster.kube_grants import API_CALLS

    # applied from Git with server-side apply: create (a new object) and patch
    creatable = {kind for kind, verbs in API_CALLS.items() if isinstance(kind, str) and {"create", "patch", "list"} <= set(verbs)}
    assert creatable == set(APPLIED_FROM_SOURCE)
    everything = SourcePolicy(allow_secrets=True, apply_cluster_scoped=True)
    for kind, info in KINDS.items():
        how = handling(kind, info.api_version)
        assert how == ("planned" if kind in ("Rollout", "Experiment") else "managed" if kind in APPLIED_FROM_SOURCE
                       else "refused" if kind in REFUSED_IN_SOURCE else "secret" if kind == "Secret"
                       else "plain" if info.namespaced else "cluster-scoped"), kind
        assert applied(kind, info.api_version, everything) == (how not in ("planned", "refused")), kind
        assert applied(kind, info.api_version, SourcePolicy()) == (how in ("managed", "plain")), kind
    assert handling("Gateway", "gateway.networking.k8s.io/v1") == "plain"
    assert handling("CustomResourceDefinition", "apiextensions.k8s.io/v1") == "cluster-scoped"
    assert handling("Deploymnet", "apps/v1") == "unknown"


def test_a_known_kind_name_of_another_api_group_is_that_group_s_custom_resource():
    """App Mesh has a VirtualService too (appmesh.k8s.aws): a plain object, not Istio's (no Istio
    schema check, no api-version error); Istio's own versions and our groups' mistakes stay ours."""
    from reconciler.kinds import foreign_group

    assert handling("VirtualService", "appmesh.k8s.aws/v1beta2") == "plain" and foreign_group("VirtualService", "appmesh.k8s.aws/v1beta2")
    assert handling("VirtualService", "networking.istio.io/v1alpha3") == "managed"
    assert handling("Rollout", "argoproj.io/v1") == "planned"  # a wrong version of our group: the schema says so
    assert handling("Rollout", "apps/v1") == "planned" and not foreign_group("Rollout", "apps/v1")  # a built-in group: a mistake
    assert handling("Namespace", "example.com/v1") == "cluster-scoped"  # the known kind's scope: the safe side (not applied unasked)
    assert not foreign_group("Service", "v1") and not foreign_group("Gateway", "gateway.networking.k8s.io/v1")


# -- what RBAC does not allow (the kube backend) -------------------------------------------------------

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web, port: {number: 80}}}
"""


def run_kube(api, tmp_path, repo, *args):
    import os
    import subprocess
    import sys

    from tests.backends import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update({"KUBECONFIG": str(api.write_kubeconfig(tmp_path / "kubeconfig")), "PYTHONPATH": str(ROOT)})
    command = [sys.executable, "-m", "reconciler", "run", str(repo), "--cluster", "kube", "--now", NOW, "-o", "json", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_a_kind_the_role_does_not_cover_is_a_finding_at_its_place(tmp_path):
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    repo = repo_with_extra(tmp_path, INGRESS)
    rules = [rule for rule in rbac_from_manifests() if rule[1] != "ingresses"]  # a Role someone trimmed
    with KubeEmulator(rbac=rules) as api:
        proc = run_kube(api, tmp_path, repo)
        assert proc.returncode == 1, proc.stderr
        report = json.loads(proc.stdout)
        [finding] = report["findings"]
        assert (finding["file"], finding["line"], finding["rule"]) == ("extra.yaml", 2, "forbidden")
        assert "cannot list ingresses (apiGroup networking.k8s.io) in namespace 'default' (403 Forbidden)" in finding["message"]
        assert "deploy/rbac.yaml" in finding["hint"]
        assert [rs["metadata"]["name"].startswith(NAME) for rs in api.objects("ReplicaSet", "default")] == [True]
        assert api.objects("ConfigMap", "default") and not api.objects("Ingress", "default")


def test_a_namespace_without_the_role_is_reported_and_the_others_progress(tmp_path):
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    repo = repo_with_extra(tmp_path, "")
    (repo / "extra.yaml").unlink()
    shop = (FIXTURES / "canary-nginx" / "nginx.yaml").read_text().replace("metadata:\n  name:", "metadata:\n  namespace: shop\n  name:")
    (repo / "shop.yaml").write_text(shop)
    # The Role is bound in `default` only (nobody applied the RoleBinding in `shop`).
    rules = [(g, r, v, "namespace:default" if scope == "namespace" else scope) for g, r, v, scope in rbac_from_manifests()]
    with KubeEmulator(rbac=rules) as api:
        api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        proc = run_kube(api, tmp_path, repo)
        assert proc.returncode == 1, proc.stderr
        report = json.loads(proc.stdout)
        [configmap] = report["findings"]
        assert (configmap["file"], configmap["line"], configmap["rule"]) == ("shop.yaml", 3, "forbidden")
        assert "in namespace 'shop' (403 Forbidden)" in configmap["message"]
        results = {(r["namespace"], r["name"]): r for r in report["rollouts"]}
        assert [f["rule"] for f in results[("shop", NAME)]["findings"]] == ["forbidden"]
        assert results[("shop", NAME)]["plan"] is None
        assert results[("default", NAME)]["plan"]["actions"] and results[("default", NAME)]["error"] == ""
        assert len(api.objects("ReplicaSet", "default")) == 1 and api.objects("ReplicaSet", "shop") == []
        # Nothing was even attempted in `shop` after the first refusal.
        assert {r.path.split("/")[-1] for r in api.calls() if "/namespaces/shop/" in r.path} == {"replicasets"}


DESTINATION_RULE = """\
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: web
spec:
  host: web
"""


def test_a_kind_the_cluster_does_not_serve_is_a_finding_at_its_place(tmp_path):
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    repo = repo_with_extra(tmp_path, DESTINATION_RULE)
    without_istio = {"apps", "batch", "coordination.k8s.io", "networking.k8s.io", "argoproj.io"}
    with KubeEmulator(rbac=rbac_from_manifests(), served_groups=without_istio) as api:
        proc = run_kube(api, tmp_path, repo)
        assert proc.returncode == 1, proc.stderr
        [finding] = json.loads(proc.stdout)["findings"]
        assert (finding["file"], finding["line"], finding["rule"]) == ("extra.yaml", 2, "refused")
        assert "does not serve destinationrules.networking.istio.io" in finding["message"]
        assert "Istio" in finding["hint"]
        assert len(api.objects("ReplicaSet", "default")) == 1


def test_an_object_in_a_namespace_that_does_not_exist_is_a_finding_at_its_place(tmp_path):
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    repo = repo_with_extra(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: nowhere\ndata: {a: b}\n")
    with KubeEmulator(rbac=rbac_from_manifests()) as api:
        proc = run_kube(api, tmp_path, repo)
        assert proc.returncode == 1, proc.stderr
        [finding] = json.loads(proc.stdout)["findings"]
        assert (finding["file"], finding["line"], finding["rule"]) == ("extra.yaml", 2, "refused")
        assert "namespace 'nowhere' does not exist" in finding["message"]
        assert finding["hint"] == "create it first: kubectl create namespace nowhere"
        assert len(api.objects("ReplicaSet", "default")) == 1 and api.objects("ConfigMap", "default")
