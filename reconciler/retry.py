"""How often, and how far apart, a run tries again to record its state after losing a race (a
rejected push in `--status commit`, a newer resourceVersion in `--status annotations`).

Exponential backoff with full jitter: before attempt n+1 the run sleeps a random time in
[0, min(cap, base * 2**n)], so runs and pushers that collided once do not collide again in step.
The number of attempts is `--push-attempts` / RECONCILER_PUSH_ATTEMPTS (default 8).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_ATTEMPTS = 8
BASE_SECONDS = 0.05
CAP_SECONDS = 2.0


def parse_attempts(value: str | int | None) -> int:
    """--push-attempts as a positive int (the option's type already makes it an int when given)."""
    from reconciler.errors import UsageError

    if value is None:
        return DEFAULT_ATTEMPTS
    try:
        attempts = int(value)
    except (TypeError, ValueError):
        attempts = 0
    if attempts < 1 or attempts > 100:
        raise UsageError(f"--push-attempts {value!r} is not a number of attempts from 1 to 100",
                         hint=f"e.g. --push-attempts {DEFAULT_ATTEMPTS} (the default)")
    return attempts


@dataclass
class Backoff:
    attempts: int = DEFAULT_ATTEMPTS
    base: float = BASE_SECONDS
    cap: float = CAP_SECONDS
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep

    def delay(self, failed_attempt: int) -> float:
        """Seconds to wait after attempt `failed_attempt` (0-based) lost."""
        return self.rng.uniform(0.0, min(self.cap, self.base * (2 ** failed_attempt)))

    def wait(self, failed_attempt: int) -> float:
        seconds = self.delay(failed_attempt)
        self.sleep(seconds)
        return seconds
