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
from tests.concurrency import ROLLOUT, reconciler
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

    from reconciler import pipeline
    from reconciler.cli import app

    seen = []
    real = pipeline.run

    def spy(root, cluster, store, now, options):
        seen.append(store.save_attempts)
        return real(root, cluster, store, now, options)

    monkeypatch.setattr(pipeline, "run", spy)
    result = CliRunner().invoke(app, ["run", str(repo), "--status", "commit", "--cluster", f"local:{tmp_path / 'c'}", "--now",
                                      "2026-01-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert seen == [5]


# A person's push lands just before each of the reconciler's first N pushes: the hook moves main
# under the incoming push (as a push that won the race would), and git rejects it.
_REJECT_HOOK = """#!/bin/sh
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
left=$(cat "$GIT_DIR/rejects-left" 2>/dev/null || echo 0)
[ "$left" -gt 0 ] || exit 0
echo $((left - 1)) > "$GIT_DIR/rejects-left"
while read old new ref; do
  [ "$ref" = refs/heads/main ] || continue
  c=$(echo "a person's push $left" | GIT_AUTHOR_NAME=Pat GIT_AUTHOR_EMAIL=pat@example.com GIT_COMMITTER_NAME=Pat \\
      GIT_COMMITTER_EMAIL=pat@example.com git commit-tree "$old^{tree}" -p "$old")
  git update-ref refs/heads/main "$c" "$old"
done
exit 0
"""


@pytest.fixture
def racing_remote(tmp_path):
    """A bare remote holding Rollout web, whose pre-receive hook lets a person's push land first."""
    remote = tmp_path / "racing.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    seed = tmp_path / "seed-web"
    subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
    (seed / "web.yaml").write_text(ROLLOUT.format(image="nginx:v1"))
    for args in (["add", "web.yaml"], ["commit", "-q", "-m", "web"], ["push", "-q", str(remote), "main"]):
        subprocess.run(["git", "-C", str(seed), "-c", "user.name=Pat", "-c", "user.email=pat@example.com", *args], check=True)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(_REJECT_HOOK)
    hook.chmod(0o755)
    return remote


def _run_losing(remote, tmp_path, rejections: int, *args: str):
    (remote / "rejects-left").write_text(f"{rejections}\n")
    return reconciler("run", f"file://{remote}", "--status", "commit", "--cluster", f"local:{tmp_path / 'cluster'}",
                      "--now", "2026-01-01T00:00:00Z", "-o", "json", *args, cwd=tmp_path, check=False)


def test_a_run_outlasts_five_pushes_landing_first(racing_remote, tmp_path):
    import json

    result = _run_losing(racing_remote, tmp_path, 5)  # the old fixed 4 attempts gave up here
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert json.loads(result.stdout)["rollouts"][0]["error"] == ""
    log = subprocess.run(["git", "-C", str(racing_remote), "log", "--format=%an|%s", "main"], capture_output=True, text=True).stdout
    assert log.splitlines()[0].startswith("reconciler|reconciler run")  # recorded on top of ...
    assert sum(line.startswith("Pat|a person's push") for line in log.splitlines()) == 5  # ... every person's push, none forced
    assert (racing_remote / "rejects-left").read_text().strip() == "0"


def test_push_attempts_bounds_the_retries_and_the_run_says_so(racing_remote, tmp_path):
    import json

    result = _run_losing(racing_remote, tmp_path, 5, "--push-attempts", "3")
    assert result.returncode == 1
    [rollout] = json.loads(result.stdout)["rollouts"]
    assert rollout["error"] == "could not record the state after 3 attempts: another writer keeps changing it"
    assert (racing_remote / "rejects-left").read_text().strip() == "2"  # exactly 3 pushes were tried
    assert not (tmp_path / "cluster" / "default" / "ReplicaSet").exists()  # nothing applied for an unrecorded state
