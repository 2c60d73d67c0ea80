"""The values the pure planner takes and returns. Plain data; every object is a plain dict.

    plan(desired: Desired, live: Live, state: RolloutState, now) -> Plan

`Desired` is the Rollout from the repository; `Live` is what `observe` gathered for it (its
ReplicaSets, the Services it names, analysis objects); a `Plan` is the list of object writes, the
next state, the displayed view and the Kubernetes Events to emit. The shell (reconciler.pipeline)
applies the actions in order, emits the events and records the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.state import RolloutState


@dataclass
class Desired:
    """One Rollout manifest (a plain dict) and where it came from."""

    rollout: dict
    file: str = ""
    line: int = 0
    # AnalysisTemplates / ClusterAnalysisTemplates the rollout may name, keyed by
    # (kind, namespace or None, name): from the repository, else as found live.
    templates: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return (self.rollout.get("metadata") or {}).get("name", "")

    @property
    def namespace(self) -> str:
        return (self.rollout.get("metadata") or {}).get("namespace") or "default"

    @property
    def spec(self) -> dict:
        return self.rollout.get("spec") or {}

    @property
    def annotations(self) -> dict:
        return (self.rollout.get("metadata") or {}).get("annotations") or {}


@dataclass
class Live:
    """What observe found for one rollout. ReplicaSets carry status (replicas/ready/available).

    `pods` maps a ReplicaSet name to its pods (for the view only; the planner uses RS status).
    `services` maps a Service name to the live object (absent: not found).
    `traffic`: the traffic router's live objects (reconciler.engine.traffic).
    `measurements`: what observe measured for the rollout's analysis runs this invocation,
    keyed by run name (records from `reconciler.analysis.measure`), for the planner to apply.
    """

    replicasets: list[dict] = field(default_factory=list)
    services: dict[str, dict] = field(default_factory=dict)
    pods: dict[str, list[dict]] = field(default_factory=dict)
    measurements: dict[str, list[dict]] = field(default_factory=dict)
    # The traffic router's objects (VirtualServices, DestinationRules) the rollout names, keyed
    # by (kind, namespace, name); absent: not found.
    traffic: dict[tuple, dict] = field(default_factory=dict)
    # The Deployment a `workloadRef` names, live (for its scaleDown); None when there is none.
    workload: dict | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Action:
    """One write. `before` is the live object (None for create), `after` the object to write
    (None for delete). Both are plain dicts, so renderers can print a diff."""

    verb: str  # "create" | "replace" | "delete"
    kind: str
    namespace: str | None
    name: str
    before: dict | None
    after: dict | None
    reason: str = ""

    def to_dict(self) -> dict:
        from reconciler.redact import redacted

        before, after = redacted(self.before, self.after)  # a Secret's values are never printed
        return {
            "verb": self.verb,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "reason": self.reason,
            "before": before,
            "after": after,
        }


@dataclass
class Event:
    """A Kubernetes Event the shell emits about the Rollout (reason as Argo names them)."""

    reason: str  # RolloutUpdated, NewReplicaSetCreated, ScalingReplicaSet, SwitchService, ...
    message: str
    type: str = "Normal"

    def to_dict(self) -> dict:
        return {"reason": self.reason, "message": self.message, "type": self.type}


@dataclass
class Plan:
    """What one invocation does for one rollout.

    `where`: a sentence saying where the rollout is; `next`: what this run's actions do.
    `status`/`message`: the displayed phase after the actions (Healthy|Progressing|Paused|Degraded).
    `degraded_now`: the rollout became Degraded or aborted in this run (the run exits 1).
    """

    namespace: str
    name: str
    strategy: str  # "Canary" | "BlueGreen"
    actions: list[Action]
    state: RolloutState
    events: list[Event]
    status: str
    message: str
    where: str = ""
    next: str = ""
    degraded_now: bool = False
    view: dict = field(default_factory=dict)
    # About the recorded state itself (engine/rebuild.py): {"severity": "warning"|"error", "message", "hint"}.
    state_finding: dict | None = None

    @property
    def changes(self) -> bool:
        return bool(self.actions)

    def to_dict(self) -> dict:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "strategy": self.strategy,
            "status": self.status,
            "message": self.message,
            "where": self.where,
            "next": self.next,
            "degradedNow": self.degraded_now,
            "actions": [a.to_dict() for a in self.actions],
            "events": [e.to_dict() for e in self.events],
            "state": self.state.to_dict(),
            "view": self.view,
            "stateFinding": self.state_finding,
        }
