"""`run --timeout`: how long a whole run may take, checked only where stopping is clean.

    deadline = Deadline(300)        # seconds from now (monotonic clock); Deadline(None) never expires
    if deadline.expired(): ...      # stop here, before the next write

The run checks it between writes, never inside one: before each plain manifest, before taking
analysis measurements (and between them), before recording the rollouts' next states, and
between rollouts while applying recorded steps. A rollout whose step was recorded but not applied
is finished by the next run, which re-applies the recorded step (record-before-apply). A run that
stopped exits 2 and says where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._end = None if seconds is None else clock() + float(seconds)

    def expired(self) -> bool:
        return self._end is not None and self._clock() >= self._end

    def remaining(self) -> float | None:
        """Seconds left (never negative), None without a limit."""
        return None if self._end is None else max(0.0, self._end - self._clock())

    def describe(self) -> str:
        return f"--timeout {self.seconds:g}s" if self.seconds is not None else "no timeout"


NEVER = Deadline(None)
