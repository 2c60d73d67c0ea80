"""Durations as Argo Rollouts reads them (pause, interval, --period, --timeout): bare seconds or a Go duration.

The value is durationpy's (Go's duration strings, the library the Kubernetes client reads them with).
The form is checked against Go's time.ParseDuration grammar first, because durationpy is more lenient
than Go: it also takes d/w/mm/y units and skips text between two parts ("1h 30m"), which Argo refuses.
"""

from __future__ import annotations

import re

import durationpy

_SECONDS = re.compile(r"[+-]?\d+")  # an integer, or a string of digits: seconds (Argo's intstr rule)
_GO_DURATION = re.compile(r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")


def parse_duration(value: object) -> float | None:
    """Seconds for 30, "30", "30s", "1m", "1h30m", "500ms"; None when it does not parse.

    Integers and digit-only strings are seconds; anything else must be a Go duration, as
    time.ParseDuration accepts it (resolution: a microsecond).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(int(text))
    if not _GO_DURATION.fullmatch(text):
        return None
    try:
        return durationpy.from_str(text).total_seconds()
    except durationpy.DurationError:  # out of range
        return None
