"""Shallow, single-branch clone of a Git source into a temporary directory (always removed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.errors import SourceError
from reconciler.source.checkout import Checkout
from reconciler.source.credentials import git_environment, secrets_in, split_credentials
from reconciler.source.local import resolve_subpath

_SHA = re.compile(r"^[0-9a-f]{7,40}$")
DEFAULT_TIMEOUT = 300.0


class _GitFailed(Exception):
    def __init__(self, stderr: str):
        super().__init__(stderr)
        self.stderr = stderr


class _Git:
    def __init__(self, env: dict, display_url: str, secrets: list[str], timeout: float):
        self.env, self.display_url, self.secrets, self.timeout = env, display_url, secrets, timeout

    def __call__(self, *args: str, cwd: Path | None = None) -> str:
        full_env = dict(os.environ)
        full_env.update(self.env)
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=self.timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise SourceError(
                f"git gave up on {self.display_url} after {self.timeout:.0f}s",
                hint="check the network path to the Git server (proxy, firewall); RECONCILER_GIT_TIMEOUT sets the limit",
            ) from None
        except FileNotFoundError:
            raise SourceError("git is not installed", hint="install git (Debian: apt-get install git)") from None
        if done.returncode != 0:
            raise _GitFailed(self.scrub(done.stderr))
        return done.stdout.strip()

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return re.sub(r"(\w+://)[^/@\s]+@", r"\1", text)  # user:pass@ in any URL git echoes


def _classify(stderr: str, display_url: str, ref: str | None) -> SourceError:
    text = stderr.lower()
    detail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    # An HTTP 401/403 as git reports it ("the requested URL returned error: 403"), never any "403" in
    # the text: a path or a URL may hold those digits (a repository under /tmp/pytest-403/ was once
    # reported as an authentication failure).
    http_refusal = re.search(r"(returned error|http)\W+40[13]\b", text)
    if http_refusal or any(s in text for s in ("authentication failed", "could not read username", "could not read password",
                                              "permission denied (publickey", "terminal prompts disabled", "invalid username or password")):
        return SourceError(
            f"authentication failed for {display_url}",
            hint="set RECONCILER_GIT_TOKEN (https) or GIT_SSH_COMMAND / RECONCILER_GIT_SSH_KEY (ssh) to a credential that can read it",
        )
    if any(
        s in text
        for s in (
            "could not resolve host",
            "connection refused",
            "unable to connect",
            "connection timed out",
            "network is unreachable",
            "no route to host",
            "failed to connect",
            "could not connect",
        )
    ):
        return SourceError(f"cannot reach {display_url} ({detail})", hint="check the host name, the port, and the network path (proxy, firewall)")
    if ref and any(s in text for s in ("remote branch", "couldn't find remote ref", "not our ref", "unadvertised object", "did not match any", "unknown revision", "invalid reference", "bad object", "no such remote ref")):
        return SourceError(f"ref {ref!r} not found in {display_url}", hint="check the branch, tag or commit name (`git ls-remote URL` lists them)")
    if any(
        s in text
        for s in ("repository not found", "no such repository", "does not appear to be a git repository", "not found", "does not exist", "access denied or repository not exported", "no such file or directory")
    ):
        return SourceError(f"repository {display_url} not found", hint="check the URL; a private repository also needs a credential (RECONCILER_GIT_TOKEN)")
    return SourceError(f"git failed on {display_url}: {detail}", hint="run the same clone by hand to see the full message")


@contextmanager
def clone(url: str, ref: str | None = None, path: str | None = None, timeout: float | None = None) -> Iterator[Checkout]:
    clean_url, user, password = split_credentials(url)
    env = git_environment(clean_url, user, password)
    limit = float(os.environ.get("RECONCILER_GIT_TIMEOUT") or DEFAULT_TIMEOUT)
    timeout = limit if timeout is None else min(max(float(timeout), 0.001), limit)  # run --timeout's remaining time
    git = _Git(env, clean_url, secrets_in(env) + ([password] if password else []), timeout)
    tmp = Path(tempfile.mkdtemp(prefix="reconciler-src-"))
    try:
        repo = tmp / "repo"
        branch = None
        try:
            branch = _fetch(git, clean_url, repo, ref)
        except _GitFailed as failed:
            raise _classify(failed.stderr, clean_url, ref) from None
        commit = git("rev-parse", "HEAD", cwd=repo)
        root = resolve_subpath(repo, path, clean_url)
        yield Checkout(root=root, repo_dir=repo, commit=commit, display_url=clean_url, is_git=True, ref=ref, branch=branch, _env=env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetch(git: _Git, url: str, repo: Path, ref: str | None) -> str | None:
    """Clone `ref` into `repo`; the branch checked out, or None for a detached HEAD."""
    if not ref:
        git("clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags", "--", url, str(repo))
        return git("symbolic-ref", "--short", "-q", "HEAD", cwd=repo) or None
    try:
        git("clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags", "--branch", ref, "--", url, str(repo))
    except _GitFailed as failed:
        missing = any(s in failed.stderr.lower() for s in ("remote branch", "not found in upstream"))
        if not (missing and _SHA.match(ref)):
            raise
        shutil.rmtree(repo, ignore_errors=True)
        _fetch_commit(git, url, repo, ref)
        return None
    try:
        return git("symbolic-ref", "--short", "-q", "HEAD", cwd=repo) or None
    except _GitFailed:
        return None  # a tag: detached HEAD


def _fetch_commit(git: _Git, url: str, repo: Path, sha: str) -> None:
    """A commit by SHA: ask for it by name (shallow); if the server refuses, fetch history and find it."""
    git("init", "--quiet", str(repo))
    git("remote", "add", "origin", url, cwd=repo)
    try:
        if len(sha) != 40:
            raise _GitFailed("abbreviated sha")
        git("fetch", "--quiet", "--depth", "1", "--no-tags", "origin", sha, cwd=repo)
        git("checkout", "--quiet", "--detach", "FETCH_HEAD", cwd=repo)
    except _GitFailed:
        git("fetch", "--quiet", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*", cwd=repo)
        try:
            git("checkout", "--quiet", "--detach", f"{sha}^{{commit}}", cwd=repo)
        except _GitFailed:
            raise _GitFailed(f"fatal: couldn't find remote ref {sha}") from None
    return None
