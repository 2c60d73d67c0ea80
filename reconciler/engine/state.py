"""RolloutState: what the engine remembers about one rollout between runs.

It is a plain value, converted to and from a JSON/YAML-friendly dict (`to_dict` / `from_dict`) so
every StatusStore (annotations on a ConfigMap, a YAML file committed to Git) stores the same thing.
Unknown keys are kept (`extra`) so an older reconciler never drops what a newer one wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

STATE_VERSION = 1


@dataclass
class RolloutState:
    # The revision being rolled out (1, 2, ...), its pod-template hash, and the stable hash.
    revision: int = 0
    current_hash: str = ""
    stable_hash: str = ""
    # Canary: index of the step being executed (== len(steps) once all steps are done).
    step_index: int = 0
    # When the current pause began (RFC 3339); None when not paused on a step.
    pause_started_at: str | None = None
    # Why the rollout is paused ("CanaryPauseStep", "BlueGreenPause", or a not-supported message).
    pause_reason: str = ""
    # When the current step / revision started and when progress was last seen (progress deadline).
    step_started_at: str | None = None
    last_progress_at: str | None = None
    progress_marker: str = ""
    # Hash of the canary steps the step index counts in: changing only `steps` restarts them.
    steps_hash: str = ""
    # Abort: the rollout went back to stable; a retry (or a new template) clears it.
    aborted: bool = False
    aborted_message: str = ""
    aborted_at: str | None = None  # when; blue-green keeps the aborted revision abortScaleDownDelaySeconds
    # ProgressDeadlineExceeded: set when a ReplicaSet does not become available in time.
    timed_out_message: str = ""
    # Something outside the steps holds the rollout: {"status": "Paused"|"Degraded", "message": ...};
    # {} when not. Re-computed every run from what is live: the traffic router's objects
    # (engine/traffic/routing.py), a workloadRef's Deployment (engine/workload.py).
    hold: dict[str, Any] = field(default_factory=dict)
    # Manual gates recorded by `promote` / `abort` / `retry` (CLI) or read from Git annotations.
    # Each gate names the revision (and step) it applies to, so it acts once: {"revision": 2, "step": 1, "full": False}
    promote: dict | None = None
    abort: dict | None = None
    retry: dict | None = None
    # Set when the state was lost and could not be rebuilt without a guess (engine/rebuild.py):
    # {"message", "hint", "stable"}. The rollout holds, writing nothing, until promote/abort/retry.
    halted: dict | None = None
    # Git gate annotation values already consumed, so a manifest annotation acts once.
    gates_consumed: list[str] = field(default_factory=list)
    # Blue-green: when the active Service was switched to the current hash; old hashes' scale-down deadlines.
    promoted_at: str | None = None
    scale_down_at: dict[str, str] = field(default_factory=dict)
    # Revision number per pod-template hash (Argo keeps it on the ReplicaSet; we keep both).
    revisions: dict[str, int] = field(default_factory=dict)
    # Opaque per-run analysis states (owned by reconciler.analysis), keyed by run name.
    analysis: dict[str, Any] = field(default_factory=dict)
    # What `get rollout` needs without a SOURCE: the desired summary (strategy, steps, replicas,
    # services) recorded from the manifest the last run saw, and the last view it computed.
    desired_summary: dict[str, Any] = field(default_factory=dict)
    last_view: dict[str, Any] = field(default_factory=dict)
    # Experiments (engine/experiment.py), keyed by name: phase, templates, analyses, times.
    experiments: dict[str, Any] = field(default_factory=dict)
    # The notification outbox (owned by reconciler.notifications.ledger): pending entries, the ids
    # sent, condition triggers fired. Recorded with the step, so each notification is sent once.
    notifications: dict[str, Any] = field(default_factory=dict)
    updated_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, *, copy: bool = True) -> dict:
        # Field values are plain JSON-like data: a copy of dicts and lists is enough (and much
        # cheaper than dataclasses.asdict's deepcopy, which the 1,000-rollout plan felt).
        # copy=False shares the values: for a state that is written out and no longer planned on.
        take = plain_copy if copy else _same
        out = {"version": STATE_VERSION}
        for name in _FIELD_NAMES:
            out[name] = take(getattr(self, name))
        for key, value in (self.extra or {}).items():
            out.setdefault(key, take(value))
        return out

    @classmethod
    def from_dict(cls, data: dict | None) -> RolloutState:
        if not data:
            return cls()
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known and k != "extra"}
        extra = {k: v for k, v in data.items() if k not in known and k != "version"}
        state = cls(**kwargs)
        state.extra = extra
        # YAML may give back None for empty mappings/lists
        state.gates_consumed = list(state.gates_consumed or [])
        state.scale_down_at = dict(state.scale_down_at or {})
        state.revisions = {str(k): int(v) for k, v in (state.revisions or {}).items()}
        state.analysis = dict(state.analysis or {})
        state.hold = dict(state.hold or {})
        state.desired_summary = dict(state.desired_summary or {})
        state.last_view = dict(state.last_view or {})
        state.notifications = dict(state.notifications or {})
        state.experiments = dict(state.experiments or {})
        return state

    def copy(self) -> RolloutState:
        return RolloutState.from_dict(self.to_dict())

    def progress_equal(self, other: RolloutState) -> bool:
        """Equal ignoring the bookkeeping that changes every run (the recorded view, updated_at)."""
        return all(getattr(self, name) == getattr(other, name) for name in _FIELD_NAMES if name not in ("last_view", "updated_at")) and (
            (self.extra or {}) == (other.extra or {})
        )


_FIELD_NAMES = tuple(f.name for f in fields(RolloutState) if f.name != "extra")


def _same(value):
    return value


def plain_copy(value):
    """A deep copy of plain JSON/YAML-like data (dicts, lists, scalars): several times cheaper
    than copy.deepcopy, which the planner paid on every object it touched."""
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_copy(v) for v in value]
    return value
