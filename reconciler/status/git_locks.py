"""Git lock files left behind by a killed run (`--status commit` on a local checkout).

Git writes the index and refs through `<file>.lock` and renames the lock into place; a git killed
with SIGKILL (a container's end, a cancelled CI job) leaves the lock, and every later git command
in that checkout then fails with "Unable to create '.git/index.lock': File exists". The file it
was replacing is intact (the rename never happened), so a lock no live process holds can be
removed without losing anything: that is exactly git's own advice ("...remove the file manually
to continue").

A lock is removed only when no process has it open and no git process runs in the repository
(read from /proc). The run holds the reconciler's Lease, so no other run is using the checkout;
a person's git is what the check is for. Where /proc cannot tell (not Linux), the run stops and
says which file to remove.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from reconciler.errors import SourceError

log = logging.getLogger("reconciler")

PROC = Path("/proc")
WAIT_FOR_GIT_SECONDS = 10.0  # a person's git command in the checkout usually ends within this


def candidate_locks(git_dir: Path, common_dir: Path, branch: str | None) -> list[Path]:
    """The lock files a status commit needs free: the index, HEAD, the branch's ref, packed-refs."""
    paths = [git_dir / "index.lock", git_dir / "HEAD.lock", common_dir / "packed-refs.lock"]
    if branch:
        paths.append(common_dir / "refs" / "heads" / f"{branch}.lock")
    return [path for path in paths if path.exists()]


def _git_processes_in(repo_dir: Path, locks: list[Path]) -> list[int]:
    """PIDs of processes that have one of `locks` open, or are git and work in `repo_dir`."""
    wanted = {str(lock.resolve()) for lock in locks}
    repo = str(repo_dir.resolve())
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir()):
                found.append(int(entry.name))
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            program = os.path.basename(argv[0].decode(errors="replace")) if argv and argv[0] else ""
            if program.startswith("git"):
                cwd = os.readlink(entry / "cwd")
                if cwd == repo or cwd.startswith(repo + os.sep) or repo.encode() in argv:
                    found.append(int(entry.name))
        except OSError:  # it ended meanwhile, or it is another user's (whose git cannot write here)
            continue
    return found


def clear_stale_locks(repo_dir: Path, git_dir: Path, common_dir: Path, branch: str | None, *,
                      wait_seconds: float = WAIT_FOR_GIT_SECONDS) -> list[Path]:
    """Remove the lock files a killed git left in this checkout; return the ones removed.
    A lock a live process may be holding is waited for, then reported (SourceError)."""
    locks = candidate_locks(git_dir, common_dir, branch)
    if not locks:
        return []
    shown = ", ".join(str(lock) for lock in locks)
    if not PROC.is_dir():
        raise SourceError(
            f"git lock file(s) {shown} exist: a git command is running in {repo_dir}, or one was killed",
            hint=f"if no git command is running there, remove {shown} and run again",
        )
    deadline = time.monotonic() + wait_seconds
    while (holders := _git_processes_in(repo_dir, locks)) and time.monotonic() < deadline:
        time.sleep(0.2)
        locks = candidate_locks(git_dir, common_dir, branch)
        if not locks:
            return []
    if holders:
        raise SourceError(
            f"git lock file(s) {shown} are held by running process(es) {', '.join(map(str, holders))} in {repo_dir}",
            hint="let that git command finish (or stop it), then run again; the reconciler never removes a lock in use",
        )
    removed = []
    for lock in locks:
        try:
            lock.unlink()
            removed.append(lock)
        except FileNotFoundError:
            continue
    log.warning(
        f"removed git lock file(s) a killed git left behind: {', '.join(map(str, removed))} (no process held them)",
        extra={"action": "recover", "reason": "stale-git-lock"},
    )
    return removed
