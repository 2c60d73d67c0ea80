"""Shallow, single-branch clone of a Git source into a temporary directory (always removed).

Git runs through reconciler/gitrepo.py (GitPython); this module turns git's failures into the
messages a person can act on: authentication failed (only for git's own HTTP 401/403 report and
its credential errors), cannot reach, ref not found, repository not found, gave up after the time
limit. No message carries a credential (gitrepo scrubs git's output)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler import gitrepo
from reconciler.errors import SourceError
from reconciler.source.checkout import Checkout
from reconciler.source.credentials import git_environment, secrets_in, split_credentials
from reconciler.source.local import resolve_subpath

_SHA = re.compile(r"^[0-9a-f]{7,40}$")
DEFAULT_TIMEOUT = 300.0


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
    options = {"env": env, "timeout": timeout, "secrets": secrets_in(env) + ([password] if password else [])}
    tmp = Path(tempfile.mkdtemp(prefix="reconciler-src-"))
    try:
        repo_dir = tmp / "repo"
        try:
            repo, branch = _fetch(clean_url, repo_dir, ref, options)
            commit = repo.head_commit()
        except gitrepo.GitTimeout:
            raise SourceError(
                f"git gave up on {clean_url} after {timeout:.0f}s",
                hint="check the network path to the Git server (proxy, firewall); RECONCILER_GIT_TIMEOUT sets the limit",
            ) from None
        except gitrepo.GitFailed as failed:
            raise _classify(failed.stderr, clean_url, ref) from None
        root = resolve_subpath(repo_dir, path, clean_url)
        yield Checkout(root=root, repo_dir=repo_dir, commit=commit, display_url=clean_url, is_git=True, ref=ref, branch=branch, _env=env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetch(url: str, dest: Path, ref: str | None, options: dict) -> tuple[gitrepo.Repository, str | None]:
    """Clone `ref` into `dest`: the repository and the branch checked out (None: a detached HEAD)."""
    if not ref:
        repo = gitrepo.clone(url, dest, **options)
        return repo, repo.branch()
    try:
        repo = gitrepo.clone(url, dest, branch=ref, **options)
    except gitrepo.GitFailed as failed:
        missing = any(s in failed.stderr.lower() for s in ("remote branch", "not found in upstream"))
        if not (missing and _SHA.match(ref)):
            raise
        shutil.rmtree(dest, ignore_errors=True)
        return _fetch_commit(url, dest, ref, options), None
    return repo, repo.branch()  # a tag: detached HEAD, None


def _fetch_commit(url: str, dest: Path, sha: str, options: dict) -> gitrepo.Repository:
    """A commit by SHA: ask for it by name (shallow); if the server refuses, fetch history and find it."""
    repo = gitrepo.init_with_remote(url, dest, remote="origin", **options)
    try:
        if len(sha) != 40:
            raise gitrepo.GitFailed("fetch", None, "abbreviated sha")
        repo.fetch("origin", sha, depth=1, tags=False)
        repo.checkout_detached("FETCH_HEAD")
    except gitrepo.GitFailed:
        repo.fetch("origin", "+refs/heads/*:refs/remotes/origin/*", tags=False)
        try:
            repo.checkout_detached(f"{sha}^{{commit}}")
        except gitrepo.GitFailed:
            raise gitrepo.GitFailed("checkout", None, f"fatal: couldn't find remote ref {sha}") from None
    return repo
