"""The imperative shell: manifests -> validation -> observe -> plan -> apply -> record.

    run_once(root, cluster, store, now, dry_run=...) -> RunReport

One pass over every Rollout under `root` (a directory of manifests, already checked out by the
source stage). Plain manifests are applied before the Rollouts that use them. Each rollout is
planned independently by the pure planner; the shell applies the plan's actions through the
Cluster, emits its Events, and records its next state through the StatusStore. On `Conflict`
from `store.save` it re-loads the states, re-plans the affected rollouts and tries again (a
bounded number of times), then reports the ones it could not record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reconciler.engine.model import Plan
from reconciler.errors import EXIT_FINDINGS, EXIT_INFRA, EXIT_OK
from reconciler.findings import Finding

RolloutKey = tuple[str, str]


@dataclass
class RolloutResult:
    namespace: str
    name: str
    plan: Plan | None = None
    view: dict = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    error: str = ""  # set when the rollout could not be planned/applied/recorded
    rollout: dict | None = None  # the desired Rollout manifest (plain dict), for progression tables

    def to_dict(self) -> dict:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "plan": self.plan.to_dict() if self.plan else None,
            "view": self.view,
            "findings": [f.to_dict() for f in self.findings],
            "error": self.error,
        }


@dataclass
class RunReport:
    results: list[RolloutResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # findings not tied to one rollout
    manifest_actions: list = field(default_factory=list)  # Actions for plain manifests (Services, ...)
    dry_run: bool = False
    writes: int = 0
    reads: int = 0
    objects: int = 0  # Kubernetes objects read from the source (0: it holds no manifests)
    notifications: list = field(default_factory=list)  # reconciler.notifications.deliver.Outcome

    timed_out: str = ""  # where a run past its --timeout stopped (reconciler/deadline.py); exit 2

    @property
    def exit_code(self) -> int:
        if self.timed_out:
            return EXIT_INFRA
        if any(f.is_error for f in self.findings):
            return EXIT_FINDINGS
        for result in self.results:
            if result.error or any(f.is_error for f in result.findings):
                return EXIT_FINDINGS
            if result.plan is not None and result.plan.degraded_now:
                return EXIT_FINDINGS
        return EXIT_OK

    def to_dict(self) -> dict:
        return {
            "dryRun": self.dry_run,
            "exitCode": self.exit_code,
            "writes": self.writes,
            "reads": self.reads,
            "objects": self.objects,

            "timedOut": self.timed_out,
            "findings": [f.to_dict() for f in self.findings],
            "manifestActions": [a.to_dict() for a in self.manifest_actions],
            "rollouts": [r.to_dict() for r in self.results],
            "notifications": [n.to_dict() for n in self.notifications],
        }


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
) -> RunReport:
    """One pass over every Rollout under `root`. `plan` is dry_run=True: nothing is written.
    A run that writes holds Lease `lease_namespace`/reconciler, renewed as `clock` passes.
    `period_seconds`: how often runs happen (`--period`), for the analysis timing warnings. `shard` (I, N): only shard I of N (`--shard`).
    `deadline`: a reconciler.deadline.Deadline (`run --timeout`); past it the run stops between writes.
    `notify=False` (`run --no-notify`) keeps the notifications pending; `notify_max_age`: seconds
    after which an undeliverable notification is dropped (default 24h)."""
    from reconciler.apply import apply_run

    return apply_run(Path(root), cluster, store, now, dry_run=dry_run, source_label=source_label, only=only,
                     lease_namespace=lease_namespace, clock=clock, period_seconds=period_seconds, shard=shard, deadline=deadline,
                     notify=notify, notify_max_age=notify_max_age)
