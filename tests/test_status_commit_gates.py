"""`--status commit` end to end through the CLI with a real bare remote: runs clone, record their
progress as pushed commits, and people drive the rollout by commits (image bump, gate annotations)
and by `promote`/`retry` in commit mode."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "mock-server-canary"
STATUS_FILE = ".reconciler/status/default/mock-server.yaml"

pytestmark = pytest.mark.slow


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.name=Pat Person", "-c", "user.email=pat@example.com", "-C", str(cwd), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


class Repo:
    """A bare remote, a person's clone of it, an embedded cluster and a simulated clock."""

    def __init__(self, tmp_path: Path):
        self.remote = tmp_path / "deploy.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.remote)], check=True)
        self.person = tmp_path / "person"
        shutil.copytree(FIXTURE, self.person)
        git(self.person, "init", "-q", "-b", "main")
        git(self.person, "add", ".")
        git(self.person, "commit", "-q", "-m", "mock-server 1.0.0")
        git(self.person, "remote", "add", "origin", f"file://{self.remote}")
        git(self.person, "push", "-q", "origin", "main")
        self.url = f"file://{self.remote}"
        self.cluster = ["--cluster", f"local:{tmp_path / 'cluster'}"]
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)
        self.tmp = tmp_path

    def cli(self, *args: str, expect: int | None = 0) -> str:
        from typer.testing import CliRunner

        from reconciler.cli import app

        result = CliRunner().invoke(app, list(args))
        if expect is not None:
            assert result.exit_code == expect, f"{args}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
        return result.output

    def run(self, times: int = 1) -> dict:
        for _ in range(times):
            stamp = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.cli("run", self.url, "--ref", "main", "--status", "commit", "--now", stamp, *self.cluster, expect=None)
            self.now += timedelta(seconds=10)
        return self.view()

    def view(self) -> dict:
        check = self.tmp / "check"
        shutil.rmtree(check, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", self.url, str(check)], check=True, timeout=60)
        stamp = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.loads(self.cli("get", "rollout", "mock-server", "-o", "json", "--status", "commit", "--source", str(check), "--now", stamp, *self.cluster))

    def person_commit(self, message: str, edit) -> None:
        git(self.person, "pull", "-q", "--ff-only", "origin", "main")
        manifest = self.person / "mock-server-canary-success.yaml"
        manifest.write_text(edit(manifest.read_text()))
        git(self.person, "commit", "-q", "-am", message)
        git(self.person, "push", "-q", "origin", "main")

    def log(self) -> list[str]:
        return git(self.remote, "log", "--format=%an|%s", "main").splitlines()


def set_image(tag: str):
    return lambda text: re.sub(r"mock-go-server:\S+", f"mock-go-server:{tag}", text)


def annotate(key: str, value: str):
    def edit(text: str) -> str:
        if "  annotations:\n" not in text.split("spec:")[0]:
            return text.replace("  name: mock-server\n", f"  name: mock-server\n  annotations:\n    reconciler.rollouts.io/{key}: \"{value}\"\n", 1)
        return text.replace("  annotations:\n", f"  annotations:\n    reconciler.rollouts.io/{key}: \"{value}\"\n", 1)

    return edit


def test_commit_mode_runs_and_gates_from_git_and_from_the_cli(tmp_path):
    repo = Repo(tmp_path)
    view = repo.run(3)
    assert (view["revision"], view["status"]) == (1, "Healthy")
    # the runs recorded their progress as commits on the branch, authored by the reconciler
    assert any(line.startswith("reconciler|") for line in repo.log())
    assert "mock-server" in git(repo.remote, "show", f"main:{STATUS_FILE}")

    repo.person_commit("mock-server 2.0.0", set_image("2.0.0"))
    view = repo.run(3)
    assert (view["revision"], view["status"], view["step"]) == (2, "Paused", 1)
    assert view["message"] == "CanaryPauseStep"
    view = repo.run(2)
    assert view["step"] == 1, "a pause {} waits for promote"

    # promote by a commit: an annotation on the Rollout naming the revision
    repo.person_commit("promote mock-server revision 2", annotate("promote", "2"))
    view = repo.run(2)
    assert view["revision"] == 2 and view["step"] >= 2, view

    # abort by a commit; the annotation stays in the file but acts once
    repo.person_commit("abort mock-server revision 2", annotate("abort", "2"))
    view = repo.run(2)
    assert view["status"] == "Degraded"
    assert view["message"] == "RolloutAborted: Rollout aborted update to revision 2"

    # retry from the CLI in commit mode: the gate is a pushed status commit
    out = repo.cli("retry", "mock-server", "--status", "commit", "--source", repo.url, *repo.cluster)
    assert "retried" in out
    assert repo.log()[0].startswith("reconciler|retry default/mock-server")
    view = repo.run(2)
    assert view["status"] != "Degraded", "the consumed abort annotation must not abort again"
    assert view["revision"] == 2 and view["step"] in (0, 1)

    # promote --full from the CLI in commit mode
    repo.cli("promote", "mock-server", "--full", "--status", "commit", "--source", repo.url, *repo.cluster)
    view = repo.run(4)
    assert (view["status"], view["step"]) == ("Healthy", view["totalSteps"])
    assert [i["image"] for i in view["images"]] == ["ghcr.io/ssup2/mock-go-server:2.0.0"]

    # every person commit is still on the branch: nothing was forced or rewritten
    people = [line for line in repo.log() if line.startswith("Pat Person|")]
    assert people == [
        "Pat Person|abort mock-server revision 2",
        "Pat Person|promote mock-server revision 2",
        "Pat Person|mock-server 2.0.0",
        "Pat Person|mock-server 1.0.0",
    ]


def test_a_gate_from_the_cli_retries_when_a_person_pushed_meanwhile(tmp_path, monkeypatch):
    """The CLI gate's save hits a rejected push (a person pushed between its clone and its push):
    it must land anyway, on top of the person's commit."""
    repo = Repo(tmp_path)
    repo.run(3)
    repo.person_commit("mock-server 2.0.0", set_image("2.0.0"))
    repo.run(3)

    from reconciler.status import commit as commit_module

    original_push = commit_module.GitCommitter._push
    pushed_meanwhile = {"done": False}

    def push_after_a_person(self):
        if not pushed_meanwhile["done"]:
            pushed_meanwhile["done"] = True
            git(repo.person, "pull", "-q", "--ff-only", "origin", "main")
            (repo.person / "NOTES.md").write_text("release notes\n")
            git(repo.person, "add", "NOTES.md")
            git(repo.person, "commit", "-q", "-m", "notes")
            git(repo.person, "push", "-q", "origin", "main")
        return original_push(self)

    monkeypatch.setattr(commit_module.GitCommitter, "_push", push_after_a_person)
    repo.cli("promote", "mock-server", "--status", "commit", "--source", repo.url, *repo.cluster)
    log = repo.log()
    assert log[0].startswith("reconciler|promote default/mock-server") and log[1] == "Pat Person|notes"


def test_two_runs_on_the_same_tick_advance_one_step_not_two(tmp_path):
    """Run B cloned before run A pushed: its push is rejected, it re-plans from A's recorded state
    and does not take the step a second time. Pods need 5 s to become ready, so within one tick
    nobody can observe the step complete: a single step is the only correct outcome."""
    from reconciler.cluster import open_cluster
    from reconciler.runner import run_once
    from reconciler.status.commit import CommitStatusStore

    repo = Repo(tmp_path)
    (tmp_path / "cluster").mkdir()
    (tmp_path / "cluster" / "kubelet.yaml").write_text('readyAfterSeconds:\n  "*": 5\n')
    repo.run(4)
    repo.person_commit("mock-server 2.0.0", set_image("2.0.0"))
    view = repo.run(4)
    assert (view["step"], view["status"]) == (1, "Paused")
    repo.cli("promote", "mock-server", "--status", "commit", "--source", repo.url, *repo.cluster)

    stale = tmp_path / "run-b"
    subprocess.run(["git", "clone", "-q", "-b", "main", repo.url, str(stale)], check=True, timeout=60)
    tick = repo.now
    repo.run(1)  # run A, same tick as run B below
    repo.now = tick
    from reconciler.errors import Conflict

    class CountingStore(CommitStatusStore):
        conflicts = 0

        def save(self, changed, *, message):
            try:
                return super().save(changed, message=message)
            except Conflict:
                CountingStore.conflicts += 1
                raise

    cluster = open_cluster(repo.cluster[1], now=tick)
    report = run_once(stale, cluster, CountingStore(stale), tick, dry_run=False)
    assert CountingStore.conflicts == 1  # the stale plan was refused, then re-planned
    result = next(r for r in report.results if r.name == "mock-server")
    assert not result.error, result.error
    repo.now = tick + timedelta(seconds=1)
    view = repo.view()
    assert view["step"] == 2 and view["setWeight"] == 40, view
    canary = next(rs for rs in view["replicaSets"] if "canary" in rs["tags"])
    assert canary["replicas"] == 2  # ceil(5 × 40 / 100)
    assert not any("reconciler run" in line and "run-b" in line for line in repo.log())


def test_ticks_with_nothing_to_do_make_no_commits(tmp_path):
    repo = Repo(tmp_path)
    view = repo.run(4)
    assert view["status"] == "Healthy"
    before = repo.log()
    repo.run(3)
    assert repo.log() == before
