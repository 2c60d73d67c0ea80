"""The value a source hands on: where the manifests are, and how to run git there."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")


def is_git_url(spec: str) -> bool:
    return "://" in spec or bool(_SCP_LIKE.match(spec))


@dataclass
class Checkout:
    root: Path  # the manifests: repo_dir / path
    repo_dir: Path  # the clone (or the local directory)
    commit: str | None  # HEAD sha of a clone; None for a plain directory
    display_url: str  # the source as it may be printed: never carries credentials
    is_git: bool
    ref: str | None = None  # as asked for
    branch: str | None = None  # the branch checked out, None when HEAD is detached (tag, sha)
    _env: dict = field(default_factory=dict, repr=False)

    @property
    def owner(self) -> str:
        """Which SOURCE applied an object (the `applied-from` annotation `--prune` goes by): a Git
        source's credential-free URL (not its ref, so a branch or tag switch keeps ownership) with
        `//path` for a subfolder; a directory's absolute path. Never the temporary clone's path."""
        if not self.is_git:
            return str(Path(self.root).resolve())
        sub = Path(self.root).resolve().relative_to(Path(self.repo_dir).resolve()).as_posix()
        return self.display_url + (f"//{sub}" if sub not in ("", ".") else "")

    def git_env(self) -> dict:
        """Environment for git subprocesses in this checkout (fetch, commit, push): carries the
        credentials through a credential helper reading environment variables, never a URL."""
        import os

        env = dict(os.environ)
        env.update(self._env)
        return env
