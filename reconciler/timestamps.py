"""The one home of the RFC 3339 UTC timestamps the reconciler writes and reads (status, annotations,
AnalysisRun measurements, the simulated kubelet): seconds precision with a `Z`, and a lenient parse
that takes `Z` or an offset, treats a naive time as UTC, and gives None for nothing or garbage."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text) -> datetime | None:
    if not text:
        return None
    text = str(text)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
