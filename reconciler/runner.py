"""The entry point the CLI and the tests call: one pass of the pipeline (reconciler/pipeline/).

    run_once(root, cluster, store, now, dry_run=...) -> RunReport

One pass over every Rollout under `root` (a directory of manifests, already checked out by the
source stage): manifests -> validation -> observe -> plan -> record -> apply. Plain manifests are
applied before the Rollouts that use them. Each rollout is planned independently by the pure
planner; its next state is recorded through the StatusStore (compare-and-swap; on `Conflict` the
states are re-loaded, the affected rollouts re-planned, a bounded number of times) before the
plan's actions and Events are applied through the Cluster.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from reconciler.pipeline.report import RolloutKey, RolloutResult, RunReport

__all__ = ["run_once", "RunReport", "RolloutResult", "RolloutKey"]


def run_once(
    root: Path,
    cluster,
    store,
    now: datetime,
    *,
    dry_run: bool,
    source_label: str = "",
    only: set[RolloutKey] | None = None,
    lease_namespace: str = "default",
    clock=None,
    period_seconds: float | None = None,
    shard: tuple[int, int] | None = None,
    deadline=None,
    notify: bool = True,
    notify_max_age: float | None = None,
    strict: bool = False,
    policy=None,
    prune: bool = False,
    owner: str = "",
    source_cache=None,
) -> RunReport:
    """One pass over every Rollout under `root`. `plan` is dry_run=True: nothing is written.
    A run that writes holds Lease `lease_namespace`/reconciler, renewed as `clock` passes.
    `period_seconds`: how often runs happen (`--period`), for the analysis timing warnings. `shard` (I, N): only shard I of N (`--shard`).
    `deadline`: a reconciler.deadline.Deadline (`run --timeout`); past it the run stops between writes.
    `notify=False` (`run --no-notify`) keeps the notifications pending; `notify_max_age`: seconds
    after which an undeliverable notification is dropped (default 24h). `strict` (`--strict`): a field
    the reconciler does not act on is an error, so its rollout is reported and skipped. `policy`: a
    reconciler.kinds.SourcePolicy (`--allow-secrets`, `--apply-cluster-scoped`). `prune` (`--prune`): delete what
    SOURCE `owner` (Checkout.owner; default: `root` itself) applied earlier and no longer holds (pipeline/prune.py).
    `source_cache`: reconciler.validation.cache.source_cache(...) (`--cache-dir`), None for no cache."""
    from reconciler import pipeline
    from reconciler.deadline import NEVER

    options = pipeline.RunOptions(dry_run=dry_run, source_label=source_label, only=only, lease_namespace=lease_namespace, clock=clock,
                                  period_seconds=period_seconds, shard=shard, deadline=deadline or NEVER, notify=notify,
                                  notify_max_age=notify_max_age, strict=strict, prune=prune, owner=owner, source_cache=source_cache,
                                  **({"policy": policy} if policy is not None else {}))
    return pipeline.run(Path(root), cluster, store, now, options)
