"""`run --shard I/N`: split one repository's work between N runs that never overlap.

A Rollout belongs to shard `sha256("<namespace>/<name>") mod N`: stable across runs, machines and
Python versions, and independent of the order of files. Every object of SOURCE is applied by
exactly one shard, so two shards never write the same object in the same tick:
- an object one or more Rollouts name (their Services, VirtualServices, AnalysisTemplates, ...)
  goes with the first of those Rollouts in namespace/name order;
- an object no Rollout names goes by its own kind/namespace/name.
Every shard still reads what it needs from the cluster (a Service applied by another shard is seen
live), so the union of the shards is exactly what one unsharded run does. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from reconciler.errors import UsageError

M = TypeVar("M")
ObjectKey = tuple[str, str, str]  # (kind, namespace or "", name)


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """"I/N" (0 <= I < N) -> (I, N); None or "" -> None (no sharding)."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = -1
    if not sep or n < 1 or not 0 <= i < n:
        raise UsageError(f"--shard {text!r} is not I/N with 0 <= I < N",
                         hint="e.g. --shard 0/4 ... --shard 3/4; in an Indexed Job: --shard $(JOB_COMPLETION_INDEX)/4")
    return i, n


def shard_of(key: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % count


def lease_name(base: str, shard: tuple[int, int] | None) -> str:
    """One Lease per shard, so the shards of one tick run side by side."""
    return base if shard is None else f"{base}-shard-{shard[0]}-of-{shard[1]}"


def split(
    rollouts: Iterable[M],
    objects: Iterable[M],
    shard: tuple[int, int],
    *,
    rollout_key: Callable[[M], tuple[str, str]],
    object_key: Callable[[M], ObjectKey],
    references: Callable[[M], Iterable[ObjectKey]],
) -> tuple[list[M], list[M]]:
    """The Rollouts and the plain objects shard `shard` handles."""
    index, count = shard
    rollouts, objects = list(rollouts), list(objects)
    owner: dict[ObjectKey, tuple[str, str]] = {}
    for rollout in sorted(rollouts, key=rollout_key):
        for ref in references(rollout):
            owner.setdefault(ref, rollout_key(rollout))
    mine_rollouts = [r for r in rollouts if shard_of("/".join(rollout_key(r)), count) == index]
    mine_objects = []
    for obj in objects:
        key = object_key(obj)
        by = owner.get(key)
        home = shard_of("/".join(by), count) if by is not None else shard_of("/".join(key), count)
        if home == index:
            mine_objects.append(obj)
    return mine_rollouts, mine_objects
