"""Reading an analysis run (run.py's dict): whether it is finished or terminating, its metrics'
results, and which measurements are due at `now` and when the next one is (pure: `now` is an
argument)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from reconciler.analysis.measurement import COMPLETED, ERROR, FAILED, INCONCLUSIVE, MeasurementRequest
from reconciler.analysis.metric_spec import duration_field, effective_count
from reconciler.timestamps import parse_iso as parse_time

ERROR_RETRY_SECONDS = 10.0



def is_completed(run: dict) -> bool:
    return run.get("status") in COMPLETED


def metric_specs(run: dict) -> list[dict]:
    return list((run.get("spec") or {}).get("metrics") or [])


def metric_result(run: dict, name: str) -> dict | None:
    return next((r for r in run.get("metrics") or [] if r.get("name") == name), None)


def last_measurement(result: dict | None) -> dict | None:
    measurements = (result or {}).get("measurements") or []
    return measurements[-1] if measurements else None


def dry_run_metrics(run: dict) -> set[str]:
    return set((run.get("spec") or {}).get("dryRun") or [])


def is_terminating(run: dict) -> bool:
    """Argo's IsTerminating: asked to stop, or a (non dry-run) metric already decided the run."""
    if run.get("terminate"):
        return True
    dry = dry_run_metrics(run)
    return any(r.get("phase") in (FAILED, ERROR, INCONCLUSIVE) and r.get("name") not in dry for r in run.get("metrics") or [])


def _retry_interval(metric: dict, last: dict) -> float:
    if last.get("phase") == ERROR:
        return ERROR_RETRY_SECONDS
    interval = duration_field(metric, "interval")
    return ERROR_RETRY_SECONDS if interval is None else interval


def due_measurements(run: dict, now: datetime) -> list[MeasurementRequest]:
    """The measurements to take at `now`: at most one per metric. On a finished run, only the
    termination of measurements still in flight (e.g. delete a running Job)."""
    terminating = is_terminating(run) or is_completed(run)
    started = parse_time(run.get("startedAt")) or now
    requests = []
    for metric in metric_specs(run):
        name = str(metric.get("name"))
        result = metric_result(run, name)
        if result is not None and result.get("phase") in COMPLETED:
            continue
        last = last_measurement(result)
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
            delay = duration_field(metric, "initialDelay") or 0.0
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
    for metric in metric_specs(run):
        result = metric_result(run, str(metric.get("name")))
        if result is not None and result.get("phase") in COMPLETED:
            continue
        last = last_measurement(result)
        if last is None:
            when = started + timedelta(seconds=duration_field(metric, "initialDelay") or 0.0)
        elif not last.get("finishedAt"):
            when = parse_time(last.get("resumeAt")) or now
        else:
            count = effective_count(metric)
            if count is not None and int(result.get("count", 0)) >= count:
                continue
            when = (parse_time(last.get("finishedAt")) or started) + timedelta(seconds=_retry_interval(metric, last))
        best = when if best is None or when < best else best
    return best
