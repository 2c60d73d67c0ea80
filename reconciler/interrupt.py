"""SIGTERM and SIGINT: stop between writes, never in the middle of one.

A CronJob past its deadline, a cancelled CI job or a person's Ctrl-C ends a run with SIGTERM or
SIGINT. `handled()` (around `run` and `plan`) turns either signal into `Interrupted`, raised in the main
thread where the run is. Inside `shielded()` (a compare-and-swap write to the embedded cluster, a
git command on the status checkout) the signal is held until the write is done, so it finishes
whole; elsewhere the run stops at once, which abandons nothing half-written (every write is
atomic). Leaving the Lease's `with` block releases it; the CLI exits 128 + the signal number:
143 for SIGTERM, 130 for SIGINT, as a shell reports them.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)

_held: int | None = None  # a signal that arrived inside a shielded write
_depth = 0  # shielded() nesting, main thread only


class Interrupted(BaseException):
    """The run was told to stop (not an Exception: no `except Exception` may swallow it)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {self.signal_name}")


def _handler(signum: int, frame: FrameType | None) -> None:
    global _held
    if _depth:
        _held = signum
        return
    raise Interrupted(signum)


@contextmanager
def handled() -> Iterator[None]:
    """Handle SIGTERM and SIGINT as `Interrupted` while inside (main thread only; elsewhere a no-op),
    then put back the handlers that were there: a process that runs the CLI in-process (a test
    runner, a script) must still stop on SIGTERM afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def shielded() -> Iterator[None]:
    """A write that must finish once begun: a signal arriving meanwhile takes effect right after it."""
    global _depth, _held
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are delivered to the main thread; nothing to hold here
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _held is not None:
            signum, _held = _held, None
            raise Interrupted(signum)
