"""scaleDownDelaySeconds, abortScaleDownDelaySeconds and scaleDownDelayRevisionLimit (canary with
traffic routing, and blue-green): how long an old or aborted ReplicaSet keeps its pods, and how
many old ReplicaSets may keep them while their scale-down deadline runs.

Argo's rule, in plain words: walk the old ReplicaSets (neither the current nor the stable one)
newest revision first; every one that still has pods and carries a scale-down deadline counts;
the first `limit` of them keep their pods until their deadline, every one past the limit is
scaled to 0 at once (and its deadline annotation goes with it). Without the field there is no
limit. Facts: Argo's TestCanaryWithTrafficRoutingScaleDownLimit, TestBlueGreenScaleDownLimit and
the e2e TestCanaryScaleDownDelay (tests/test_scale_down_limit.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

# Argo's defaults for scaleDownDelaySeconds and abortScaleDownDelaySeconds.
DEFAULT_SCALE_DOWN_DELAY = 30
DEFAULT_ABORT_SCALE_DOWN_DELAY = 30


def scale_down_delay(strategy: dict) -> int:
    """The strategy's scaleDownDelaySeconds (default 30): how long the old stable keeps its pods."""
    delay = strategy.get("scaleDownDelaySeconds")
    return DEFAULT_SCALE_DOWN_DELAY if delay is None else int(delay)


def abort_scale_down_delay(strategy: dict) -> int:
    """The strategy's abortScaleDownDelaySeconds (default 30): how long an aborted revision keeps its pods."""
    delay = strategy.get("abortScaleDownDelaySeconds")
    return DEFAULT_ABORT_SCALE_DOWN_DELAY if delay is None else int(delay)


def revision_limit(strategy: dict) -> int | None:
    """The strategy's scaleDownDelayRevisionLimit, or None when unset (no limit)."""
    value = strategy.get("scaleDownDelayRevisionLimit")
    return None if value is None else max(int(value), 0)


def over_limit(old_newest_first: Iterable[dict], limit: int | None, delayed: Callable[[dict], bool]) -> list[dict]:
    """The old ReplicaSets past the limit: those `delayed` (scaled up, with a deadline) after the
    first `limit` of them, in the order given (newest revision first)."""
    if limit is None:
        return []
    counted = [rs for rs in old_newest_first if delayed(rs)]
    return counted[limit:]
