"""reconciler/gitrepo.py, the one Git adapter (GitPython), against real repositories: bare remotes
on disk, a `git daemon` on 127.0.0.1 and a server that never answers. Its callers' messages
(cannot clone, authentication failed, push rejected) are tested in test_source.py and
test_status_commit*.py; here, what the adapter itself promises."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from reconciler import gitrepo
from tests.gitserver import bare_repo_factory, git, git_daemon_server, make_bare_repo  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
AUTHOR = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def test_clone_of_a_branch_and_of_a_tag(bare_repo_factory, tmp_path):
    remote = bare_repo_factory(files={"a.yaml": "a: 1\n"})
    remote.commit({"a.yaml": "a: 2\n"}, message="second")
    remote.tag("v1")
    repo = gitrepo.clone(remote.url, tmp_path / "main")
    assert repo.head_commit() == remote.commits[-1] and repo.branch() == "main"
    assert git("rev-list", "--count", "HEAD", cwd=tmp_path / "main") == "1"  # shallow
    tagged = gitrepo.clone(remote.url, tmp_path / "tag", branch="v1")
    assert tagged.branch() is None and tagged.head_commit() == remote.commits[-1]  # a tag: detached HEAD


def test_a_failed_command_is_git_failed_with_gits_message(tmp_path):
    with pytest.raises(gitrepo.GitFailed) as caught:
        gitrepo.clone((tmp_path / "nope.git").as_uri(), tmp_path / "x")
    assert caught.value.command == "clone" and caught.value.status not in (0, None)
    assert "does not appear to be a git repository" in caught.value.stderr or "not found" in caught.value.stderr.lower()


def test_a_server_that_never_answers_is_a_timeout_not_a_failure(tmp_path):
    """GitPython's kill_after_timeout stops git; the caller gets GitTimeout (no fallback retries it)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(gitrepo.GitTimeout) as caught:
            gitrepo.clone(f"git://127.0.0.1:{listener.getsockname()[1]}/silent.git", tmp_path / "x", timeout=1.5)
    finally:
        for conn in held:
            conn.close()
        listener.close()
    assert caught.value.command == "clone" and time.monotonic() - started < 30


def test_credentials_never_reach_the_output():
    text = "fatal: Authentication failed for 'https://bob:tok-999@h.invalid/r' (tok-999)"
    scrubbed = gitrepo.scrub(text, ["tok-999"])
    assert "tok-999" not in scrubbed and "bob" not in scrubbed and "https://h.invalid/r" in scrubbed


def _checkout(remote, tmp_path: Path, name: str = "co") -> gitrepo.Repository:
    git("clone", "-q", str(remote.path), str(tmp_path / name))
    return gitrepo.Repository(tmp_path / name, env=AUTHOR)


def test_commit_paths_commits_only_those_paths(bare_repo_factory, tmp_path):
    repo = _checkout(bare_repo_factory(files={"a.yaml": "a\n", "b.yaml": "b\n"}), tmp_path)
    (repo.top / "a.yaml").write_text("a2\n")
    (repo.top / "b.yaml").write_text("b2\n")
    git("add", "b.yaml", cwd=repo.top)  # a person's staged edit
    (repo.top / "new.yaml").write_text("n\n")
    assert repo.commit_paths(["a.yaml", "new.yaml"], "ours") is True
    assert git("show", "--name-only", "--format=%s", "HEAD", cwd=repo.top).split() == ["ours", "a.yaml", "new.yaml"]
    assert git("diff", "--cached", "--name-only", cwd=repo.top) == "b.yaml"  # still staged, not committed
    assert repo.commit_paths(["a.yaml"], "again") is False  # nothing changed


def test_has_changes_sees_staged_unstaged_and_untracked(bare_repo_factory, tmp_path):
    repo = _checkout(bare_repo_factory(files={"a.yaml": "a\n", "b.yaml": "b\n"}), tmp_path)
    assert not repo.has_changes("a.yaml")
    (repo.top / "a.yaml").write_text("edited\n")
    assert repo.has_changes("a.yaml") and not repo.has_changes("b.yaml")
    git("add", "a.yaml", cwd=repo.top)
    assert repo.has_changes("a.yaml")
    (repo.top / "c.yaml").write_text("new\n")
    assert repo.has_changes("c.yaml") and repo.has_changes(str(repo.top / "c.yaml"))


def test_push_and_a_rejected_push(bare_repo_factory, tmp_path):
    remote = bare_repo_factory(files={"a.yaml": "a\n"})
    ours, theirs = _checkout(remote, tmp_path, "ours"), _checkout(remote, tmp_path, "theirs")
    (theirs.top / "t.yaml").write_text("t\n")
    theirs.commit_paths(["t.yaml"], "theirs")
    assert theirs.push("origin", "HEAD:refs/heads/main").ok
    assert remote.head() == theirs.head_commit()
    (ours.top / "o.yaml").write_text("o\n")
    ours.commit_paths(["o.yaml"], "ours")
    rejected = ours.push("origin", "HEAD:refs/heads/main")
    assert not rejected.ok and "[rejected]" in rejected.output and remote.head() == theirs.head_commit()
    ours.fetch("origin", "refs/heads/main")
    assert list(ours.local_commits("FETCH_HEAD").values()) == [["o.yaml"]]
    ours.reset_keep("FETCH_HEAD")
    assert ours.head_commit() == theirs.head_commit() and not (ours.top / "o.yaml").exists()


def test_a_push_git_cannot_even_try_is_git_failed(git_daemon_server, tmp_path):
    base, url = git_daemon_server
    make_bare_repo(base, name="served", files={"a.yaml": "a\n"})
    repo = gitrepo.clone(f"{url}/served.git", tmp_path / "co", env=AUTHOR)
    (repo.top / "b.yaml").write_text("b\n")
    repo.commit_paths(["b.yaml"], "b")
    with pytest.raises(gitrepo.GitFailed) as caught:  # git daemon serves read-only
        repo.push("origin", "HEAD:refs/heads/main")
    assert caught.value.command == "push" and caught.value.stderr


def test_find_the_checkout_of_a_folder(bare_repo_factory, tmp_path):
    remote = bare_repo_factory(files={"deploy/a.yaml": "a\n"})
    repo = _checkout(remote, tmp_path)
    inner = gitrepo.find(repo.top / "deploy")
    assert inner is not None and inner.top == repo.top and inner.last_commit("a.yaml") == remote.commits[-1]
    assert gitrepo.find(tmp_path) is None
    assert gitrepo.find(remote.path) is None  # a bare repository has no working tree
    assert gitrepo.find(repo.top / ".git") is None
    assert gitrepo.is_work_tree(repo.top / "deploy") and not gitrepo.is_work_tree(tmp_path / "missing")


def test_without_git_the_message_says_so(tmp_path):
    code = ("from reconciler.source import open_source\n"
            "from reconciler.errors import SourceError\n"
            "try:\n    open_source('file:///nowhere.git').__enter__()\n"
            "except SourceError as err:\n    print('ERR', err.message)\n")
    env = dict(os.environ, PATH=str(tmp_path), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "ERR git is not installed" in done.stdout, done.stdout + done.stderr
