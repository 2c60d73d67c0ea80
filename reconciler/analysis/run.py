"""The AnalysisRun state machine, pure: no I/O, no clock (`now` is an argument), no randomness.

An analysis run is a plain JSON/YAML-serialisable dict kept in the rollout's state between
invocations (`RolloutState.analysis[name]`). It doubles as the `analysisRuns[]` entry of the
rollout view: `name`, `revision`, `status`, `message`, `createdAt`, `metrics[]` (each with
`phase` and the counts `successful`/`failed`/`inconclusive`/`error`) and `jobs[]`.

One invocation does, for each run that is not finished:

    requests = due_measurements(run, now)                     # pure: what is due now
    measurements = measure.take_measurements(requests, ...)  # I/O: providers
    run = apply_measurements(run, measurements, now)          # pure: record and decide

Semantics follow Argo Rollouts' analysis controller (analysis/analysis.go):
- a metric is measured once unless `count` or `interval` say otherwise; `interval` without
  `count` measures until the run is terminated; `initialDelay` delays the first measurement;
- at most one measurement per metric per invocation; an in-flight (async) measurement such as a
  running Job is resumed, not restarted; after an Error the next try is due 10 s later;
- a metric is Failed when failed > failureLimit (default 0), Inconclusive when inconclusive >
  inconclusiveLimit (default 0), Error when consecutive errors > consecutiveErrorLimit (default 4),
  and Successful once `count` measurements were taken without crossing a limit;
- the run takes the worst phase of its metrics (Successful < Inconclusive < Error < Failed) once
  they all completed, or as soon as one is Failed/Inconclusive/Error (the rest is terminated);
  dry-run metrics are measured and shown but never decide the run.
Where a batch job must differ from a resident controller: a measurement is due when
`now >= last.finishedAt + interval` (Argo: strictly after), so a CronJob tick that lands exactly
on the interval measures.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reconciler.analysis import metric_rules
from reconciler.durations import parse_duration
from reconciler.timestamps import iso
from reconciler.timestamps import parse_iso as parse_time

PENDING, RUNNING, SUCCESSFUL, FAILED, INCONCLUSIVE, ERROR = "Pending", "Running", "Successful", "Failed", "Inconclusive", "Error"
COMPLETED = frozenset({SUCCESSFUL, FAILED, INCONCLUSIVE, ERROR})
# Argo's order when choosing the run's phase from its metrics: later is worse.
_ORDER = [PENDING, RUNNING, SUCCESSFUL, INCONCLUSIVE, ERROR, FAILED]

DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4
ERROR_RETRY_SECONDS = 10.0
MEASUREMENT_HISTORY_LIMIT = 10
_UID_NAMESPACE = uuid.UUID("6f1c1f4e-3c1b-4e55-9a57-0b9d3a1f2c11")


# -- values exchanged with the I/O side --------------------------------------------------------------


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


# -- time helpers --------------------------------------------------------------------------------------



# -- metric spec readers ---------------------------------------------------------------------------------


class SpecError(ValueError):
    pass


def _int_field(metric: dict, key: str, default: int | None) -> int | None:
    raw = metric.get(key)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise SpecError(f"metric {metric.get('name')!r}: {key} must be an integer, got {raw!r}")
    try:
        return int(str(raw).strip())
    except ValueError:
        raise SpecError(f"metric {metric.get('name')!r}: {key} must be an integer, got {raw!r}") from None


def _duration_field(metric: dict, key: str) -> float | None:
    raw = metric.get(key)
    if raw is None or raw == "":
        return None
    seconds = parse_duration(raw)
    if seconds is None or seconds < 0:
        raise SpecError(f"metric {metric.get('name')!r}: {key} {raw!r} is not a duration (e.g. 30s, 5m)")
    return seconds


def effective_count(metric: dict) -> int | None:
    """How many measurements the metric takes; None = until terminated (interval, no count)."""
    count = _int_field(metric, "count", None)
    if not count:
        return None if _duration_field(metric, "interval") else 1
    return count


def failure_limit(metric: dict) -> int:
    return _int_field(metric, "failureLimit", 0) or 0


def inconclusive_limit(metric: dict) -> int:
    return _int_field(metric, "inconclusiveLimit", 0) or 0


def consecutive_error_limit(metric: dict) -> int:
    value = _int_field(metric, "consecutiveErrorLimit", DEFAULT_CONSECUTIVE_ERROR_LIMIT)
    return DEFAULT_CONSECUTIVE_ERROR_LIMIT if value is None else value


def validate_metrics(metrics: list[dict]) -> None:
    """Argo's ValidateMetrics, as far as the run needs it: raises SpecError."""
    if not metrics:
        raise SpecError("at least one metric is required")
    seen = set()
    for metric in metrics:
        name = metric.get("name")
        if not name:
            raise SpecError("every metric needs a name")
        if name in seen:
            raise SpecError(f"metric {name!r} is defined more than once")
        seen.add(name)
        count = _int_field(metric, "count", None)
        if count is not None and count < 0:
            raise SpecError(f"metric {name!r}: count must be >= 0")
        for key in ("failureLimit", "inconclusiveLimit", "consecutiveErrorLimit"):
            value = _int_field(metric, key, 0)
            if value is not None and value < 0:
                raise SpecError(f"metric {name!r}: {key} must be >= 0")
        _duration_field(metric, "interval")
        _duration_field(metric, "initialDelay")
        providers = [k for k, v in (metric.get("provider") or {}).items() if v is not None]
        if len(providers) != 1:
            raise SpecError(f"metric {name!r} must have exactly one provider, found {len(providers)}")


# -- run construction ----------------------------------------------------------------------------------------


def run_uid(namespace: str, name: str, created_at: str) -> str:
    """A deterministic UUID for the run (Argo names Jobs after the run's UID)."""
    return str(uuid.uuid5(_UID_NAMESPACE, f"{namespace}/{name}/{created_at}"))


def start_run(
    name: str,
    rollout_ref: dict | str,
    revision: int,
    metrics: list[dict],
    now: datetime,
    *,
    dry_run_metrics: Iterable[str] = (),
    secret_args: dict | None = None,
    labels: dict | None = None,
    annotations: dict | None = None,
    measurement_retention: dict | None = None,
) -> dict:
    """A new run, Pending until its first `apply_measurements`. `rollout_ref` is
    {"namespace", "name"} (or "namespace/name"). `metrics` are resolved (args substituted);
    `secret_args` maps arg names still written `{{args.x}}` to Secret refs, resolved only at
    measurement time so no secret value is ever stored in the run."""
    if isinstance(rollout_ref, str):
        namespace, _, rollout = rollout_ref.rpartition("/")
        rollout_ref = {"namespace": namespace or "default", "name": rollout}
    namespace = rollout_ref.get("namespace") or "default"
    created = iso(now)
    metrics = copy.deepcopy(list(metrics))
    dry_run = sorted(set(dry_run_metrics))
    if "*" in dry_run:
        dry_run = sorted(str(m.get("name")) for m in metrics)
    run = {
        "name": name,
        "namespace": namespace,
        "uid": run_uid(namespace, name, created),
        "rollout": rollout_ref.get("name", ""),
        "revision": int(revision),
        "labels": dict(labels or {}),
        **({"annotations": dict(annotations)} if annotations else {}),
        "status": PENDING,
        "message": "",
        "createdAt": created,
        "startedAt": created,
        "finishedAt": None,
        "terminate": False,
        "spec": {"metrics": metrics, "dryRun": dry_run, "secretArgs": dict(secret_args or {}),
                 **({"measurementRetention": dict(measurement_retention)} if measurement_retention else {})},
        "metrics": [],
        "jobs": [],
    }
    try:
        validate_metrics(metrics)
        unknown = sorted(set(dry_run) - {str(m.get("name")) for m in metrics})
        if unknown:
            raise SpecError(f"dryRun names metric {unknown[0]!r}, which the analysis does not have")
    except SpecError as err:
        run.update(status=ERROR, message=f"Analysis spec invalid: {err}", finishedAt=created)
    return run


# -- reading a run ----------------------------------------------------------------------------------------------


def is_completed(run: dict) -> bool:
    return run.get("status") in COMPLETED


def _metric_specs(run: dict) -> list[dict]:
    return list((run.get("spec") or {}).get("metrics") or [])


def _result(run: dict, name: str) -> dict | None:
    return next((r for r in run.get("metrics") or [] if r.get("name") == name), None)


def _last(result: dict | None) -> dict | None:
    measurements = (result or {}).get("measurements") or []
    return measurements[-1] if measurements else None


def _dry_run(run: dict) -> set[str]:
    return set((run.get("spec") or {}).get("dryRun") or [])


def is_terminating(run: dict) -> bool:
    """Argo's IsTerminating: asked to stop, or a (non dry-run) metric already decided the run."""
    if run.get("terminate"):
        return True
    dry = _dry_run(run)
    return any(r.get("phase") in (FAILED, ERROR, INCONCLUSIVE) and r.get("name") not in dry for r in run.get("metrics") or [])


def _retry_interval(metric: dict, last: dict) -> float:
    if last.get("phase") == ERROR:
        return ERROR_RETRY_SECONDS
    interval = _duration_field(metric, "interval")
    return ERROR_RETRY_SECONDS if interval is None else interval


def due_measurements(run: dict, now: datetime) -> list[MeasurementRequest]:
    """The measurements to take at `now`: at most one per metric. On a finished run, only the
    termination of measurements still in flight (e.g. delete a running Job)."""
    terminating = is_terminating(run) or is_completed(run)
    started = parse_time(run.get("startedAt")) or now
    requests = []
    for metric in _metric_specs(run):
        name = str(metric.get("name"))
        result = _result(run, name)
        if result is not None and result.get("phase") in COMPLETED:
            continue
        last = _last(result)
        base = dict(
            run=run["name"], namespace=run.get("namespace", "default"), run_uid=run.get("uid", ""),
            rollout=run.get("rollout", ""), metric=metric, secret_args=dict((run.get("spec") or {}).get("secretArgs") or {}),
        )
        taken = len((result or {}).get("measurements") or [])
        index = int((result or {}).get("measurementsTaken", taken))
        if last is not None and not last.get("finishedAt"):
            resume_at = parse_time(last.get("resumeAt"))
            if resume_at is not None and resume_at > now:
                continue
            requests.append(MeasurementRequest(action="terminate" if terminating else "resume", index=index, pending=copy.deepcopy(last), **base))
            continue
        if terminating:
            continue
        if last is None:
            delay = _duration_field(metric, "initialDelay") or 0.0
            if now < started + timedelta(seconds=delay):
                continue
            requests.append(MeasurementRequest(action="start", index=index + 1, **base))
            continue
        count = effective_count(metric)
        if count is not None and int(result.get("count", 0)) >= count:
            continue
        finished = parse_time(last.get("finishedAt")) or started
        if now >= finished + timedelta(seconds=_retry_interval(metric, last)):
            requests.append(MeasurementRequest(action="start", index=index + 1, **base))
    return requests


def next_due_at(run: dict, now: datetime) -> datetime | None:
    """When the run next has something to do (Argo's calculateNextReconcileTime); None if finished
    or waiting only on an async measurement without a resume time. Useful to schedule the next tick."""
    if is_completed(run):
        return None
    best = None
    started = parse_time(run.get("startedAt")) or now
    for metric in _metric_specs(run):
        result = _result(run, str(metric.get("name")))
        if result is not None and result.get("phase") in COMPLETED:
            continue
        last = _last(result)
        if last is None:
            when = started + timedelta(seconds=_duration_field(metric, "initialDelay") or 0.0)
        elif not last.get("finishedAt"):
            when = parse_time(last.get("resumeAt")) or now
        else:
            count = effective_count(metric)
            if count is not None and int(result.get("count", 0)) >= count:
                continue
            when = (parse_time(last.get("finishedAt")) or started) + timedelta(seconds=_retry_interval(metric, last))
        best = when if best is None or when < best else best
    return best


# -- recording and deciding ---------------------------------------------------------------------------------------


def _new_result(name: str, dry_run: bool) -> dict:
    return {
        "name": name, "phase": RUNNING, "message": "", "dryRun": dry_run,
        "count": 0, "successful": 0, "failed": 0, "inconclusive": 0, "error": 0, "consecutiveError": 0,
        "measurementsTaken": 0, "measurements": [],
    }


def _record(run: dict, measurement: Measurement, now: datetime, *, counting: bool = True) -> None:
    name = measurement.metric
    if not any(m.get("name") == name for m in _metric_specs(run)):
        return  # a measurement for a metric the run does not have: ignore it
    result = _result(run, name)
    if result is None:
        result = _new_result(name, name in _dry_run(run))
        run["metrics"].append(result)
    data = measurement.to_dict()
    data.setdefault("startedAt", iso(now))
    phase = measurement.phase
    if phase in COMPLETED:
        data.setdefault("finishedAt", iso(now))
        if not counting:
            pass  # closing a measurement of an already decided run: history only
        elif phase == ERROR:
            result["error"] += 1
            result["consecutiveError"] += 1
        else:
            result[{SUCCESSFUL: "successful", FAILED: "failed", INCONCLUSIVE: "inconclusive"}[phase]] += 1
            result["count"] += 1
            result["consecutiveError"] = 0
    else:
        data.pop("finishedAt", None)
    measurements = result["measurements"]
    pending = measurements and not measurements[-1].get("finishedAt")
    if measurement.replaces_pending and pending:
        measurements[-1] = data
    else:
        measurements.append(data)
        result["measurementsTaken"] = int(result.get("measurementsTaken", 0)) + 1
    # Argo keeps the last 10 measurements per metric (measurementRetention: its limit); counts keep
    # the whole history (analysis/metric_rules.py).
    metric_rules.keep(measurements, ((run.get("spec") or {}).get("measurementRetention") or {}).get(name) or MEASUREMENT_HISTORY_LIMIT)
    job = (data.get("metadata") or {}).get("job-name")
    if job:
        _record_job(run, job, name, phase, data)


def _record_job(run: dict, job: str, metric: str, phase: str, data: dict) -> None:
    status = phase if phase in COMPLETED else RUNNING
    for entry in run["jobs"]:
        if entry["name"] == job:
            entry["status"] = status
            return
    run["jobs"].append({"name": job, "metric": metric, "status": status, "createdAt": data.get("startedAt")})
    del run["jobs"][:-MEASUREMENT_HISTORY_LIMIT]


def _failure_inconclusive_or_error(metric: dict, result: dict) -> tuple[str, str]:
    phase, message = "", ""
    if result["failed"] > failure_limit(metric):
        phase, message = FAILED, f"failed ({result['failed']}) > failureLimit ({failure_limit(metric)})"
    if result["inconclusive"] > inconclusive_limit(metric):
        phase, message = INCONCLUSIVE, f"inconclusive ({result['inconclusive']}) > inconclusiveLimit ({inconclusive_limit(metric)})"
    limit = consecutive_error_limit(metric)
    if result["consecutiveError"] > limit:
        phase, message = ERROR, f"consecutiveErrors ({result['consecutiveError']}) > consecutiveErrorLimit ({limit})"
    return phase, message


def _assess_metric(metric: dict, result: dict, terminating: bool) -> str:
    if result.get("phase") in COMPLETED:
        return result["phase"]
    last = _last(result)
    if last is None:
        return SUCCESSFUL if terminating else PENDING
    if last.get("phase") not in COMPLETED:
        return RUNNING
    phase, _ = _failure_inconclusive_or_error(metric, result)
    if phase:
        return phase
    count = effective_count(metric)
    if count is not None and result["count"] >= count:
        return SUCCESSFUL
    return SUCCESSFUL if terminating else RUNNING


def _worse(current: str, new: str) -> bool:
    return _ORDER.index(new) > _ORDER.index(current)


def _assess_run(run: dict, now: datetime) -> None:
    terminating = is_terminating(run)
    dry = _dry_run(run)
    worst, message = "", "Run Terminated" if run.get("terminate") else ""
    everything_completed = True
    for metric in _metric_specs(run):
        name = str(metric.get("name"))
        result = _result(run, name)
        if result is None:
            if terminating:
                continue  # never measured and told to stop: counts as Successful
            everything_completed = False
            continue
        status = _assess_metric(metric, result, terminating)
        if status != result.get("phase"):
            last = _last(result)
            if last is not None:
                result["message"] = last.get("message", "")
            result["phase"] = status
        if status not in COMPLETED:
            everything_completed = False
            continue
        _, reason = _failure_inconclusive_or_error(metric, result)
        if name in dry:
            worst = worst or SUCCESSFUL
            if reason:
                result["message"] = f"Metric assessed {status} due to {reason}"
            continue
        if not worst or _worse(worst, status):
            worst = status
            if reason:
                message = f'Metric "{name}" assessed {status} due to {reason}'
                if result.get("message"):
                    message += f': "Error Message: {result["message"]}"'
    if not terminating and is_terminating(run):
        # A metric just failed: Argo decides the run on its next (immediate) reconcile; a batch
        # job has no immediate next time, so assess again now.
        _assess_run(run, now)
        return
    if terminating:
        # Decided at once, as in Argo; in-flight measurements (a running Job) are terminated by
        # the next invocations (due_measurements keeps asking for that on a finished run).
        phase = worst or SUCCESSFUL
    elif not everything_completed or not worst:
        phase, message = RUNNING, ""
    else:
        phase = worst
    run["status"] = phase
    run["message"] = message.strip() if phase in COMPLETED else ""
    if phase in COMPLETED:
        run["finishedAt"] = iso(now)


def apply_measurements(run: dict, measurements: Iterable[Measurement], now: datetime) -> dict:
    """A new run with the measurements recorded and the run's phase decided. Pure."""
    measurements = list(measurements)
    if is_completed(run):
        # only close measurements that were still in flight when the run was decided
        closing = [m for m in measurements if m.replaces_pending]
        if not closing:
            return run
        out = copy.deepcopy(run)
        for measurement in closing:
            _record(out, measurement, now, counting=False)
        return out
    out = copy.deepcopy(run)
    out.setdefault("metrics", [])
    out.setdefault("jobs", [])
    for measurement in measurements:
        _record(out, measurement, now)
    _assess_run(out, now)
    return out


def apply_all(runs: dict[str, dict], measured: dict[str, list], now: datetime) -> dict[str, dict]:
    """The planner's call: every run advanced with its measurements (records from
    `measure.measure_runs`, or Measurement objects). Runs without measurements are still
    assessed, so a run waiting on `initialDelay` leaves Pending for Running."""
    out = {}
    for name, state in runs.items():
        records = measured.get(name) or []
        measurements = [m if isinstance(m, Measurement) else Measurement.from_record(m) for m in records]
        out[name] = apply_measurements(state, measurements, now)
    return out


def terminate(run: dict, now: datetime) -> dict:
    """Ask the run to stop (rollout aborted, promoted past it, or superseded). In-flight
    measurements are terminated by the next invocation; the run ends Successful unless a metric
    already decided otherwise, as in Argo."""
    if is_completed(run):
        return run
    out = copy.deepcopy(run)
    out["terminate"] = True
    out.setdefault("metrics", [])
    out.setdefault("jobs", [])
    _assess_run(out, now)
    return out


def run_view(run: dict) -> dict:
    """The run as the rollout view's `analysisRuns[]` entry (no measurement history)."""
    keys = ("name", "namespace", "revision", "status", "message", "createdAt", "startedAt", "finishedAt", "labels", "annotations")
    view: dict[str, Any] = {k: run.get(k) for k in keys if k in run}
    view["metrics"] = [
        {k: r.get(k) for k in ("name", "phase", "message", "dryRun", "count", "successful", "failed", "inconclusive", "error")}
        for r in run.get("metrics") or []
    ]
    view["jobs"] = [dict(j) for j in run.get("jobs") or []]
    return view


__all__ = [
    "PENDING", "RUNNING", "SUCCESSFUL", "FAILED", "INCONCLUSIVE", "ERROR", "COMPLETED",
    "MeasurementRequest", "Measurement", "start_run", "due_measurements", "apply_measurements",
    "terminate", "apply_all", "next_due_at", "is_completed", "is_terminating", "run_view", "effective_count",
    "validate_metrics", "SpecError",
]
