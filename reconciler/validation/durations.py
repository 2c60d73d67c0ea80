"""Pause and interval durations as Argo Rollouts reads them: bare seconds or a Go duration."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(value) -> float | None:
    """Seconds for 30, "30", "30s", "1m", "1h30m", "500ms"; None when it does not parse.

    Integers and digit-only strings are seconds (Argo's intstr rule); anything else must be a Go
    duration, as time.ParseDuration accepts it.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return float(int(text))
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if not body:
        return None
    total, pos = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body):
        return None
    return sign * total
