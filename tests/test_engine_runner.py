"""run_once: plan writes nothing; a Conflict on save re-loads, re-plans and retries."""

import shutil
from datetime import datetime, timezone

from reconciler.cluster.local import LocalCluster
from reconciler.errors import Conflict
from reconciler.runner import run_once
from reconciler.status.annotations import AnnotationsStatusStore
from tests.conftest import FIXTURES

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_plan_writes_nothing_and_run_applies_plain_manifests_first(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "bluegreen-nginx", repo)
    cluster = LocalCluster(tmp_path / "cluster", now=NOW)
    report = run_once(repo, cluster, AnnotationsStatusStore(cluster), NOW, dry_run=True)
    assert cluster.writes == 0 and report.exit_code == 0
    assert [a.kind for a in report.manifest_actions][:1] == ["ConfigMap"]
    assert report.results[0].plan.actions
    report = run_once(repo, cluster, AnnotationsStatusStore(cluster), NOW, dry_run=False)
    active = cluster.get("Service", "default", "rollout-test-bluegreen-active")
    assert active["spec"]["selector"]["rollouts-pod-template-hash"]
    again = run_once(repo, cluster, AnnotationsStatusStore(cluster), NOW, dry_run=False)
    assert again.writes == 0


class FlakyStore(AnnotationsStatusStore):
    def __init__(self, cluster, failures):
        super().__init__(cluster)
        self.failures = failures
        self.loads = 0

    def load(self, namespaces=None):
        self.loads += 1
        return super().load(namespaces=namespaces)

    def save(self, changed, *, message):
        if self.failures:
            self.failures -= 1
            raise Conflict("ConfigMap", "default", "x", "simulated")
        return super().save(changed, message=message)


def test_conflict_on_save_reloads_and_retries(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "canary-nginx", repo)
    cluster = LocalCluster(tmp_path / "cluster", now=NOW)
    store = FlakyStore(cluster, failures=2)
    report = run_once(repo, cluster, store, NOW, dry_run=False)
    assert store.loads == 3 and report.exit_code == 0 and not report.results[0].error
    store = FlakyStore(cluster, failures=99)
    (repo / "nginx.yaml").write_text((repo / "nginx.yaml").read_text().replace("nginx:1.14.1", "nginx:1.14.2"))
    report = run_once(repo, cluster, store, NOW, dry_run=False)
    assert report.exit_code == 1 and "could not record" in report.results[0].error
    assert len(cluster.list("ReplicaSet", "default")) == 1  # nothing applied without a recorded state
