"""Reading an AnalysisTemplate metric's counting and timing fields (count, interval, initialDelay
and the limits) with their defaults, and Argo's checks on a run's metrics; SpecError for a field
the run cannot use."""

from __future__ import annotations

from reconciler.durations import parse_duration

DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4



class SpecError(ValueError):
    pass


def int_field(metric: dict, key: str, default: int | None) -> int | None:
    raw = metric.get(key)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise SpecError(f"metric {metric.get('name')!r}: {key} must be an integer, got {raw!r}")
    try:
        return int(str(raw).strip())
    except ValueError:
        raise SpecError(f"metric {metric.get('name')!r}: {key} must be an integer, got {raw!r}") from None


def duration_field(metric: dict, key: str) -> float | None:
    raw = metric.get(key)
    if raw is None or raw == "":
        return None
    seconds = parse_duration(raw)
    if seconds is None or seconds < 0:
        raise SpecError(f"metric {metric.get('name')!r}: {key} {raw!r} is not a duration (e.g. 30s, 5m)")
    return seconds


def effective_count(metric: dict) -> int | None:
    """How many measurements the metric takes; None = until terminated (interval, no count)."""
    count = int_field(metric, "count", None)
    if not count:
        return None if duration_field(metric, "interval") else 1
    return count


def failure_limit(metric: dict) -> int:
    return int_field(metric, "failureLimit", 0) or 0


def inconclusive_limit(metric: dict) -> int:
    return int_field(metric, "inconclusiveLimit", 0) or 0


def consecutive_error_limit(metric: dict) -> int:
    value = int_field(metric, "consecutiveErrorLimit", DEFAULT_CONSECUTIVE_ERROR_LIMIT)
    return DEFAULT_CONSECUTIVE_ERROR_LIMIT if value is None else value


def validate_metrics(metrics: list[dict]) -> None:
    """Argo's ValidateMetrics, as far as the run needs it: raises SpecError."""
    if not metrics:
        raise SpecError("at least one metric is required")
    seen = set()
    for metric in metrics:
        name = metric.get("name")
        if not name:
            raise SpecError("every metric needs a name")
        if name in seen:
            raise SpecError(f"metric {name!r} is defined more than once")
        seen.add(name)
        count = int_field(metric, "count", None)
        if count is not None and count < 0:
            raise SpecError(f"metric {name!r}: count must be >= 0")
        for key in ("failureLimit", "inconclusiveLimit", "consecutiveErrorLimit"):
            value = int_field(metric, key, 0)
            if value is not None and value < 0:
                raise SpecError(f"metric {name!r}: {key} must be >= 0")
        duration_field(metric, "interval")
        duration_field(metric, "initialDelay")
        providers = [k for k, v in (metric.get("provider") or {}).items() if v is not None]
        if len(providers) != 1:
            raise SpecError(f"metric {name!r} must have exactly one provider, found {len(providers)}")
