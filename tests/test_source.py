"""Sources against real repositories: bare repos on disk (file://) and a git daemon on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from reconciler.errors import SourceError, UsageError
from reconciler.source import is_git_url, open_source
from reconciler.source.credentials import git_environment, split_credentials
from tests.gitserver import bare_repo_factory, git, git_daemon_server, make_bare_repo, unused_local_url  # noqa: F401

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The clone's temporary directories go to a directory of this test's own: the system one is
    shared with every other process on the machine (other test runs clone too), so "nothing left
    behind" can only be checked where no one else writes."""
    import tempfile

    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    return private


def _leftovers(private: Path) -> list[str]:
    return sorted(p.name for p in private.iterdir())


def test_url_forms():
    assert is_git_url("https://github.com/o/r")
    assert is_git_url("git@github.com:o/r.git")
    assert is_git_url("file:///srv/r.git")
    assert is_git_url("git://127.0.0.1:9418/r")
    assert not is_git_url("fixtures/canary-nginx")
    assert not is_git_url("/abs/dir")


def test_local_directory_with_path():
    with open_source(str(FIXTURES), path="canary-nginx") as co:
        assert co.root == (FIXTURES / "canary-nginx").resolve()
        assert not co.is_git and co.commit is None


def test_local_rejects_ref_and_escaping_path():
    with pytest.raises(UsageError):
        with open_source(str(FIXTURES / "canary-nginx"), ref="main"):
            pass
    with pytest.raises(UsageError):
        with open_source(str(FIXTURES / "canary-nginx"), path="../bluegreen-nginx"):
            pass
    with pytest.raises(SourceError):
        with open_source(str(FIXTURES / "does-not-exist")):
            pass


def test_clone_default_branch_is_shallow_real_clone_and_removed(bare_repo_factory, private_tmp):
    repo = bare_repo_factory(fixture="canary-nginx")
    repo.commit({"extra.yaml": "a: 1\n"}, message="second")
    with open_source(repo.url) as co:
        assert co.repo_dir.is_relative_to(private_tmp)
        assert co.is_git and co.commit == repo.head()
        assert (co.root / "nginx.yaml").is_file()
        assert co.branch == "main"
        assert git("rev-parse", "--is-shallow-repository", cwd=co.repo_dir) == "true"
        assert git("remote", "get-url", "origin", cwd=co.repo_dir) == repo.url
        assert git("rev-list", "--count", "HEAD", cwd=co.repo_dir) == "1"
        kept = co.repo_dir
    assert not kept.exists()
    assert _leftovers(private_tmp) == []


def test_clone_branch_tag_and_sha(bare_repo_factory):
    repo = bare_repo_factory(fixture="canary-nginx")
    first = repo.head()
    repo.tag("v1", first)
    second = repo.commit({"b.yaml": "b: 2\n"}, message="b")
    other = repo.commit({"c.yaml": "c: 3\n"}, message="on a branch", branch="release")
    with open_source(repo.url, ref="release") as co:
        assert co.commit == other and co.branch == "release"
    with open_source(repo.url, ref="v1") as co:
        assert co.commit == first and co.branch is None
    # A SHA that is not a branch tip: a shallow clone of the default branch cannot reach it.
    with open_source(repo.url, ref=first) as co:
        assert co.commit == first and co.branch is None
    with open_source(repo.url, ref=first[:10]) as co:
        assert co.commit == first
    assert second != first


def test_path_inside_clone(bare_repo_factory):
    repo = bare_repo_factory(fixture="istio-canary", subdir="deploy/istio")
    with open_source(repo.url, path="deploy/istio") as co:
        assert co.root == (co.repo_dir / "deploy" / "istio").resolve()
    with pytest.raises(SourceError, match="not a folder"):
        with open_source(repo.url, path="nope"):
            pass


def test_git_daemon_clone_and_errors(git_daemon_server, private_tmp):
    base, url = git_daemon_server
    make_bare_repo(base, name="served", fixture="bluegreen-nginx")
    with open_source(f"{url}/served.git") as co:
        assert (co.root / "nginx_blue-green.yaml").is_file() and co.repo_dir.is_relative_to(private_tmp)
        assert co.commit == git("rev-parse", "refs/heads/main", cwd=base / "served.git")
    with pytest.raises(SourceError, match="not found") as err:
        with open_source(f"{url}/missing.git"):
            pass
    assert err.value.exit_code == 2 and err.value.hint
    with pytest.raises(SourceError, match="ref 'no-such-branch' not found"):
        with open_source(f"{url}/served.git", ref="no-such-branch"):
            pass
    assert _leftovers(private_tmp) == []  # failed clones leave nothing behind either


def test_git_daemon_helper_serves_at_once_and_stops_on_exit(tmp_path):
    """The helper's socket listens before the URL is handed out (no start-up wait to race), each
    connection gets its own `git daemon --inetd`, and the server is gone after the block."""
    import threading

    from tests.gitserver import git_daemon

    make_bare_repo(tmp_path, name="r", fixture="canary-nginx")
    with git_daemon(tmp_path) as url:
        port = int(url.rsplit(":", 1)[1])
        for _ in range(2):
            assert "refs/heads/main" in git("ls-remote", f"{url}/r.git")
        assert f"git-daemon-{port}" in {t.name for t in threading.enumerate()}
    # The accept loop ended (its socket is closed); the port is not probed, another process may own it by now.
    assert f"git-daemon-{port}" not in {t.name for t in threading.enumerate()}


def test_unreachable():
    with pytest.raises(SourceError, match="cannot reach") as err:
        with open_source(unused_local_url()):
            pass
    assert "network" in err.value.hint


def test_missing_file_repository(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        with open_source((tmp_path / "nope.git").as_uri()):
            pass


def test_credentials_never_in_url_argv_or_messages():
    clean, user, password = split_credentials("https://bob:s3cr3t-token@git.example.invalid/org/repo.git")
    assert clean == "https://git.example.invalid/org/repo.git" and user == "bob" and password == "s3cr3t-token"
    env = git_environment(clean, user, password, environ={})
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "s3cr3t-token" not in env["GIT_CONFIG_VALUE_1"]  # the helper reads it from the environment
    env = git_environment(clean, None, None, environ={"GITHUB_TOKEN": "ghp_abc"})
    assert "ghp_abc" in env.values() and all("ghp_abc" not in v for k, v in env.items() if k.startswith("GIT_CONFIG"))


def test_credential_helper_really_answers_git(tmp_path):
    """The helper configured through the environment hands git the token (checked with `git credential fill`)."""
    env = dict(os.environ)
    env.update(git_environment("https://git.example.invalid/r.git", None, None, environ={"RECONCILER_GIT_TOKEN": "tok-123"}))
    out = subprocess.run(
        ["git", "credential", "fill"], input="protocol=https\nhost=git.example.invalid\n\n", env=env, capture_output=True, text=True, timeout=20
    )
    assert "password=tok-123" in out.stdout and "username=x-access-token" in out.stdout


def test_auth_failure_message_has_no_secret():
    from reconciler.gitrepo import scrub
    from reconciler.source.git import _classify

    scrubbed = scrub("fatal: Authentication failed for 'https://x:tok-999@h.invalid/r'", ["tok-999"])
    assert "tok-999" not in scrubbed
    error = _classify(scrubbed, "https://h.invalid/r", None)
    assert "authentication failed" in error.message and "tok-999" not in error.message + error.hint


def test_http_refusals_are_authentication_failures_but_digits_in_a_path_are_not():
    from reconciler.source.git import _classify

    refused = _classify("fatal: unable to access 'https://git.example/x.git/': The requested URL returned error: 403\n", "https://git.example/x.git", None)
    assert refused.message.startswith("authentication failed")
    missing = _classify("fatal: '/tmp/pytest-403/repo/nope.git' does not appear to be a git repository\n", "file:///tmp/pytest-403/repo/nope.git", None)
    assert not missing.message.startswith("authentication failed"), missing.message
