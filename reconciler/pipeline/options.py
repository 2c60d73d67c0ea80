"""How one run is asked to behave: the flags of `plan` / `run`, as one value every stage may read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from reconciler.deadline import NEVER, Deadline
from reconciler.kinds import SourcePolicy

RolloutKey = tuple[str, str]


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool  # `plan`: nothing is written, no Lease is taken
    source_label: str = ""  # the credential-free SOURCE, for commit messages and notifications
    only: set[RolloutKey] | None = None  # plan/run just these (namespace, name)
    lease_namespace: str = "default"
    clock: Callable[[], datetime] | None = None  # keeps the Lease renewed (default: now + elapsed)
    period_seconds: float | None = None  # --period, for the analysis timing warnings
    shard: tuple[int, int] | None = None  # --shard I/N
    deadline: Deadline = NEVER  # run --timeout: checked only between writes
    notify: bool = True  # run --no-notify keeps notifications pending
    notify_max_age: float | None = None  # seconds after which an undeliverable notification is dropped
    strict: bool = False  # --strict: a field the reconciler does not act on is an error (the rollout is skipped)
    policy: SourcePolicy = SourcePolicy()  # --allow-secrets, --apply-cluster-scoped
    prune: bool = False  # --prune: delete what this SOURCE applied earlier and no longer holds (pipeline/prune.py)
    owner: str = ""  # the SOURCE's identity written on what it applies (Checkout.owner; "" = the root directory)
    source_cache: object = None  # --cache-dir: reconciler.validation.cache.source_cache(...) (None: no cache)
