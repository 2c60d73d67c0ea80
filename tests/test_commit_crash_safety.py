"""`--status commit` on a local checkout survives a killed run: status files are written whole or
not at all, and a git lock file a killed git left behind is cleared when no process holds it
(issue 10, section 4). The random-kill campaign is tests/test_crash_trials.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler.errors import SourceError
from reconciler.status.commit import CommitStatusStore
from tests.concurrency import env

KEY = ("default", "web")
STATE = {"revision": 2, "stepIndex": 1, "stableHash": "598c9cf7c8"}


def git(repo, *args) -> str:
    result = subprocess.run(["git", "-C", str(repo), "-c", "user.name=Pat", "-c", "user.email=pat@example.com", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def checkout(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "web.yaml").write_text("kind: Rollout\n")
    git(repo, "add", "web.yaml")
    git(repo, "commit", "-q", "-m", "start")
    return repo


@pytest.mark.parametrize("lock", [".git/index.lock", ".git/HEAD.lock", ".git/refs/heads/main.lock"])
def test_a_lock_a_killed_git_left_is_cleared_and_the_status_committed(checkout, lock):
    (checkout / lock).write_bytes(b"")  # what `git commit` killed with SIGKILL leaves behind
    store = CommitStatusStore(checkout, push=False)
    store.save({KEY: STATE}, message="reconciler: step 1")
    assert not (checkout / lock).exists()
    assert git(checkout, "log", "-1", "--format=%s") == "reconciler: step 1\n"
    assert git(checkout, "status", "--porcelain") == ""
    assert CommitStatusStore(checkout, push=False).load() == {KEY: STATE}


def test_a_lock_a_live_process_holds_is_never_removed(checkout, monkeypatch):
    lock = checkout / ".git" / "index.lock"
    holder = subprocess.Popen([sys.executable, "-c", f"import time; f = open({str(lock)!r}, 'a'); print('ok', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        monkeypatch.setattr("reconciler.status.git_locks.WAIT_FOR_GIT_SECONDS", 0.5)
        store = CommitStatusStore(checkout, push=False)
        with pytest.raises(SourceError) as caught:
            store.save({KEY: STATE}, message="reconciler: step 1")
        assert str(holder.pid) in caught.value.message and "index.lock" in caught.value.message
        assert "let that git command finish" in caught.value.hint
        assert lock.exists()
    finally:
        holder.kill()
        holder.wait()
    # once the holder is gone, the next run clears it and records the state
    CommitStatusStore(checkout, push=False).save({KEY: STATE}, message="reconciler: step 1")
    assert not lock.exists()


def test_without_proc_the_run_says_which_file_to_remove(checkout, monkeypatch, tmp_path):
    (checkout / ".git" / "index.lock").write_bytes(b"")
    monkeypatch.setattr("reconciler.status.git_locks.PROC", tmp_path / "no-proc")
    with pytest.raises(SourceError) as caught:
        CommitStatusStore(checkout, push=False).save({KEY: STATE}, message="x")
    assert f"remove {checkout / '.git' / 'index.lock'}" in caught.value.hint


_SAVE_WITH_A_FULL_DISK = """
import resource, signal, sys
from reconciler.status.commit import CommitStatusStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
store = CommitStatusStore(sys.argv[1], push=False)
resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))  # any file write past 300 bytes fails (EFBIG)
store.save({("default", "web"): {"revision": 3, "stepIndex": 2, "note": "x" * 2000}}, message="big")
"""


def test_a_status_write_cut_short_leaves_the_previous_file_whole(checkout):
    CommitStatusStore(checkout, push=False).save({KEY: STATE}, message="reconciler: step 1")
    path = checkout / ".reconciler" / "status" / "default" / "web.yaml"
    before = path.read_text()
    cut = subprocess.run([sys.executable, "-c", _SAVE_WITH_A_FULL_DISK, str(checkout)], env=env(), capture_output=True, text=True, timeout=60)
    assert cut.returncode != 0 and "File too large" in cut.stderr
    assert path.read_text() == before
    assert CommitStatusStore(checkout, push=False).load() == {KEY: STATE}
    assert [p.name for p in path.parent.iterdir()] == ["web.yaml"]  # no temporary file left behind
