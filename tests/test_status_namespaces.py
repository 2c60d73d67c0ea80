"""`--status annotations` keeps each rollout's state in its own namespace and reads it one namespace
at a time, so namespaced Roles are enough; `get`/`list`/`promote` find it from `-n`, and
`list rollouts -A` lists every namespace (with credentials that may)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.backends import ROOT, cli, get_view
from tests.conftest import FIXTURES

NAME = "rollout-test-canary-nginx"


def at(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"2026-01-01T00:{minutes:02d}:{secs:02d}Z"


def two_namespace_repo(tmp_path):
    """The seed 000 canary in `default`, and the same Rollout (with its ConfigMap) in `shop`."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "canary-nginx", repo)
    text = (repo / "nginx.yaml").read_text()
    (repo / "shop.yaml").write_text(text.replace("metadata:\n  name:", "metadata:\n  namespace: shop\n  name:"))
    return repo


def seed_shop(backend) -> None:
    if backend.name == "kube":
        backend.api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})


def test_state_per_namespace_and_found_from_the_namespace_flag(backend, tmp_path):
    seed_shop(backend)
    repo = two_namespace_repo(tmp_path)
    assert cli(backend, "run", str(repo), now=at(0)).returncode == 0
    shop = repo / "shop.yaml"
    shop.write_text(shop.read_text().replace("image: nginx:1.14.1", "image: nginx:1.14.2"))
    cli(backend, "run", str(repo), now=at(10))
    cli(backend, "run", str(repo), now=at(20))

    proc = cli(backend, "get", "rollout", NAME, "-n", "shop", "-o", "json", now=at(21))
    assert proc.returncode == 0, proc.stderr
    assert (json.loads(proc.stdout)["namespace"], json.loads(proc.stdout)["status"]) == ("shop", "Paused")
    assert get_view(backend, NAME, at(21))["status"] == "Healthy"  # -n default (the default)
    listed = json.loads(cli(backend, "list", "rollouts", "-n", "shop", "-o", "json", now=at(21)).stdout)
    assert [(v["namespace"], v["status"]) for v in listed] == [("shop", "Paused")]

    assert cli(backend, "promote", NAME, "-n", "shop").returncode == 0
    cli(backend, "run", str(repo), now=at(30))
    view = json.loads(cli(backend, "get", "rollout", NAME, "-n", "shop", "-o", "json", now=at(31)).stdout)
    assert (view["status"], view["step"]) == ("Progressing", 2)

    if backend.name == "kube":
        state_lists = {r.path for r in backend.api.calls("list", "configmaps$")}
        assert state_lists == {"/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/shop/configmaps"}
        assert [r for r in backend.api.requests if r.status == 403] == []
        assert {cm["metadata"]["name"] for cm in backend.api.objects("ConfigMap", "shop")} >= {f"{NAME}-rollout-state"}
    else:
        listed = json.loads(cli(backend, "list", "rollouts", "-A", "-o", "json", now=at(31)).stdout)
        assert [(v["namespace"], v["name"]) for v in listed] == [("default", NAME), ("shop", NAME)]


def kube_cli(api, tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update({"KUBECONFIG": str(api.write_kubeconfig(tmp_path / "kubeconfig")), "PYTHONPATH": str(ROOT)})
    command = [sys.executable, "-m", "reconciler", *args, "--cluster", "kube", "--now", at(0)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def namespaced_only(tmp_path):
    """The emulator with deploy/rbac.yaml's Role bound in `default` and `shop` only, as the docs say."""
    from tests.kube_emulator import KubeEmulator
    from tests.kube_emulator.backend import rbac_from_manifests

    bound = [(g, r, v, s) for g, r, v, scope in rbac_from_manifests() for s in
             (("namespace:default", "namespace:shop") if scope == "namespace" else (scope,))]
    with KubeEmulator(rbac=bound) as api:
        api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        yield api


def test_a_run_needs_no_cluster_wide_read(namespaced_only, tmp_path):
    api = namespaced_only
    proc = kube_cli(api, tmp_path, "run", str(two_namespace_repo(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    assert [r for r in api.requests if r.status == 403] == []
    assert all("/namespaces/" in r.path for r in api.calls("list") if "clusteranalysistemplates" not in r.path)
    assert {cm["metadata"]["namespace"] for ns in ("default", "shop") for cm in api.objects("ConfigMap", ns)
            if cm["metadata"]["name"].endswith("-rollout-state")} == {"default", "shop"}
    proc = kube_cli(api, tmp_path, "get", "rollout", NAME, "-n", "shop", "-o", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["namespace"] == "shop"


def test_list_all_namespaces_needs_a_cluster_wide_list_and_says_so(namespaced_only, tmp_path):
    api = namespaced_only
    assert kube_cli(api, tmp_path, "run", str(two_namespace_repo(tmp_path))).returncode == 0
    proc = kube_cli(api, tmp_path, "list", "rollouts", "-A")
    assert proc.returncode == 2
    assert "cannot list configmaps" in proc.stderr and "in all namespaces" in proc.stderr
    assert "-n NAMESPACE" in proc.stderr and "view" in proc.stderr
    # A person whose credentials may list ConfigMaps everywhere (the built-in `view` ClusterRole).
    api.rbac.add(("", "configmaps", "list", "cluster"))
    proc = kube_cli(api, tmp_path, "list", "rollouts", "-A", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert [(v["namespace"], v["name"]) for v in json.loads(proc.stdout)] == [("default", NAME), ("shop", NAME)]


def test_the_store_lists_one_namespace_at_a_time(namespaced_only, tmp_path):
    from reconciler.cluster.kube import KubeCluster
    from reconciler.errors import Forbidden
    from reconciler.status.annotations import AnnotationsStatusStore

    kube = KubeCluster(kubeconfig=str(namespaced_only.write_kubeconfig(tmp_path / "kubeconfig")))
    store = AnnotationsStatusStore(kube)
    store.save({("default", "a"): {"revision": 1}, ("shop", "b"): {"revision": 2}}, message="test")
    assert store.load(namespaces=["shop", "default"]) == {("default", "a"): {"revision": 1}, ("shop", "b"): {"revision": 2}}
    assert store.load(namespaces=["shop"]) == {("shop", "b"): {"revision": 2}}
    assert AnnotationsStatusStore(kube, namespaces=["default"]).load() == {("default", "a"): {"revision": 1}}
    assert store.load(namespaces=[]) == {}
    with pytest.raises(Forbidden, match="in all namespaces"):
        store.load()  # no namespaces: the one cluster-wide list, which the deploy RBAC does not grant
