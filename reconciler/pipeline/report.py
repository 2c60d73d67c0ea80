"""What a run says it did: one RolloutResult per Rollout and the RunReport around them. Plain values
every stage may fill in; the CLI renders them (text, JSON, YAML, markdown)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
class Pruning:
    """What `--prune` did or would do (pipeline/prune.py); without --prune only `prunable` is counted."""

    enabled: bool = False  # --prune was given
    deletes: list = field(default_factory=list)  # Actions (verb "delete"): what is (plan: would be) deleted
    pruned: list = field(default_factory=list)  # the deletes the cluster accepted (run)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (object, why): applied earlier, gone from SOURCE, still named
    left: list[str] = field(default_factory=list)  # Rollouts gone from SOURCE whose ReplicaSets are left running
    held: str = ""  # why nothing was pruned (errors in SOURCE, an empty SOURCE, --shard, --timeout)
    prunable: int = 0  # without --prune (or held): how many objects --prune would delete
    errors: list[str] = field(default_factory=list)  # deletes the cluster refused

    def to_dict(self) -> dict:
        return {
            "enabled": self.enabled,
            "delete": [a.to_dict() for a in self.deletes],
            "pruned": len(self.pruned),
            "kept": [{"object": obj, "reason": why} for obj, why in self.kept],
            "left": self.left,
            "held": self.held,
            "prunable": self.prunable,
            "errors": self.errors,
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
    prune: Pruning = field(default_factory=Pruning)  # --prune (pipeline/prune.py)

    timed_out: str = ""  # where a run past its --timeout stopped (reconciler/deadline.py); exit 2

    @property
    def exit_code(self) -> int:
        if self.timed_out:
            return EXIT_INFRA
        if any(f.is_error for f in self.findings) or self.prune.errors:
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
            "prune": self.prune.to_dict(),
        }
