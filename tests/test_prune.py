"""`--prune` through the CLI on the embedded cluster, from real Git repositories (file:// URLs): an
object removed from Git is deleted by `run --prune` and only then; `plan --prune` lists it and deletes
nothing; an object the reconciler did not apply (made by hand, or applied from another SOURCE) is never
pruned; a Service a remaining Rollout names is kept; a Rollout removed from Git keeps its ReplicaSets;
--prune with --shard is refused; a SOURCE with errors, or an empty one, prunes nothing
(reconciler/pipeline/prune.py; the kube backend: tests/test_prune_kube.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from tests.backends import ROOT
from tests.gitserver import make_bare_repo

T = [f"2026-01-01T00:0{minute}:00Z" for minute in range(10)]

EXTRA = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-settings
data:
  color: blue
---
apiVersion: v1
kind: Service
metadata:
  name: shop-debug
spec:
  selector: {app: shop}
  ports: [{port: 9000}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: shop-strict
spec:
  minAvailable: 3
  selector: {matchLabels: {app: shop}}
"""

BLUEGREEN = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
  strategy:
    blueGreen:
      activeService: web-active
      previewService: web-preview
"""
SERVICES = """\
apiVersion: v1
kind: Service
metadata:
  name: web-active
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: web-preview
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


def reconciler(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, env=env, timeout=90, cwd=str(ROOT))


def stored(cluster, kind: str, name: str, namespace: str = "default") -> dict | None:
    path = cluster / namespace / kind / f"{name}.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def hand_made(cluster, kind: str, name: str, api_version: str, **fields) -> None:
    """An object created in the cluster directly (kubectl), not by the reconciler."""
    path = cluster / "default" / kind / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "default"}, **fields}))


def app_repo(tmp_path):
    return make_bare_repo(tmp_path / "git", name="app", fixture="app-repo", files={"extra.yaml": EXTRA})


def test_an_object_removed_from_git_is_pruned_with_prune_and_kept_without(tmp_path):
    repo, cluster = app_repo(tmp_path), tmp_path / "cluster"
    where = ["--cluster", f"local:{cluster}"]
    first = reconciler("run", repo.url, *where, "--now", T[0])
    assert first.returncode == 0, first.stdout + first.stderr
    for kind, name in (("ConfigMap", "shop-settings"), ("Service", "shop-debug"), ("PodDisruptionBudget", "shop-strict")):
        notes = stored(cluster, kind, name)["metadata"]["annotations"]
        assert notes["reconciler.rollouts.io/applied-from"] == repo.url  # the SOURCE, not the temporary clone
    hand_made(cluster, "ConfigMap", "made-by-hand", "v1", data={"k": "v"})
    hand_made(cluster, "PodDisruptionBudget", "made-by-hand", "policy/v1", spec={"minAvailable": 1})
    repo.commit(remove=["extra.yaml"], message="drop the extra objects")

    kept = reconciler("run", repo.url, *where, "--now", T[1])
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "pruned" not in kept.stdout
    assert "`--prune` deletes them" in kept.stdout  # the summary says some are prunable
    assert stored(cluster, "ConfigMap", "shop-settings") and stored(cluster, "Service", "shop-debug")

    plan = reconciler("plan", repo.url, *where, "--now", T[2], "--prune")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "Pruning (--prune):" in plan.stdout
    for kind, name in (("ConfigMap", "shop-settings"), ("Service", "shop-debug"), ("PodDisruptionBudget", "shop-strict")):
        assert f"delete {kind} default/{name}: no longer in SOURCE" in plan.stdout
        assert f"--- a/default/{kind}/{name}" in plan.stdout
    assert "made-by-hand" not in plan.stdout and "default/shop:" not in plan.stdout.split("Pruning")[1]
    as_json = json.loads(reconciler("plan", repo.url, *where, "--now", T[2], "--prune", "-o", "json").stdout)
    assert sorted((a["kind"], a["name"]) for a in as_json["prune"]["delete"]) == [
        ("ConfigMap", "shop-settings"), ("PodDisruptionBudget", "shop-strict"), ("Service", "shop-debug")]
    markdown = reconciler("plan", repo.url, *where, "--now", T[2], "--prune", "-o", "markdown").stdout  # the Action's job summary
    assert "### Pruning (--prune)" in markdown and "- delete ConfigMap default/shop-settings: no longer in SOURCE" in markdown
    assert stored(cluster, "ConfigMap", "shop-settings") is not None  # plan deleted nothing

    pruned = reconciler("run", repo.url, *where, "--now", T[3], "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    for kind, name in (("ConfigMap", "shop-settings"), ("Service", "shop-debug"), ("PodDisruptionBudget", "shop-strict")):
        assert f"pruned {kind} default/{name}: no longer in SOURCE" in pruned.stdout
        assert stored(cluster, kind, name) is None
    # Never what it did not apply, nor what SOURCE still holds, nor the engine's own objects.
    assert stored(cluster, "ConfigMap", "made-by-hand") and stored(cluster, "PodDisruptionBudget", "made-by-hand")
    assert stored(cluster, "Service", "shop") and stored(cluster, "PodDisruptionBudget", "shop") and stored(cluster, "HorizontalPodAutoscaler", "shop")
    assert stored(cluster, "ConfigMap", "shop-rollout-state")  # the status store's
    assert list((cluster / "default" / "ReplicaSet").glob("shop-*.yaml"))
    again = reconciler("run", repo.url, *where, "--now", T[4], "--prune")
    assert again.returncode == 0 and "pruned" not in again.stdout


def test_what_another_source_applied_is_not_pruned(tmp_path):
    """Two repositories into one namespace: each prunes only its own objects."""
    mine, cluster = app_repo(tmp_path), tmp_path / "cluster"
    theirs = make_bare_repo(tmp_path / "git", name="theirs", files={"cm.yaml": EXTRA.split("---")[0].replace("shop-settings", "their-settings")})
    where = ["--cluster", f"local:{cluster}"]
    assert reconciler("run", theirs.url, *where, "--now", T[0]).returncode == 0
    assert reconciler("run", mine.url, *where, "--now", T[1]).returncode == 0
    mine.commit(remove=["extra.yaml"])
    pruned = reconciler("run", mine.url, *where, "--now", T[2], "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert stored(cluster, "ConfigMap", "shop-settings") is None
    assert stored(cluster, "ConfigMap", "their-settings")["metadata"]["annotations"]["reconciler.rollouts.io/applied-from"] == theirs.url


def test_a_service_a_remaining_rollout_names_is_kept(tmp_path):
    repo = make_bare_repo(tmp_path / "git", name="web", files={"rollout.yaml": BLUEGREEN, "services.yaml": SERVICES})
    cluster = tmp_path / "cluster"
    where = ["--cluster", f"local:{cluster}"]
    assert reconciler("run", repo.url, *where, "--now", T[0]).returncode == 0
    repo.commit(remove=["services.yaml"], message="the Services now live elsewhere")
    plan = reconciler("plan", repo.url, *where, "--now", T[1], "--prune")
    assert "kept Service default/web-active: no longer in SOURCE, but Rollout default/web still names it" in plan.stdout
    assert "delete Service" not in plan.stdout
    run = reconciler("run", repo.url, *where, "--now", T[1], "--prune")
    assert run.returncode == 0, run.stdout + run.stderr
    assert stored(cluster, "Service", "web-active") and stored(cluster, "Service", "web-preview")

    # The Rollout itself leaves Git: its ReplicaSets keep running, and --prune says so; the Services go.
    repo.commit({"placeholder.yaml": EXTRA.split("---")[0]}, remove=["rollout.yaml"], message="retire web")
    gone = reconciler("run", repo.url, *where, "--now", T[2], "--prune")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "left Rollout default/web is no longer in SOURCE: its 1 ReplicaSet(s) are left running" in gone.stdout
    assert list((cluster / "default" / "ReplicaSet").glob("web-*.yaml"))
    assert stored(cluster, "Service", "web-active") is None


def test_prune_with_shard_is_refused(tmp_path):
    repo = app_repo(tmp_path)
    for command in ("run", "plan"):
        proc = reconciler(command, repo.url, "--cluster", f"local:{tmp_path / 'cluster'}", "--now", T[0], "--prune", "--shard", "0/2")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "--prune cannot be used with --shard" in proc.stderr
    assert not (tmp_path / "cluster" / "default").exists()


def test_a_source_with_errors_or_no_object_prunes_nothing(tmp_path):
    repo, cluster = app_repo(tmp_path), tmp_path / "cluster"
    where = ["--cluster", f"local:{cluster}"]
    assert reconciler("run", repo.url, *where, "--now", T[0]).returncode == 0
    repo.commit({"broken.yaml": "kind: Service\nmetadata: [unclosed\n"}, remove=["extra.yaml"], message="a bad edit")
    broken = reconciler("run", repo.url, *where, "--now", T[1], "--prune")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "nothing pruned: SOURCE has " in broken.stdout and "error finding(s): nothing is pruned until it loads cleanly" in broken.stdout
    assert stored(cluster, "ConfigMap", "shop-settings") and stored(cluster, "Service", "shop-debug")

    repo.commit({"empty/README.md": "nothing here yet\n"}, remove=["broken.yaml"])
    empty = reconciler("run", repo.url, "--path", "empty", *where, "--now", T[2], "--prune")
    assert empty.returncode == 0, empty.stdout + empty.stderr
    assert "nothing pruned: SOURCE holds no object" in empty.stdout
    assert stored(cluster, "ConfigMap", "shop-settings") and stored(cluster, "Service", "shop") is not None


def test_the_last_object_of_a_kind_or_of_a_namespace_is_found_through_the_inventory(tmp_path):
    """SOURCE no longer holds any Gateway or HTTPRoute, nor anything in namespace `other`: the places
    recorded when they were applied (ConfigMap reconciler-applied-*, Lease namespace) lead --prune there."""
    other = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elsewhere\n  namespace: other\ndata: {k: v}\n"
    repo = make_bare_repo(tmp_path / "git", name="app", fixture="app-repo", files={"other.yaml": other})
    cluster = tmp_path / "cluster"
    where = ["--cluster", f"local:{cluster}"]
    assert reconciler("run", repo.url, *where, "--now", T[0]).returncode == 0
    [inventory] = (cluster / "default" / "ConfigMap").glob("reconciler-applied-*.yaml")
    scopes = yaml.safe_load(inventory.read_text())["data"]["scopes"].splitlines()
    assert {"gateway.networking.k8s.io/v1 Gateway default", "- ConfigMap other", "- Service default"} <= set(scopes)
    hand_made(cluster, "Gateway", "made-by-hand", "gateway.networking.k8s.io/v1", spec={})
    repo.commit(remove=["gateway.yaml", "other.yaml"], message="no Gateway API any more; nothing in `other`")

    pruned = reconciler("run", repo.url, *where, "--now", T[1], "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    for kind, namespace, name in (("Gateway", "default", "shop"), ("HTTPRoute", "default", "shop"), ("ConfigMap", "other", "elsewhere")):
        assert f"pruned {kind} {namespace}/{name}: no longer in SOURCE" in pruned.stdout
        assert stored(cluster, kind, name, namespace) is None
    assert stored(cluster, "Gateway", "made-by-hand")
    scopes = yaml.safe_load(inventory.read_text())["data"]["scopes"].splitlines()
    assert not [s for s in scopes if "Gateway" in s or "HTTPRoute" in s or s.endswith(" other")]  # nothing of ours left there
    assert "- Service default" in scopes


def _one_file_per_object(fixture: str) -> dict:
    from tests.conftest import FIXTURES

    files = {}
    for path in sorted((FIXTURES / fixture).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                files[f"{doc['kind']}-{doc['metadata']['name']}.yaml"] = yaml.safe_dump(doc)
    return files


def test_what_a_remaining_rollout_routes_through_is_kept(tmp_path):
    """Only the Rollout stays in Git: its Services, its VirtualService and DestinationRule, its
    AnalysisTemplate, and the Service the kept VirtualService routes to (named by host only) all stay."""
    for fixture, kept in (
        ("prometheus-analysis", ["Service default/mock-server-canary", "Service default/mock-server-stable",
                                 "VirtualService default/mock-server", "AnalysisTemplate default/success-rate"]),
        ("istio-destinationrule", ["VirtualService default/mock-server", "DestinationRule default/mock-server", "Service default/mock-server"]),
    ):
        files = _one_file_per_object(fixture)
        repo = make_bare_repo(tmp_path / fixture, name="routes", files=files)
        where = ["--cluster", f"local:{tmp_path / fixture / 'cluster'}"]
        assert reconciler("run", repo.url, *where, "--now", T[0]).returncode == 0
        repo.commit(remove=[name for name in files if not name.startswith("Rollout-")], message="only the Rollout stays")
        pruned = reconciler("run", repo.url, *where, "--now", T[1], "--prune")
        assert pruned.returncode == 0, pruned.stdout + pruned.stderr
        assert "pruned " not in pruned.stdout, pruned.stdout
        for what in kept:
            assert f"kept {what}: no longer in SOURCE, but " in pruned.stdout, pruned.stdout
        assert "kept Service default/mock-server: no longer in SOURCE, but VirtualService default/mock-server (kept too) routes to it" in pruned.stdout \
            or fixture != "istio-destinationrule"


def test_an_object_applied_before_applied_from_existed_is_adopted_then_prunable(tmp_path):
    """Upgrading: objects applied by an earlier version carry applied-hash only. The next run writes
    each once more to record its SOURCE (nothing else changes), so a later --prune can find it."""
    repo, cluster = app_repo(tmp_path), tmp_path / "cluster"
    where = ["--cluster", f"local:{cluster}"]
    assert reconciler("run", repo.url, *where, "--now", T[0]).returncode == 0
    path = cluster / "default" / "ConfigMap" / "shop-settings.yaml"
    old = yaml.safe_load(path.read_text())
    del old["metadata"]["annotations"]["reconciler.rollouts.io/applied-from"]
    path.write_text(yaml.safe_dump(old))
    plan = reconciler("plan", repo.url, *where, "--now", T[1])
    assert "replace ConfigMap default/shop-settings: record which SOURCE applied it" in plan.stdout
    adopted = reconciler("run", repo.url, *where, "--now", T[1])
    assert "applied ConfigMap default/shop-settings (replaced)" in adopted.stdout
    assert [line for line in adopted.stdout.splitlines() if line.startswith("applied ")] == ["applied ConfigMap default/shop-settings (replaced)"]
    assert stored(cluster, "ConfigMap", "shop-settings")["data"] == old["data"]
    repo.commit(remove=["extra.yaml"])
    pruned = reconciler("run", repo.url, *where, "--now", T[2], "--prune")
    assert "pruned ConfigMap default/shop-settings: no longer in SOURCE" in pruned.stdout
