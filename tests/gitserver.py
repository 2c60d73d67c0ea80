"""Real Git servers for tests: bare repositories on disk and a `git daemon` on 127.0.0.1.

    from tests.gitserver import make_bare_repo, git_daemon   # plain functions
    # or the pytest fixtures: bare_repo_factory, git_daemon_server (import them into a test file
    # or a conftest: `from tests.gitserver import bare_repo_factory, git_daemon_server`)

make_bare_repo(tmp, files={"a.yaml": "..."} or fixture="canary-nginx", branch="main", tags=[...])
returns a BareRepo with .path, .url (file://), .commits (list of shas, oldest first) and
.commit(files, message) to add a commit. git_daemon(base_dir) is a context manager serving every
bare repo under base_dir at git://127.0.0.1:PORT/<name> (read-only, `git daemon --inetd` behind a
socket bound before the URL is handed out), stopped on exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(*args, cwd=None) -> str:
    env = dict(os.environ, **_GIT_ENV)
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


@dataclass
class BareRepo:
    path: Path
    work: Path
    branch: str
    commits: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def commit(self, files: dict | None = None, message: str = "change", remove=(), branch: str | None = None) -> str:
        """Write `files` (relative path -> text), commit and push to `branch` (default: the main branch)."""
        target = branch or self.branch
        if target != git("symbolic-ref", "--short", "HEAD", cwd=self.work):
            existing = git("branch", "--list", target, cwd=self.work)
            git("checkout", "-q", *([] if existing else ["-b"]), target, cwd=self.work)
        for rel, text in (files or {}).items():
            p = self.work / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        for rel in remove:
            (self.work / rel).unlink()
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "-q", "origin", f"HEAD:refs/heads/{target}", cwd=self.work)
        sha = git("rev-parse", "HEAD", cwd=self.work)
        self.commits.append(sha)
        if target != self.branch:
            git("checkout", "-q", self.branch, cwd=self.work)
        return sha

    def tag(self, name: str, sha: str | None = None) -> None:
        git("tag", name, sha or "HEAD", cwd=self.work)
        git("push", "-q", "origin", f"refs/tags/{name}", cwd=self.work)

    def head(self, branch: str | None = None) -> str:
        return git("rev-parse", f"refs/heads/{branch or self.branch}", cwd=self.path)


def make_bare_repo(base: Path, name: str = "manifests", files: dict | None = None, fixture: str | None = None,
                   branch: str = "main", subdir: str = "") -> BareRepo:
    """A bare repository at base/<name>.git with one commit holding `files` or a copy of fixtures/<fixture>."""
    base = Path(base)
    bare = base / f"{name}.git"
    work = base / f"{name}-work"
    git("init", "-q", "--bare", "-b", branch, str(bare))
    git("init", "-q", "-b", branch, str(work))
    git("remote", "add", "origin", str(bare), cwd=work)
    repo = BareRepo(path=bare, work=work, branch=branch)
    contents = dict(files or {})
    if fixture:
        src = FIXTURES / fixture
        for p in sorted(src.rglob("*")):
            if p.is_file() and not p.is_symlink():
                contents[str(Path(subdir) / p.relative_to(src))] = p.read_text(encoding="utf-8", errors="surrogateescape")
    repo.commit(contents, message="initial manifests")
    return repo


def free_port() -> int:
    """A port nothing listened on a moment ago. Only for "unreachable" URLs: a server must bind its
    own socket (another process may take this port before it does)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def git_daemon(base_dir: Path):
    """Serve every repository under base_dir at git://127.0.0.1:PORT/ ; yields the base URL.

    The listening socket is ours, bound to a port the kernel picks and listening before the URL is
    handed out; each connection is served by a real `git daemon --inetd`. Letting `git daemon
    --port=N` bind a port chosen beforehand raced with every other process on a busy machine (another
    server could take N in between, and a readiness probe would then talk to it), and a daemon
    slow to start under load made the probe time out."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    command = ["git", "daemon", "--inetd", "--export-all", "--informative-errors", f"--base-path={base_dir}", str(base_dir)]
    children: list[subprocess.Popen] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # the listener was shut down
            with conn:  # the child has its own copy of the connection
                children.append(subprocess.Popen(command, stdin=conn, stdout=conn, stderr=subprocess.DEVNULL))
            children[:] = [c for c in children if c.poll() is None]

    thread = threading.Thread(target=serve, name=f"git-daemon-{port}", daemon=True)
    thread.start()
    try:
        yield f"git://127.0.0.1:{port}"
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        thread.join(timeout=10)
        for child in list(children):
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)


@pytest.fixture
def bare_repo_factory(tmp_path):
    """Call it like make_bare_repo without the base dir: bare_repo_factory(fixture="canary-nginx")."""
    base = tmp_path / "git"
    base.mkdir()

    def make(**kw) -> BareRepo:
        return make_bare_repo(base, **kw)

    make.base = base
    return make


@pytest.fixture
def git_daemon_server(tmp_path):
    """(base_dir, base_url): put bare repos under base_dir with make_bare_repo(base_dir, ...)."""
    base = tmp_path / "served"
    base.mkdir()
    with git_daemon(base) as url:
        yield base, url


def unused_local_url() -> str:
    """A git:// URL on a port nothing listens on (for 'unreachable' tests)."""
    return f"git://127.0.0.1:{free_port()}/nothing.git"


__all__ = ["git", "BareRepo", "make_bare_repo", "git_daemon", "free_port", "bare_repo_factory", "git_daemon_server", "unused_local_url"]
