"""`--status commit`: each rollout's progress as a readable YAML file in the Git repository.

    <repo>/.reconciler/status/<namespace>/<name>.yaml

The run commits the files that changed (only those paths, never anything a person staged) and,
when SOURCE was cloned from a remote, pushes the commit to the branch it came from. A rejected
push means someone else pushed first (a person's commit or another run): the store fetches the
branch, moves this run's own throw-away clone onto it (its only local commits are status files)
and raises `reconciler.errors.Conflict`, so the runner re-loads the state, re-plans and saves again.
It never forces a push and never rebases or rewrites anyone's commits.

This module is an adapter (it runs git, through reconciler/gitrepo.py); the engine never imports it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from reconciler.atomic_write import write_text_atomically
from reconciler.errors import Conflict, ReconcilerError, SourceError
from reconciler.interrupt import shielded
from reconciler.status.base import RolloutKey

log = logging.getLogger("reconciler")

STATUS_DIR = ".reconciler/status"
DEFAULT_AUTHOR = ("reconciler", "reconciler@localhost")
GIT_TIMEOUT_SECONDS = 120
MAX_STATUS_FILE_BYTES = 1_000_000  # a status file is a few KB; refuse to parse anything absurd

_FILE_HEADER = (
    "# Progress of Rollout {namespace}/{name} between `reconciler run` invocations (--status commit).\n"
    "# Written and committed by the reconciler; see docs/status-commit.md before editing by hand.\n"
)
# What git says when another push landed first: a plain rejection (non-fast-forward, fetch first)
# or, when both pushes reach the server at the same moment, a lost ref lock.
_LOST_RACE = ("[rejected]", "non-fast-forward", "fetch first", "cannot lock ref", "failed to update ref", "stale info")
_CREDENTIALS_IN_URL = re.compile(r"(\w+://)[^/@\s]+@")


# Keys that change on every run without meaning progress: a difference only there is no reason to
# make a commit (a CronJob tick with nothing to do must leave the repository alone).
VOLATILE_KEYS = ("updated_at", "updatedAt")


def _same_state(old: Mapping, new: Mapping) -> bool:
    def stable(state: Mapping) -> dict:
        return {k: v for k, v in state.items() if k not in VOLATILE_KEYS}

    return stable(old) == stable(new)


class StatusFileError(ReconcilerError):
    """A status file in the repository cannot be read."""


def _redact(text: str) -> str:
    return _CREDENTIALS_IN_URL.sub(r"\1***@", text)


def _load_yaml(text: str):
    # libyaml through PyYAML: ~15x faster than ruamel here, and a run reads every status file
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # The reconciler never writes aliases; refusing them keeps a hostile file from expanding into
    # an exponentially large structure when states are compared.
    if "*" in text and any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=loader)):
        raise ValueError("YAML aliases (*name) are not allowed in status files")
    return yaml.load(text, Loader=loader)


@functools.lru_cache(maxsize=1)
def _no_alias_dumper():
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class NoAliasDumper(base):  # the same dict reached twice is written twice, never as &anchor/*alias
        def ignore_aliases(self, data):
            return True

    return NoAliasDumper


def _dump_yaml(data) -> str:
    import yaml

    return yaml.dump(data, Dumper=_no_alias_dumper(), sort_keys=False, default_flow_style=False, allow_unicode=True)


def _write_atomically(path: Path, text: str) -> None:
    """Write a temporary file beside `path` and rename it into place: a run killed at any moment
    leaves the old file or the new one, never half of one. (No fsync: it guards against a power
    cut, not a killed process, and would sit between the fetch and the push of every retry.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):  # a killed run's; the Lease says none is being written
        leftover.unlink(missing_ok=True)
    write_text_atomically(path, text, prefix=f".{path.name}.")


class GitCommitter:
    """Commits a run's own files in a checkout and pushes them, never forcing.

    `own_paths` are the path prefixes this writer may commit and, after a rejected push, drop from
    its local history (the caller writes them again after re-planning). Any other local commit
    means a person's work is in the checkout: the writer stops rather than lose it.
    """

    def __init__(
        self,
        repo_dir: str | Path,
        *,
        env: Mapping[str, str] | None = None,
        push: bool = True,
        remote: str = "origin",
        branch: str | None = None,
        own_paths: tuple[str, ...] = (STATUS_DIR,),
        purpose: str = "--status commit",
        push_attempts: int | None = None,
    ):
        from reconciler.retry import DEFAULT_ATTEMPTS, Backoff

        self.repo_dir = Path(repo_dir)
        # After a rejected push: wait (exponential backoff, full jitter), then fetch, so the re-plan
        # starts from the freshest remote and the window until the next push is as short as can be.
        self.backoff = Backoff(attempts=push_attempts or DEFAULT_ATTEMPTS)
        self.rejections = 0  # in a row; the runner gives up after backoff.attempts
        self.remote = remote
        self.push = push
        self.own_paths = tuple(path.strip("/") for path in own_paths)
        self._env = dict(os.environ if env is None else env)
        # Commits are signed by the reconciler unless the environment names someone else.
        self._env.setdefault("GIT_AUTHOR_NAME", DEFAULT_AUTHOR[0])
        self._env.setdefault("GIT_AUTHOR_EMAIL", DEFAULT_AUTHOR[1])
        self._env.setdefault("GIT_COMMITTER_NAME", self._env["GIT_AUTHOR_NAME"])
        self._env.setdefault("GIT_COMMITTER_EMAIL", self._env["GIT_AUTHOR_EMAIL"])
        self._env["GIT_TERMINAL_PROMPT"] = "0"
        from reconciler import gitrepo

        # git runs in repo_dir (a checkout's top or a folder inside it): the paths given are relative to it.
        repository = gitrepo.find(self.repo_dir, env=self._env, timeout=GIT_TIMEOUT_SECONDS)
        if repository is None:
            raise ReconcilerError(
                f"{purpose} needs a Git repository, and {self.repo_dir} is not one",
                hint="give a Git URL as SOURCE, run inside a Git checkout, or use --status annotations",
            )
        self.repository = repository
        self.branch = branch or self._current_branch(purpose)
        self.git_dir = repository.git_dir
        self.common_dir = repository.common_dir
        self.pushes = 0  # successful pushes, for reports and tests
        self.commits = 0

    def commit(self, paths: list[str], message: str) -> bool:
        """Commit exactly `paths` (relative to the repository; additions, edits and deletions) and
        push when this is a clone. False when they hold no change. Rejected push → Conflict."""
        if not paths:
            return False
        from reconciler.status.git_locks import clear_stale_locks

        clear_stale_locks(self.repo_dir, self.git_dir, self.common_dir, self.branch)  # a killed run's git left them
        with self._git_errors():
            if not self.repository.commit_paths(paths, message):
                return False  # nothing changed
        self.commits += 1
        if self.push:
            self._push()
        return True

    @contextmanager
    def _git_errors(self) -> Iterator[None]:
        """git's failures as SourceError; a git command is never cut short by SIGTERM/SIGINT
        (shielded: no lock left behind)."""
        from reconciler import gitrepo

        try:
            with shielded():
                yield
        except gitrepo.GitTimeout as late:
            raise SourceError(f"git {late.command} took longer than {GIT_TIMEOUT_SECONDS}s", hint="check the network path to the Git server") from None
        except gitrepo.GitFailed as failed:
            raise SourceError(f"git {failed.command} failed in {self.repo_dir.name}: {_redact(failed.detail)}", hint="see docs/status-commit.md") from None

    def head(self) -> str:
        """The commit checked out (after a commit: the one just made)."""
        with self._git_errors():
            return self.repository.head_commit()

    def _current_branch(self, purpose: str) -> str:
        current = self.repository.branch()
        if current is None:
            raise ReconcilerError(
                f"{purpose} needs a branch checked out, but the checkout is a detached HEAD",
                hint="pass --ref <branch> (not a tag or a commit) so the run can push its commits",
            )
        return current

    def _push(self) -> None:
        from reconciler import gitrepo

        try:
            with shielded():
                pushed = self.repository.push(self.remote, f"HEAD:refs/heads/{self.branch}")
        except gitrepo.GitTimeout:
            raise SourceError(f"git push took longer than {GIT_TIMEOUT_SECONDS}s", hint="check the network path to the Git server") from None
        except gitrepo.GitFailed as failed:  # git could not even try (no such remote, authentication, network)
            pushed = gitrepo.PushOutcome(False, failed.stderr or failed.stdout)
        if pushed.ok:
            self.pushes += 1
            self.rejections = 0
            return
        output = pushed.output
        if any(sign in output for sign in _LOST_RACE):
            self.rejections += 1
            if self.rejections < self.backoff.attempts:  # the runner tries again: let the other pusher finish first
                self.backoff.wait(self.rejections - 1)
            self._follow_remote()
            raise Conflict("branch", None, self.branch, f"push to {self.remote}/{self.branch} rejected: someone pushed first")
        lines = [line.strip() for line in _redact(output).splitlines() if line.strip()]
        telling = [line for line in lines if "rejected" in line or line.startswith(("fatal:", "remote: error", "ERROR"))]
        reason = (telling or lines or ["git push failed"])[0].replace("\t", " ")
        raise SourceError(
            f"cannot push to {self.remote}/{self.branch}: {reason}",
            hint="the token needs write access to the branch (and branch protection must allow the reconciler to push)",
        )

    def _follow_remote(self) -> None:
        """Move this checkout onto the remote branch after a rejected push, dropping only this
        writer's own commits; any other local commit stops the run instead."""
        with self._git_errors():
            self.repository.fetch(self.remote, f"refs/heads/{self.branch}")
            # Every local-only commit with the paths it touches, in one git call (this sits between the
            # fetch and the next push: each call here widens the window another pusher can take).
            touched = self.repository.local_commits("FETCH_HEAD")
        for commit, paths in touched.items():
            if any(not self._is_own(path) for path in paths):
                raise SourceError(
                    f"push rejected and the checkout holds local commit {commit[:12]} that is not the reconciler's own",
                    hint="push or remove your own local commits, then run again (the reconciler never drops them)",
                )
        # --keep (not --hard): uncommitted edits a person has in a local checkout survive, or the reset stops.
        with self._git_errors():
            self.repository.reset_keep("FETCH_HEAD")
        log.info(
            "push rejected; fetched %s/%s and will re-plan", self.remote, self.branch,
            extra={"action": "refetch", "reason": "push-rejected"},
        )

    def _is_own(self, path: str) -> bool:
        return any(path == own or path.startswith(own + "/") for own in self.own_paths)


class CommitStatusStore:
    """StatusStore (reconciler/status/base.py) kept as commits in the manifests' Git repository."""

    mode = "commit"

    def __init__(
        self,
        repo_dir: str | Path,
        *,
        env: Mapping[str, str] | None = None,
        push: bool = True,
        remote: str = "origin",
        branch: str | None = None,
        status_dir: str = STATUS_DIR,
        read_only: bool = False,
        push_attempts: int | None = None,
    ):
        self.repo_dir = Path(repo_dir)
        self.status_dir = status_dir.strip("/")
        self.read_only = read_only
        # Read-only (get rollout, list rollouts): no git at all, so a tag, a commit or a plain
        # directory of status files will do.
        self.git = None if read_only else GitCommitter(
            repo_dir, env=env, push=push, remote=remote, branch=branch, own_paths=(self.status_dir,), push_attempts=push_attempts)
        self.push = push and not read_only
        self.branch = self.git.branch if self.git else branch

    @property
    def save_attempts(self) -> int:
        """How many times the runner records (re-planning after each rejected push) before it gives up."""
        from reconciler.retry import DEFAULT_ATTEMPTS

        return self.git.backoff.attempts if self.git else DEFAULT_ATTEMPTS

    @property
    def pushes(self) -> int:
        return self.git.pushes if self.git else 0

    @property
    def commits(self) -> int:
        return self.git.commits if self.git else 0

    @property
    def _env(self) -> dict:
        return self.git._env if self.git else {}

    @classmethod
    def from_checkout(cls, checkout, **kwargs) -> CommitStatusStore:
        """The store for a `reconciler.source.open_source(...)` checkout: pushes when it is a clone
        (unless read_only=True: it then only reads)."""
        kwargs.setdefault("push", bool(getattr(checkout, "is_git", False)))
        if kwargs.get("read_only"):
            return cls(checkout.repo_dir, **kwargs)
        env_of = getattr(checkout, "git_env", None)
        env = env_of() if callable(env_of) else None
        return cls(checkout.repo_dir, env=env, **kwargs)

    # -- StatusStore ---------------------------------------------------------------------------

    def load(self, namespaces: Iterable[str] | None = None) -> dict[RolloutKey, dict]:
        states: dict[RolloutKey, dict] = {}
        self.unreadable: dict[RolloutKey, str] = {}  # key -> why; the engine rebuilds these from the cluster
        base = self.repo_dir / self.status_dir
        if not base.is_dir():
            return states
        self._refuse_symlinks(base)
        wanted = None if namespaces is None else set(namespaces)
        for path in sorted(base.glob("*/*.yaml")):
            if wanted is not None and path.parent.name not in wanted:
                continue
            self._refuse_symlinks(path)
            key = (path.parent.name, path.stem)
            try:
                states[key] = self._read_state(path)
            except StatusFileError as err:  # one bad file never stops the others: rebuilt from the cluster
                self.unreadable[key] = err.message
        return states

    def save(self, changed: Mapping[RolloutKey, dict | None], *, message: str) -> None:
        """Write, commit and (for clones) push the states that changed. A state of None removes
        the rollout's file. Nothing to change → no commit. Rejected push → Conflict."""
        if self.git is None:
            raise ReconcilerError("this status store was opened read-only", hint="open it without read_only=True to record states")
        touched: list[str] = []
        for (namespace, name), state in sorted(changed.items(), key=lambda item: item[0]):
            path = self.path_for(namespace, name)
            rel = path.relative_to(self.repo_dir).as_posix()
            if state is None:
                if path.exists():
                    path.unlink()
                    touched.append(rel)
                continue
            if path.exists() and (namespace, name) not in getattr(self, "unreadable", {}) and _same_state(self._read_state(path), state):
                touched.append(rel)  # unchanged here, but maybe never committed (a run killed before its commit): git decides
                continue
            with shielded():
                _write_atomically(path, self.render_file(namespace, name, state))
            touched.append(rel)
        self.git.commit(touched, message)

    # -- files ---------------------------------------------------------------------------------

    def path_for(self, namespace: str, name: str) -> Path:
        for part in (namespace, name):
            if not part or "/" in part or "\\" in part or part.startswith("."):
                raise ReconcilerError(f"cannot keep status for {namespace}/{name}: not a Kubernetes name")
        path = self.repo_dir / self.status_dir / namespace / f"{name}.yaml"
        self._refuse_symlinks(path)
        return path

    def _refuse_symlinks(self, path: Path) -> None:
        """A repository is untrusted input: a symlinked status file or directory could make the run
        read or overwrite a file outside the checkout."""
        current = self.repo_dir
        for part in path.relative_to(self.repo_dir).parts:
            current = current / part
            if current.is_symlink():
                rel = current.relative_to(self.repo_dir).as_posix()
                raise StatusFileError(f"{rel} is a symbolic link; status files must be plain files in the repository", hint="remove the link in a commit")

    @staticmethod
    def render_file(namespace: str, name: str, state: Mapping) -> str:
        return _FILE_HEADER.format(namespace=namespace, name=name) + _dump_yaml({"name": name, "namespace": namespace, "state": dict(state)})

    def _read_state(self, path: Path) -> dict:
        rel = path.relative_to(self.repo_dir).as_posix()
        hint = "fix the file or remove it in a commit (the rollout then starts from what the cluster shows)"
        if path.stat().st_size > MAX_STATUS_FILE_BYTES:
            raise StatusFileError(f"status file {rel} is larger than {MAX_STATUS_FILE_BYTES} bytes", hint=hint)
        try:
            doc = _load_yaml(path.read_text(encoding="utf-8"))
        except Exception as err:  # ruamel raises many error types; all mean "not readable YAML"
            raise StatusFileError(f"status file {rel} is not valid YAML: {str(err).splitlines()[0]}", hint=hint) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("state"), dict):
            raise StatusFileError(f"status file {rel} has no `state:` mapping", hint=hint)
        return doc["state"]
