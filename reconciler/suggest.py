"""'did you mean `x`?': the closest known name to a misspelt one. Imports nothing of the
reconciler, so every layer (manifests, validation, analysis checks, commands) can use it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import lru_cache


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """"did you mean `x`?" for the closest property name, or ""."""
    return _did_you_mean(name, tuple(candidates))


@lru_cache(maxsize=4096)
def _did_you_mean(name: str, candidates: tuple[str, ...]) -> str:
    # cached: a repository tends to repeat the same mistake across many objects
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return f"did you mean `{lowered[name.lower()]}`?"
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""
