"""What the step engine needs from analysis, in three calls. Pure.

    run = start_analysis_run(rollout, analysis, kind="step", revision=2, latest_hash=..., stable_hash=...,
                             lookup=ctx.find, now=now, step_index=2)
    ... each invocation: measure.measure_runs -> run.apply_all ...
    decision(run)  -> "wait" | "continue" | "abort" | "pause"
    abort_message(run, revision) -> "RolloutAborted: Rollout aborted update to revision 2: Metric ..."

`kind` is "step" (a canary `analysis` step), "background" (`strategy.canary.analysis`), "pre" /
"post" (blue-green pre/post promotion). A template that cannot be resolved (missing template or
arg) gives a run that is already in Error with the reason, so the engine treats it like any
failed analysis (abort, Degraded) and `get rollout` shows why.
"""

from __future__ import annotations

from datetime import datetime

from reconciler.analysis.measurement import ERROR, FAILED, INCONCLUSIVE, SUCCESSFUL
from reconciler.analysis.run import start_run
from reconciler.analysis.templates import AnalysisResolveError, Lookup, resolve_analysis, run_name
from reconciler.timestamps import iso

WAIT, CONTINUE, ABORT, PAUSE = "wait", "continue", "abort", "pause"
KIND_LABELS = {"step": "Step", "background": "Background", "pre": "PrePromotion", "post": "PostPromotion"}


def start_analysis_run(
    rollout: dict,
    analysis: dict,
    *,
    kind: str,
    revision: int,
    latest_hash: str,
    stable_hash: str,
    lookup: Lookup,
    now: datetime,
    step_index: int | None = None,
    attempt: int = 0,
) -> dict:
    metadata = rollout.get("metadata") or {}
    namespace = metadata.get("namespace") or "default"
    name = run_name(metadata.get("name", ""), latest_hash, revision, kind=kind, step_index=step_index, attempt=attempt)
    labels = {"rollout-type": KIND_LABELS.get(kind, kind), "rollouts-pod-template-hash": latest_hash}
    if step_index is not None:
        labels["step-index"] = str(step_index)
    try:
        resolved = resolve_analysis(analysis, rollout=rollout, lookup=lookup, stable_hash=stable_hash, latest_hash=latest_hash)
    except AnalysisResolveError as err:
        run = start_run(name, {"namespace": namespace, "name": metadata.get("name", "")}, revision, [], now, labels=labels)
        run.update(status=ERROR, message=f"Unable to resolve metric arguments: {err.message}", finishedAt=iso(now))
        return run
    labels, annotations = run_metadata(rollout, analysis, labels)
    return start_run(
        name, {"namespace": namespace, "name": metadata.get("name", "")}, revision, resolved.metrics, now,
        dry_run_metrics=resolved.dry_run, secret_args=resolved.secret_args, labels=labels, annotations=annotations,
        measurement_retention=resolved.measurement_retention,
    )


def run_metadata(rollout: dict, analysis: dict, labels: dict) -> tuple[dict, dict]:
    """analysisRunMetadata (Argo rollout/analysis.go newAnalysisRunFromRollout): the run's labels
    are the engine's, then the analysis reference's analysisRunMetadata.labels, then the Rollout
    selector's matchLabels (those win); its annotations are analysisRunMetadata.annotations."""
    extra = analysis.get("analysisRunMetadata") if isinstance(analysis.get("analysisRunMetadata"), dict) else {}
    out = dict(labels)
    out.update({str(k): str(v) for k, v in (extra.get("labels") or {}).items()})
    selector = ((rollout.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    out.update({str(k): str(v) for k, v in selector.items()})
    return out, {str(k): str(v) for k, v in (extra.get("annotations") or {}).items()}


def decision(run: dict) -> str:
    """Successful -> continue; Failed or Error -> abort; Inconclusive -> pause (promote or abort
    by hand); anything else -> wait for a later invocation."""
    status = run.get("status")
    if status == SUCCESSFUL:
        return CONTINUE
    if status in (FAILED, ERROR):
        return ABORT
    if status == INCONCLUSIVE:
        return PAUSE
    return WAIT


def abort_message(run: dict, revision: int) -> str:
    """The rollout's message after an analysis aborted it, in seed 002's words."""
    reason = run.get("message") or f"AnalysisRun {run.get('name')} completed {run.get('status')}"
    return f"RolloutAborted: Rollout aborted update to revision {revision}: {reason}"
