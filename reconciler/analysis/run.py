"""The AnalysisRun state machine, pure: no I/O, no clock (`now` is an argument), no randomness.

An analysis run is a plain JSON/YAML-serialisable dict kept in the rollout's state between
invocations (`RolloutState.analysis[name]`). It doubles as the `analysisRuns[]` entry of the
rollout view: `name`, `revision`, `status`, `message`, `createdAt`, `metrics[]` (each with
`phase` and the counts `successful`/`failed`/`inconclusive`/`error`) and `jobs[]`.

One invocation does, for each run that is not finished:

    requests = schedule.due_measurements(run, now)            # pure: what is due now
    measurements = measure.take_measurements(requests, ...)  # I/O: providers
    run = apply_measurements(run, measurements, now)          # pure: record and decide

This module starts runs, records measurements and decides; schedule.py reads a run (what is due,
when next); measurement.py holds the values exchanged with the providers and the phases;
metric_spec.py reads a metric's count, interval and limits.

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
from datetime import datetime
from typing import Any

from reconciler.analysis import metric_rules
from reconciler.analysis.measurement import (
    COMPLETED,
    ERROR,
    FAILED,
    INCONCLUSIVE,
    PENDING,
    RUNNING,
    SUCCESSFUL,
    Measurement,
)
from reconciler.analysis.metric_spec import (
    SpecError,
    consecutive_error_limit,
    effective_count,
    failure_limit,
    inconclusive_limit,
    validate_metrics,
)
from reconciler.analysis.schedule import (
    dry_run_metrics,
    is_completed,
    is_terminating,
    last_measurement,
    metric_result,
    metric_specs,
)
from reconciler.timestamps import iso

# Argo's order when choosing the run's phase from its metrics: later is worse.
_ORDER = [PENDING, RUNNING, SUCCESSFUL, INCONCLUSIVE, ERROR, FAILED]

MEASUREMENT_HISTORY_LIMIT = 10
_UID_NAMESPACE = uuid.UUID("6f1c1f4e-3c1b-4e55-9a57-0b9d3a1f2c11")


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


# -- recording and deciding ---------------------------------------------------------------------------------------


def _new_result(name: str, dry_run: bool) -> dict:
    return {
        "name": name, "phase": RUNNING, "message": "", "dryRun": dry_run,
        "count": 0, "successful": 0, "failed": 0, "inconclusive": 0, "error": 0, "consecutiveError": 0,
        "measurementsTaken": 0, "measurements": [],
    }


def _record(run: dict, measurement: Measurement, now: datetime, *, counting: bool = True) -> None:
    name = measurement.metric
    if not any(m.get("name") == name for m in metric_specs(run)):
        return  # a measurement for a metric the run does not have: ignore it
    result = metric_result(run, name)
    if result is None:
        result = _new_result(name, name in dry_run_metrics(run))
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
    last = last_measurement(result)
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
    dry = dry_run_metrics(run)
    worst, message = "", "Run Terminated" if run.get("terminate") else ""
    everything_completed = True
    for metric in metric_specs(run):
        name = str(metric.get("name"))
        result = metric_result(run, name)
        if result is None:
            if terminating:
                continue  # never measured and told to stop: counts as Successful
            everything_completed = False
            continue
        status = _assess_metric(metric, result, terminating)
        if status != result.get("phase"):
            last = last_measurement(result)
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


__all__ = ["start_run", "run_uid", "apply_measurements", "apply_all", "terminate", "run_view"]
