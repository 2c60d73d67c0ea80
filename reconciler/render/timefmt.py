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
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def age(created: str | datetime | None, now: datetime) -> str:
    """AGE of an object created at `created` as seen at `now`; blank when the time is unknown."""
    when = parse_time(created)
    if when is None:
        return ""
    return human_duration((now - when).total_seconds())
