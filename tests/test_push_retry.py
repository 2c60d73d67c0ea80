"""Retrying a rejected push: exponential backoff with jitter, a configurable number of attempts
(`--push-attempts`, RECONCILER_PUSH_ATTEMPTS). The contention campaign is tests/test_push_contention.py."""

from __future__ import annotations

import random
import subprocess
from datetime import datetime, timezone

import pytest

from reconciler.cluster.local import LocalCluster
from reconciler.errors import Conflict
from reconciler.runner import run_once
from reconciler.status.annotations import AnnotationsStatusStore
from tests.concurrency import reconciler
from tests.conftest import FIXTURES
from tests.test_status_commit import KEY, STATE_1, clone, remote  # noqa: F401  (the fixture)

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_backoff_doubles_its_bound_and_jitters_under_it():
    from reconciler.retry import Backoff

    backoff = Backoff(rng=random.Random(3))
    for attempt, bound in [(0, 0.05), (1, 0.1), (2, 0.2), (5, 1.6), (6, 2.0), (12, 2.0)]:
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= bound for d in delays)
        assert max(delays) > bound * 0.8 and min(delays) < bound * 0.2  # spread over the whole range: jitter
        assert len(set(delays)) == 200


class AlwaysLoses(AnnotationsStatusStore):
    """Every save finds that another writer got there first."""

    save_attempts = 3

    def __init__(self, cluster):
        super().__init__(cluster)
        self.saves = 0

    def save(self, changed, *, message):
        self.saves += 1
        raise Conflict("ConfigMap", "default", "x", "someone else wrote it")


def test_the_run_records_as_many_times_as_the_store_allows_then_says_so(tmp_path):
    cluster = LocalCluster(tmp_path / "cluster", now=NOW)
    store = AlwaysLoses(cluster)
    report = run_once(FIXTURES / "canary-nginx", cluster, store, NOW, dry_run=False)
    assert store.saves == 3
    [result] = report.results
    assert result.error == "could not record the state after 3 attempts: another writer keeps changing it"
    assert report.exit_code == 1
    assert cluster.list("ReplicaSet", "default") == []  # nothing applied for a state it could not record


def test_a_rejected_push_waits_then_fetches_and_the_last_one_does_not_wait(remote, tmp_path):  # noqa: F811
    from reconciler.status.commit import CommitStatusStore

    first = CommitStatusStore(clone(remote, tmp_path / "a"))
    second = CommitStatusStore(clone(remote, tmp_path / "b"), push_attempts=2)
    assert second.save_attempts == 2
    waits = []
    second.git.backoff.sleep = waits.append
    first.save({KEY: STATE_1}, message="a: step 1")
    with pytest.raises(Conflict):
        second.save({KEY: STATE_1 | {"stepIndex": 7}}, message="b: stale")
    assert len(waits) == 1 and 0 <= waits[0] <= 0.05
    assert second.load() == {KEY: STATE_1}  # fetched after the wait: it stands on what a pushed
    first.save({KEY: STATE_1 | {"stepIndex": 2}}, message="a: step 2")
    with pytest.raises(Conflict):
        second.save({KEY: STATE_1 | {"stepIndex": 8}}, message="b: stale again")
    assert len(waits) == 1  # the second rejection in a row is the last attempt: no wait before giving up


@pytest.mark.parametrize("how", ["--push-attempts=0", "--push-attempts=101", "RECONCILER_PUSH_ATTEMPTS=0"])
def test_push_attempts_out_of_range_is_a_usage_error(tmp_path, how):
    args = ["run", str(FIXTURES / "canary-nginx"), "--cluster", f"local:{tmp_path / 'c'}"]
    extra = dict([how.split("=")]) if how.startswith("RECONCILER_") else {}
    if not extra:
        args.append(how)
    result = reconciler(*args, cwd=tmp_path, check=False, extra_env=extra)
    assert result.returncode == 2
    assert "from 1 to 100" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "c").exists()  # refused before anything was touched


def test_push_attempts_from_the_environment_reach_the_store(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "web.yaml").write_text((FIXTURES / "canary-nginx" / "nginx.yaml").read_text())
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=P", "-c", "user.email=p@x", "commit", "-qm", "x"], check=True)
    monkeypatch.setenv("RECONCILER_PUSH_ATTEMPTS", "5")
    from typer.testing import CliRunner

    from reconciler import apply
    from reconciler.cli import app

    seen = []
    real = apply._apply_run_holding

    def spy(root, cluster, store, now, **kwargs):
        seen.append(store.save_attempts)
        return real(root, cluster, store, now, **kwargs)

    monkeypatch.setattr(apply, "_apply_run_holding", spy)
    result = CliRunner().invoke(app, ["run", str(repo), "--status", "commit", "--cluster", f"local:{tmp_path / 'c'}", "--now",
                                      "2026-01-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert seen == [5]
