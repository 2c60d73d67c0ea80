"""The StatusStore interface shared by the `annotations` and `commit` modes.

A rollout's state is a plain, JSON/YAML-serialisable dict (its shape belongs to the engine,
`reconciler.engine.state`). Keys are (namespace, name).
"""

from __future__ import annotations

from typing import Mapping, Protocol

RolloutKey = tuple[str, str]  # (namespace, name)


class StatusStore(Protocol):
    mode: str  # "annotations" or "commit"

    def load(self) -> dict[RolloutKey, dict]:
        """Every rollout's last recorded state, in one read. Missing rollouts are absent."""

    def save(self, changed: Mapping[RolloutKey, dict], *, message: str) -> None:
        """Record the states that changed this run.

        Raises reconciler.errors.Conflict when someone else wrote first (a stale resourceVersion,
        a rejected push): the caller re-loads, re-plans the affected rollouts and tries again.
        Never forces, never rewrites another writer's change.
        """
