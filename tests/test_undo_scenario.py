"""Seed 002's undo story end to end with the real engine on the embedded cluster:
rev 1 (1.0.0) stable, rev 2 (2.0.0) canary, rev 3 (3.0.0) replaces it, `undo` commits 2.0.0 back
and the next run creates revision 4 reusing revision 2's ReplicaSet; undo again gives revision 5
reusing revision 3's. Progress kept with --status commit in the same repository."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "mock-server-canary"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _engine_ready() -> bool:
    try:
        import reconciler.engine.plan  # noqa: F401
        from reconciler.cluster.local import LocalCluster  # noqa: F401
        from reconciler.runner import run_once  # noqa: F401
    except ImportError:
        return False
    import inspect

    import reconciler.runner

    return "NotImplementedError" not in inspect.getsource(reconciler.runner.run_once)


pytestmark = [pytest.mark.slow, pytest.mark.skipif(not _engine_ready(), reason="the step engine (engineer B) has not landed yet")]


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.name=Pat", "-c", "user.email=pat@example.com", "-C", str(cwd), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


class Story:
    def __init__(self, tmp_path: Path):
        from reconciler.status.commit import CommitStatusStore

        self.repo = tmp_path / "repo"
        shutil.copytree(FIXTURE, self.repo)
        git(self.repo, "init", "-q", "-b", "main")
        git(self.repo, "add", ".")
        git(self.repo, "commit", "-q", "-m", "mock-server 1.0.0")
        self.cluster_dir = tmp_path / "cluster"
        self.store = CommitStatusStore(self.repo, push=False)
        self.now = START

    def cluster(self):
        from reconciler.cluster import open_cluster

        return open_cluster(f"local:{self.cluster_dir}", now=self.now)

    def run(self, times: int = 1) -> dict:
        from reconciler.runner import run_once

        view = {}
        for _ in range(times):
            report = run_once(self.repo, self.cluster(), self.store, self.now, dry_run=False)
            result = next(r for r in report.results if r.name == "mock-server")
            assert not result.error, result.error
            view = result.view
            self.now += timedelta(seconds=10)
        return view

    def set_image(self, tag: str) -> None:
        manifest = next(self.repo.glob("*.yaml"))
        text = manifest.read_text()
        import re

        manifest.write_text(re.sub(r"image: ghcr.io/ssup2/mock-go-server:\S+", f"image: ghcr.io/ssup2/mock-go-server:{tag}", text))
        git(self.repo, "commit", "-q", "-am", f"mock-server {tag}")

    def replicaset_of(self, view: dict, revision: int) -> str:
        return next(rs["name"] for rs in view["replicaSets"] if rs["revision"] == revision)


def test_undo_twice_reuses_old_replicasets_as_new_revisions(tmp_path):
    from reconciler.commands.undo import undo_in_checkout

    story = Story(tmp_path)
    view = story.run(4)
    assert (view["status"], view["revision"]) == ("Healthy", 1)
    story.set_image("2.0.0")
    view = story.run(4)
    assert (view["revision"], view["status"], view["step"]) == (2, "Paused", 1)
    rs2 = story.replicaset_of(view, 2)
    story.set_image("3.0.0")
    view = story.run(4)
    assert view["revision"] == 3
    rs3 = story.replicaset_of(view, 3)

    result = undo_in_checkout(story.repo, story.repo, story.cluster(), name="mock-server")
    assert (result.from_revision, result.to_revision, result.committed) == (3, 2, True)
    assert "undo default/mock-server" in git(story.repo, "log", "-1", "--format=%s")
    view = story.run(4)
    assert view["revision"] == 4
    assert story.replicaset_of(view, 4) == rs2  # same pod-template hash, new revision number
    assert "ghcr.io/ssup2/mock-go-server:2.0.0" in [i["image"] for i in view["images"]]

    undo_in_checkout(story.repo, story.repo, story.cluster(), name="mock-server")
    view = story.run(4)
    assert view["revision"] == 5 and story.replicaset_of(view, 5) == rs3
    assert (view["status"], view["step"]) == ("Paused", 1)
