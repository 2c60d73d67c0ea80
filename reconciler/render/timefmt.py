"""Ages as `kubectl` prints them ("7s", "2m58s", "14m", "3h20m", "5d") and RFC 3339 parsing."""

from __future__ import annotations

from datetime import datetime, timezone


def parse_time(value: str | datetime | None) -> datetime | None:
    """An RFC 3339 string (or a datetime) as an aware UTC datetime; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def human_duration(seconds: float) -> str:
    """Kubernetes' HumanDuration (apimachinery/pkg/util/duration), which `kubectl argo rollouts` uses
    for AGE: seconds up to 2 minutes, then minutes+seconds under 10 minutes, minutes under 3 hours,
    hours(+minutes) under 8 hours, hours under 2 days, days(+hours) under 8 days, days, years."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        return _two_units(minutes, "m", whole % 60, "s")
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _two_units(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return _two_units(hours // 24 // 365, "y", (hours // 24) % 365, "d")
    return f"{hours // 24 // 365}y"


def _two_units(big: int, big_unit: str, rest: int, rest_unit: str) -> str:
    """`5m`, or `5m30s` when there is a rest."""
    return f"{big}{big_unit}" if rest == 0 else f"{big}{big_unit}{rest}{rest_unit}"


def age(created: str | datetime | None, now: datetime) -> str:
    """AGE of an object created at `created` as seen at `now`; blank when the time is unknown."""
    when = parse_time(created)
    if when is None:
        return ""
    return human_duration((now - when).total_seconds())
