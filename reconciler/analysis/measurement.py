"""The values the analysis run state machine (run.py) exchanges with the I/O side
(analysis/measure.py and the providers): what to measure now, what a provider reported, and the
phases both speak of."""

from __future__ import annotations

from dataclasses import dataclass, field

PENDING, RUNNING, SUCCESSFUL, FAILED, INCONCLUSIVE, ERROR = "Pending", "Running", "Successful", "Failed", "Inconclusive", "Error"
COMPLETED = frozenset({SUCCESSFUL, FAILED, INCONCLUSIVE, ERROR})


@dataclass(frozen=True)
class MeasurementRequest:
    """One measurement to take now. `action`: "start" a new one, "resume" or "terminate" the
    in-flight `pending` one (e.g. a running Job)."""

    run: str
    namespace: str
    run_uid: str
    rollout: str
    metric: dict
    action: str
    index: int  # 1-based number of this measurement for the metric (Argo names Jobs <uid>.<metric>.<index>)
    pending: dict | None = None
    secret_args: dict = field(default_factory=dict)  # arg name -> {"name": secret, "key": key}

    @property
    def metric_name(self) -> str:
        return str(self.metric.get("name", ""))


@dataclass
class Measurement:
    """What a provider reported. Times are RFC 3339 strings of the run's `now`."""

    metric: str
    phase: str
    started_at: str | None = None
    finished_at: str | None = None
    value: str = ""
    message: str = ""
    resume_at: str | None = None
    metadata: dict = field(default_factory=dict)
    # True when this completes/updates the metric's in-flight measurement instead of adding one.
    replaces_pending: bool = False

    def to_dict(self) -> dict:
        out = {
            "phase": self.phase,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "value": self.value,
            "message": self.message,
            "resumeAt": self.resume_at,
            "metadata": dict(self.metadata),
        }
        return {k: v for k, v in out.items() if v not in (None, "", {})} | {"phase": self.phase}

    def as_record(self) -> dict:
        """Everything, as a plain dict (for the observe -> plan hand-over); `from_record` reverses it."""
        return {"metric": self.metric, "replacesPending": self.replaces_pending, **self.to_dict()}

    @classmethod
    def from_record(cls, record: dict) -> Measurement:
        return cls.from_dict(str(record.get("metric", "")), record, replaces_pending=bool(record.get("replacesPending")))

    @classmethod
    def from_dict(cls, metric: str, data: dict, *, replaces_pending: bool = False) -> Measurement:
        return cls(
            metric=metric,
            phase=data.get("phase", RUNNING),
            started_at=data.get("startedAt"),
            finished_at=data.get("finishedAt"),
            value=str(data.get("value", "") or ""),
            message=str(data.get("message", "") or ""),
            resume_at=data.get("resumeAt"),
            metadata=dict(data.get("metadata") or {}),
            replaces_pending=replaces_pending,
        )
