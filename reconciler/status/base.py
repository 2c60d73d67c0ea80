"""The StatusStore interface shared by the `annotations` and `commit` modes.

A rollout's state is a plain, JSON/YAML-serialisable dict (its shape belongs to the engine,
`reconciler.engine.state`). Keys are (namespace, name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

RolloutKey = tuple[str, str]  # (namespace, name)


class StatusStore(Protocol):
    mode: str  # "annotations" or "commit"

    def load(self, namespaces: Iterable[str] | None = None) -> dict[RolloutKey, dict]:
        """The last recorded state of the rollouts in `namespaces` (None: every namespace the store
        can see), in one read per namespace at most. Missing rollouts are absent."""

    def save(self, changed: Mapping[RolloutKey, dict], *, message: str) -> None:
        """Record the states that changed this run.

        Raises reconciler.errors.Conflict when someone else wrote first (a stale resourceVersion,
        a rejected push): the caller re-loads, re-plans the affected rollouts and tries again.
        Never forces, never rewrites another writer's change.
        """
