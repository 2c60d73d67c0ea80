"""`--status commit` against real bare remotes: commits, pushes, rejected pushes, human commits."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from reconciler.errors import Conflict, ReconcilerError, SourceError
from reconciler.status.commit import CommitStatusStore, StatusFileError

KEY = ("default", "rollout-test-canary-nginx")
STATE_1 = {"revision": 2, "stepIndex": 1, "pauseStartedAt": "2026-01-01T00:00:10Z", "stableHash": "598c9cf7c8"}
STATE_2 = {"revision": 2, "stepIndex": 2, "pauseStartedAt": None, "stableHash": "598c9cf7c8"}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Pat Person", "-c", "user.email=pat@example.com", "-C", str(cwd), *args],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def remote(tmp_path) -> Path:
    """A bare repository with one commit holding a manifest, branch main."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
    (seed / "rollout.yaml").write_text("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: demo\n")
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "first manifests")
    git(seed, "push", "-q", str(bare), "main")
    return bare


def clone(remote: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", "main", f"file://{remote}", str(dest)], check=True, timeout=60)
    return dest


def human_commit(remote: Path, workdir: Path, filename: str, text: str) -> str:
    if not workdir.exists():
        clone(remote, workdir)
    else:
        git(workdir, "pull", "-q", "--ff-only", "origin", "main")
    (workdir / filename).write_text(text)
    git(workdir, "add", filename)
    git(workdir, "commit", "-q", "-m", f"person edits {filename}")
    for _attempt in range(30):  # the person, too, loses races against the run's pushes; they rebase their own commit
        pushed = subprocess.run(["git", "-C", str(workdir), "push", "-q", "origin", "HEAD:main"], capture_output=True, timeout=60)
        if pushed.returncode == 0:
            return git(workdir, "rev-parse", "HEAD").strip()
        git(workdir, "pull", "-q", "--rebase", "origin", "main")
    raise AssertionError("the person could not push")


def remote_log(remote: Path) -> list[str]:
    return git(remote, "log", "--format=%an|%s", "main").splitlines()


def test_save_writes_a_readable_file_commits_and_pushes(remote, tmp_path):
    store = CommitStatusStore(clone(remote, tmp_path / "run"))
    assert store.load() == {}
    store.save({KEY: STATE_1}, message="reconciler: default/rollout-test-canary-nginx step 1")
    path = tmp_path / "run" / ".reconciler" / "status" / "default" / "rollout-test-canary-nginx.yaml"
    text = path.read_text()
    assert text.startswith("# Progress of Rollout default/rollout-test-canary-nginx")
    assert "stepIndex: 1" in text and "name: rollout-test-canary-nginx" in text
    assert remote_log(remote)[0] == "reconciler|reconciler: default/rollout-test-canary-nginx step 1"
    assert store.pushes == 1
    # a fresh clone (the next CronJob tick) reads the same state back
    assert CommitStatusStore(clone(remote, tmp_path / "next")).load() == {KEY: STATE_1}


def test_nothing_changed_makes_no_commit(remote, tmp_path):
    store = CommitStatusStore(clone(remote, tmp_path / "run"))
    store.save({KEY: STATE_1}, message="one")
    before = remote_log(remote)
    store.save({KEY: dict(STATE_1)}, message="again")
    store.save({}, message="empty")
    assert remote_log(remote) == before
    assert store.commits == 1


def test_rejected_push_raises_conflict_then_replan_succeeds_without_force(remote, tmp_path):
    first = CommitStatusStore(clone(remote, tmp_path / "a"))
    second = CommitStatusStore(clone(remote, tmp_path / "b"))  # cloned before `first` pushes: stale
    first.save({KEY: STATE_1}, message="run a: step 1")
    pushed_by_first = git(remote, "rev-parse", "main").strip()

    with pytest.raises(Conflict):
        second.save({KEY: STATE_1 | {"stepIndex": 9}}, message="run b: stale step")
    # the stale clone now stands on the remote branch and sees what run a recorded
    assert second.load() == {KEY: STATE_1}
    second.save({KEY: STATE_2}, message="run b: step 2 after re-plan")

    log = remote_log(remote)
    assert log[:2] == ["reconciler|run b: step 2 after re-plan", "reconciler|run a: step 1"]
    assert "run b: stale step" not in "\n".join(log)
    # run a's commit is still an ancestor: nothing was forced
    subprocess.run(["git", "-C", str(remote), "merge-base", "--is-ancestor", pushed_by_first, "main"], check=True)


def test_a_persons_commit_pushed_meanwhile_is_kept(remote, tmp_path):
    store = CommitStatusStore(clone(remote, tmp_path / "run"))
    person_sha = human_commit(remote, tmp_path / "person", "README.md", "hello\n")
    with pytest.raises(Conflict):
        store.save({KEY: STATE_1}, message="reconciler: step 1")
    store.save({KEY: STATE_1}, message="reconciler: step 1")
    subprocess.run(["git", "-C", str(remote), "merge-base", "--is-ancestor", person_sha, "main"], check=True)
    assert remote_log(remote)[:2] == ["reconciler|reconciler: step 1", "Pat Person|person edits README.md"]


def test_concurrent_pusher_never_loses_a_commit(remote, tmp_path):
    """A person pushes in a loop while the run saves with the runner's retry-on-Conflict loop."""
    stop = threading.Event()
    human_shas: list[str] = []

    def person():
        workdir = tmp_path / "person"
        for index in range(8):
            if stop.is_set():
                break
            human_shas.append(human_commit(remote, workdir, f"note-{index}.txt", f"{index}\n"))

    pusher = threading.Thread(target=person)
    pusher.start()
    store = CommitStatusStore(clone(remote, tmp_path / "run"))
    conflicts = 0
    try:
        for step in range(6):
            for _attempt in range(20):
                try:
                    store.save({KEY: STATE_1 | {"stepIndex": step}}, message=f"reconciler: step {step}")
                    break
                except Conflict:
                    conflicts += 1
            else:
                pytest.fail("the run never got its status pushed")
    finally:
        pusher.join(timeout=60)
        stop.set()
    assert not pusher.is_alive()
    for sha in human_shas:
        subprocess.run(["git", "-C", str(remote), "merge-base", "--is-ancestor", sha, "main"], check=True)
    fresh = CommitStatusStore(clone(remote, tmp_path / "check"))
    assert fresh.load()[KEY]["stepIndex"] == 5
    assert len(human_shas) == 8


def test_local_checkout_commits_only_status_paths_and_does_not_push(tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "a.yaml").write_text("kind: ConfigMap\n")
    git(repo, "add", "a.yaml")
    git(repo, "commit", "-q", "-m", "start")
    (repo / "wip.yaml").write_text("kind: Service\n")
    git(repo, "add", "wip.yaml")  # a person's staged, uncommitted work
    store = CommitStatusStore(repo, push=False)
    store.save({KEY: STATE_1}, message="reconciler: step 1")
    files = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert files == [".reconciler/status/default/rollout-test-canary-nginx.yaml"]
    assert "A  wip.yaml" in git(repo, "status", "--porcelain")


def test_removing_a_rollout_deletes_its_file(remote, tmp_path):
    store = CommitStatusStore(clone(remote, tmp_path / "run"))
    store.save({KEY: STATE_1, ("shop", "web"): STATE_2}, message="two")
    store.save({KEY: None}, message="rollout deleted")
    assert store.load() == {("shop", "web"): STATE_2}
    assert remote_log(remote)[0] == "reconciler|rollout deleted"


def test_refuses_to_drop_a_local_commit_that_is_not_a_status_update(remote, tmp_path):
    run = clone(remote, tmp_path / "run")
    store = CommitStatusStore(run)
    (run / "mine.txt").write_text("x\n")
    git(run, "add", "mine.txt")
    git(run, "commit", "-q", "-m", "local work")
    human_commit(remote, tmp_path / "person", "README.md", "hi\n")
    with pytest.raises(SourceError, match="not the reconciler.s own"):
        store.save({KEY: STATE_1}, message="reconciler: step 1")
    assert (run / "mine.txt").exists()


def test_errors_for_non_git_dirs_detached_heads_and_broken_files(remote, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ReconcilerError, match="needs a Git repository"):
        CommitStatusStore(plain)
    run = clone(remote, tmp_path / "run")
    git(run, "checkout", "-q", "--detach")
    with pytest.raises(ReconcilerError, match="detached HEAD") as caught:
        CommitStatusStore(run)
    assert "--ref" in caught.value.hint
    other = clone(remote, tmp_path / "other")
    broken = other / ".reconciler" / "status" / "default" / "x.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("state: [unclosed\n")
    store = CommitStatusStore(other)  # a broken file is reported, not fatal: the engine rebuilds it from the cluster
    assert store.load() == {}
    assert "x.yaml is not valid YAML" in store.unreadable[("default", "x")]


def test_push_errors_never_show_credentials(remote, tmp_path):
    run = clone(remote, tmp_path / "run")
    git(run, "remote", "set-url", "origin", "https://user:s3cret@127.0.0.1:9/nowhere.git")
    store = CommitStatusStore(run)
    with pytest.raises(SourceError) as caught:
        store.save({KEY: STATE_1}, message="x")
    assert "s3cret" not in caught.value.message + caught.value.hint


def test_from_checkout_uses_the_checkout_env_and_pushes_only_for_clones(remote, tmp_path):
    class FakeCheckout:
        def __init__(self, repo_dir, is_git):
            self.repo_dir, self.is_git = repo_dir, is_git

        def git_env(self):
            import os

            return dict(os.environ, RECONCILER_TEST_MARK="1")

    run = clone(remote, tmp_path / "run")
    assert CommitStatusStore.from_checkout(FakeCheckout(run, True)).push is True
    assert CommitStatusStore.from_checkout(FakeCheckout(run, False)).push is False
    assert CommitStatusStore.from_checkout(FakeCheckout(run, True))._env["RECONCILER_TEST_MARK"] == "1"


def test_a_tick_that_only_moves_updated_at_makes_no_commit(remote, tmp_path):
    store = CommitStatusStore(clone(remote, tmp_path / "run"))
    store.save({KEY: STATE_1 | {"updated_at": "2026-01-01T00:00:00Z"}}, message="one")
    store.save({KEY: STATE_1 | {"updated_at": "2026-01-01T00:01:00Z"}}, message="tick")
    assert store.commits == 1


def test_engine_state_round_trips_through_the_file(remote, tmp_path):
    state_module = pytest.importorskip("reconciler.engine.state")
    state = state_module.RolloutState(revision=2, current_hash="bc478cd89", stable_hash="598c9cf7c8", step_index=1,
                                      pause_started_at="2026-01-01T00:01:00Z", revisions={"598c9cf7c8": 1, "bc478cd89": 2})
    store = CommitStatusStore(clone(remote, tmp_path / "run"))
    store.save({KEY: state.to_dict()}, message="engine state")
    loaded = CommitStatusStore(clone(remote, tmp_path / "again")).load()[KEY]
    assert state_module.RolloutState.from_dict(loaded) == state


def test_symlinked_status_files_are_refused(remote, tmp_path):
    run = clone(remote, tmp_path / "run")
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    status = run / ".reconciler" / "status" / "default"
    status.mkdir(parents=True)
    (status / "rollout-test-canary-nginx.yaml").symlink_to(outside)
    store = CommitStatusStore(run)
    with pytest.raises(StatusFileError, match="symbolic link"):
        store.load()
    with pytest.raises(StatusFileError, match="symbolic link"):
        store.save({KEY: STATE_1}, message="x")
    assert outside.read_text() == "precious\n"
    linked_dir = clone(remote, tmp_path / "run2")
    (linked_dir / ".reconciler").mkdir()
    (linked_dir / ".reconciler" / "status").symlink_to(tmp_path)
    with pytest.raises(StatusFileError, match="symbolic link"):
        CommitStatusStore(linked_dir).save({KEY: STATE_1}, message="x")


def test_aliases_are_never_written_and_refused_when_read(remote, tmp_path):
    run = clone(remote, tmp_path / "run")
    shared = {"a": 1}
    store = CommitStatusStore(run)
    store.save({KEY: {"x": shared, "y": shared}}, message="shared dicts")
    text = (run / ".reconciler" / "status" / "default" / "rollout-test-canary-nginx.yaml").read_text()
    assert "&" not in text and "*" not in text
    bomb = run / ".reconciler" / "status" / "default" / "bomb.yaml"
    bomb.write_text("a: &a [1, 1]\nb: &b [*a, *a]\nstate: {c: [*b, *b]}\n")
    assert ("default", "bomb") not in store.load()  # refused: reported as unreadable, never expanded
    assert "aliases" in store.unreadable[("default", "bomb")]
