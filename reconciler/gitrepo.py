"""The one Git adapter: every git operation of the reconciler (clone, fetch, commit, push and the
questions asked of a checkout) goes through GitPython here. Callers map a failure to their own
message: reconciler/source/git.py (cannot clone, authentication failed, ref not found, ...),
reconciler/status/commit.py (push rejected: Conflict; cannot push).

GitPython offers two levels, and both are used:
- its object model (`git.Repo`, `Remote.push`) where it says what we need: finding the repository
  of a directory, HEAD, the branch, the git directories, the remote's URL, a file's last commit,
  uncommitted changes, per-ref push results;
- its command interface (`git.Git.execute`, `GitCommand.run` below) where git's own command line
  has semantics the object model lacks; each such place says which.
No plain subprocess. Every command has a time limit (GitPython's kill_after_timeout), gets the
caller's environment (credentials travel in it: never in argv or in a URL) and its output is
scrubbed of those credentials before anyone sees it. The module imports GitPython when first
used, so commands that never touch Git (`--help`, `validate` of a directory) do not pay for it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import SourceError

if TYPE_CHECKING:
    import git as gitpython

DEFAULT_TIMEOUT = 120.0
_CREDENTIALS_IN_URL = re.compile(r"(\w+://)[^/@\s]+@")
_TIMED_OUT = ("did not complete in", "process killed because it timed out")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the secrets and without user:password@ in any URL git echoes."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _CREDENTIALS_IN_URL.sub(r"\1", text)


def _gitpython() -> Any:
    # Without git on PATH GitPython's import would fail; with "quiet" the first command raises
    # GitCommandNotFound instead, which becomes "git is not installed".
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    import git

    # GitPython logs a failed push's or fetch's stderr as a warning of its own (unscrubbed); the
    # callers report the failure themselves, scrubbed.
    for name in ("git.remote", "git.cmd"):
        logging.getLogger(name).propagate = False
        if not logging.getLogger(name).handlers:
            logging.getLogger(name).addHandler(logging.NullHandler())
    return git


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class GitFailed(Exception):
    """A git command that exited non-zero; its output, scrubbed."""

    def __init__(self, command: str, status: int | None, stderr: str, stdout: str = ""):
        super().__init__(stderr or stdout or f"git {command} failed")
        self.command, self.status, self.stderr, self.stdout = command, status, stderr, stdout

    @property
    def detail(self) -> str:
        """git's last line of output (its `fatal: ...`), or ""."""
        output = (self.stderr or self.stdout).strip()
        return output.splitlines()[-1] if output else ""


class GitTimeout(Exception):
    """A git command stopped at its time limit (not a GitFailed: no fallback may retry it)."""

    def __init__(self, command: str, seconds: float):
        super().__init__(f"git {command} did not finish in {seconds:g}s")
        self.command, self.seconds = command, seconds


def _not_installed() -> SourceError:
    return SourceError("git is not installed", hint="install git (Debian: apt-get install git)")


def _stderr_of(err: Any) -> str:
    """The stderr GitPython quoted into a GitCommandError ("\\n  stderr: '...'"), unquoted."""
    text = str(getattr(err, "stderr", "") or "")
    match = re.fullmatch(r"\s*stderr: '(.*)'\s*", text, re.S)
    return match.group(1) if match else text.strip()


class GitCommand:
    """git's command line in `cwd` through GitPython's command interface (`git.Git.execute`),
    with a time limit, an environment added to the process's own, and scrubbed output."""

    def __init__(self, cwd: str | Path | None = None, *, env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                 secrets: Iterable[str] = ()):
        self.cwd = None if cwd is None else str(cwd)
        self.env = dict(env or {})
        self.timeout = timeout
        self.secrets = [s for s in secrets if s]

    def run(self, *args: str, check: bool = True) -> Result:
        git = _gitpython()
        try:
            status, stdout, stderr = git.Git(self.cwd).execute(
                ["git", *args], with_extended_output=True, with_exceptions=False, kill_after_timeout=self.timeout, env=self.env,
                strip_newline_in_stdout=False,  # git's output as it is (the demo prints `git log`)
            )
        except git.GitCommandNotFound:
            raise _not_installed() from None
        result = Result(int(status or 0), scrub(str(stdout or ""), self.secrets), scrub(str(stderr or ""), self.secrets))
        if result.returncode != 0 and any(sign in result.stderr for sign in _TIMED_OUT):
            raise GitTimeout(args[0] if args else "", self.timeout)
        if check and result.returncode != 0:
            raise GitFailed(args[0] if args else "", result.returncode, result.stderr, result.stdout)
        return result

    __call__ = run


def clone(url: str, dest: str | Path, *, branch: str | None = None, env: Mapping[str, str] | None = None,
          timeout: float = DEFAULT_TIMEOUT, secrets: Iterable[str] = ()) -> Repository:
    """A shallow, single-branch clone of `url` (its default branch, or `branch`: a branch or a tag)
    into `dest`. `Repo.clone_from` cannot bound the clone's time (it waits for git without
    GitPython's kill_after_timeout), so the clone goes through the command interface."""
    command = GitCommand(env=env, timeout=timeout, secrets=secrets)
    command("clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags", *(["--branch", branch] if branch else []), "--", url, str(dest))
    return Repository(dest, env=env, timeout=timeout, secrets=secrets)


def init_with_remote(url: str, dest: str | Path, *, remote: str = "origin", env: Mapping[str, str] | None = None,
                     timeout: float = DEFAULT_TIMEOUT, secrets: Iterable[str] = ()) -> Repository:
    """An empty repository at `dest` whose remote `remote` is `url` (to fetch one commit into)."""
    git = _gitpython()
    repo = git.Repo.init(str(dest))
    repo.create_remote(remote, url)
    return Repository(dest, env=env, timeout=timeout, secrets=secrets)


def is_work_tree(path: str | Path) -> bool:
    """`path` is inside a Git working tree (not a bare repository, not inside .git)."""
    return find(path) is not None


def find(path: str | Path, **kwargs: Any) -> Repository | None:
    """The repository whose working tree holds `path`, or None."""
    try:
        return Repository(path, search_parent_directories=True, **kwargs)
    except NotARepository:
        return None


class NotARepository(Exception):
    pass


@dataclass
class PushOutcome:
    ok: bool
    output: str  # git's report of the ref (and its error lines), scrubbed


class Repository:
    """One checkout. `path` is where git runs (paths given to it are relative to `path`); with
    search_parent_directories it may be a directory inside the working tree."""

    def __init__(self, path: str | Path, *, env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                 secrets: Iterable[str] = (), search_parent_directories: bool = False):
        git = _gitpython()
        self.path = Path(path)
        try:
            self.repo: gitpython.Repo = git.Repo(str(path), search_parent_directories=search_parent_directories)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise NotARepository(str(path)) from None
        if self.repo.bare or self.repo.working_tree_dir is None or _inside(self.path, Path(self.repo.git_dir)):
            raise NotARepository(str(path))
        self.git = GitCommand(path, env=env, timeout=timeout, secrets=secrets)

    # -- questions answered by GitPython's object model (no git process for most) ----------------

    @property
    def top(self) -> Path:
        return Path(str(self.repo.working_tree_dir))

    @property
    def git_dir(self) -> Path:
        return Path(self.repo.git_dir).resolve()

    @property
    def common_dir(self) -> Path:
        return Path(self.repo.common_dir).resolve()

    def head_commit(self) -> str:
        """HEAD's commit id, read from the refs (no object database, no git process)."""
        git = _gitpython()
        try:
            return str(git.SymbolicReference.dereference_recursive(self.repo, "HEAD"))
        except ValueError:  # an unborn branch: a repository without commits
            raise GitFailed("rev-parse", None, "fatal: the repository has no commits yet") from None

    def branch(self) -> str | None:
        """The branch checked out, or None for a detached HEAD (a tag, a commit)."""
        head = self.repo.head
        return None if head.is_detached else str(head.reference.name)

    def remote_url(self, name: str = "origin") -> str:
        try:
            return scrub(str(self.repo.remote(name).url), self.git.secrets)
        except ValueError:  # no such remote
            return ""

    def last_commit(self, path: str) -> str:
        """The last commit that changed `path` (relative to `self.path`, as git -C would take it),
        "" when none did."""
        git = _gitpython()
        in_tree = os.path.relpath((self.path / path).resolve(), self.top.resolve())
        try:
            commit = next(self.repo.iter_commits("HEAD", paths=in_tree, max_count=1), None)
        except (git.GitCommandError, ValueError):  # an unborn branch
            return ""
        return str(commit.hexsha) if commit is not None else ""

    def has_changes(self, path: str) -> bool:
        """Uncommitted changes to `path` (staged, unstaged or untracked)."""
        return bool(self.repo.is_dirty(index=True, working_tree=True, untracked_files=True, path=path))

    # -- work done through git's command line --------------------------------------------------

    def config(self, key: str) -> str:
        """A setting as git reads it. GitPython's config reader does not follow git's lookup (it
        ignores GIT_CONFIG_GLOBAL, GIT_CONFIG_NOSYSTEM and GIT_CONFIG_COUNT), so git answers."""
        return self.git.run("config", key, check=False).stdout.strip()

    def commit_paths(self, paths: list[str], message: str) -> bool:
        """Commit exactly `paths` (additions, edits, deletions), never what else is staged: False
        when they hold no change. `git commit -- PATHS` (--only) does that; GitPython's
        IndexFile.commit commits the whole index, so the command line does it."""
        self.git.run("add", "-A", "--", *paths)
        # Commit first and ask why only when git refuses: one git call fewer between a fetch and the
        # next push, where another pusher can get in.
        if self.git.run("commit", "-q", "-m", message, "--", *paths, check=False).returncode != 0:
            if self.git.run("diff", "--cached", "--quiet", "--", *paths, check=False).returncode == 0:
                return False  # nothing changed
            self.git.run("commit", "-q", "-m", message, "--", *paths)  # the same refusal, now as GitFailed
        return True

    def push(self, remote: str, refspec: str) -> PushOutcome:
        """Push `refspec` (never forced) with GitPython's Remote.push, whose per-ref results say
        whether the ref was updated. A push git could not even attempt raises GitFailed."""
        git = _gitpython()
        try:
            infos = self.repo.remote(remote).push(refspec, kill_after_timeout=self.git.timeout, env=self.git.env)
        except git.GitCommandNotFound:
            raise _not_installed() from None
        except git.GitCommandError as err:
            stderr = scrub(_stderr_of(err), self.git.secrets)
            if any(sign in stderr for sign in _TIMED_OUT):
                raise GitTimeout("push", self.git.timeout) from None
            raise GitFailed("push", err.status if isinstance(err.status, int) else None, stderr) from None
        except ValueError as err:  # no such remote
            raise GitFailed("push", None, f"fatal: {err}") from None
        bad = [info for info in infos if info.flags & (info.ERROR | info.REJECTED | info.REMOTE_REJECTED | info.REMOTE_FAILURE)]
        error = infos.error
        lines = [f"{info.local_ref.name if info.local_ref else ''} -> {info.remote_ref_string}: {info.summary.strip()}" for info in bad]
        if error is not None:
            lines.append(_stderr_of(error))
        ok = bool(infos) and not bad and error is None
        return PushOutcome(ok, scrub("\n".join(line for line in lines if line), self.git.secrets))

    def fetch(self, remote: str, refspec: str, *, depth: int | None = None, tags: bool = True) -> None:
        """Fetch `refspec` into FETCH_HEAD. GitPython's Remote.fetch parses every fetched ref into
        FetchInfo objects we do not use and refuses output lines it cannot parse, so git fetches."""
        self.git.run("fetch", "--quiet", *([f"--depth={depth}"] if depth else []), *([] if tags else ["--no-tags"]), remote, refspec)

    def local_commits(self, upstream: str = "FETCH_HEAD") -> dict[str, list[str]]:
        """Every commit of HEAD that `upstream` lacks, with the paths it touches, in one git call
        (GitPython would run one per commit for the paths)."""
        commits: dict[str, list[str]] = {}
        commit = ""
        for line in self.git.run("log", "--format=@%H", "--name-only", "--no-renames", "HEAD", "--not", upstream).stdout.splitlines():
            if line.startswith("@"):
                commit = line[1:]
                commits[commit] = []
            elif line.strip():
                commits[commit].append(line.strip())
        return commits

    def reset_keep(self, rev: str) -> None:
        """Move the branch to `rev`, keeping a person's uncommitted edits (or stopping). GitPython's
        HEAD.reset knows --soft, --mixed and --hard only, not --keep."""
        self.git.run("reset", "-q", "--keep", rev)

    def checkout_detached(self, rev: str) -> None:
        self.git.run("checkout", "--quiet", "--detach", rev)


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True
