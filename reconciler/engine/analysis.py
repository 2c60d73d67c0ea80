"""Analysis in the step engine: which AnalysisRuns a rollout needs now, and what their outcomes do.

Pure. The runs live in `RolloutState.analysis` (name -> run, see reconciler.analysis.run). Each
invocation: `advance` records what observe measured; the strategy asks for the runs it needs
(`ensure_run`) and reads their `decision`; `finish` terminates the runs nobody asked for (the
rollout was aborted, promoted past them, or a new revision superseded them) and trims history.

A run started in this invocation is first measured by the next one (observe runs before plan),
so an analysis costs at least one reconciler period before its first measurement.
"""

from __future__ import annotations

from reconciler.analysis import lifecycle
from reconciler.analysis.lifecycle import ABORT, CONTINUE, PAUSE, WAIT  # noqa: F401  (re-exported for the strategies)
from reconciler.analysis.measurement import COMPLETED, FAILED, SUCCESSFUL
from reconciler.analysis.run import apply_all, apply_measurements, terminate
from reconciler.analysis.schedule import is_completed
from reconciler.analysis.templates import run_name
from reconciler.engine.context import Context, iso

INCONCLUSIVE_PAUSE = "InconclusiveAnalysisRun"
# Argo's defaults for analysis run history (spec.analysis.successfulRunHistoryLimit / unsuccessful...).
SUCCESSFUL_HISTORY = 5
UNSUCCESSFUL_HISTORY = 5


def advance(ctx: Context) -> None:
    """Apply this invocation's measurements to the runs and report their status changes."""
    before = {name: run.get("status") for name, run in ctx.state.analysis.items()}
    ctx.state.analysis = apply_all(ctx.state.analysis, ctx.live.measurements, ctx.now)
    for name, run in ctx.state.analysis.items():
        if run.get("status") != before.get(name):
            _status_event(ctx, run, before.get(name) or "")


def _status_event(ctx: Context, run: dict, previous: str) -> None:
    kind = (run.get("labels") or {}).get("rollout-type", "")
    status = run.get("status") or ""
    ctx.event(
        "AnalysisRunStatusChange",
        f"{kind} Analysis Run '{run.get('name')}' Status New: '{status}' Previous: '{previous or 'NoPreviousStatus'}'",
        "Warning" if status in (FAILED, "Error") else "Normal",
    )


def _attempt(name: str, base: str) -> int | None:
    if name == base:
        return 0
    prefix, _, number = name.rpartition(".")
    return int(number) if prefix == base and number.isdigit() else None


def latest_run(ctx: Context, kind: str, step_index: int | None = None) -> dict | None:
    """The newest attempt of the run of this kind (and step) for the current revision."""
    base = run_name(ctx.name, ctx.state.current_hash, ctx.state.revision, kind=kind, step_index=step_index)
    found = [(a, run) for name, run in ctx.state.analysis.items() if (a := _attempt(name, base)) is not None]
    return max(found, key=lambda pair: pair[0])[1] if found else None


def ensure_run(ctx: Context, kind: str, analysis: dict, *, step_index: int | None = None, fresh: bool = False) -> dict:
    """The run this rollout needs now; started (Pending, measured from the next invocation) when
    there is none, or when `fresh` asks for a new attempt after a completed one (a retry)."""
    run = latest_run(ctx, kind, step_index)
    if run is None or (is_completed(run) and (fresh or run.get("superseded"))):
        base = run_name(ctx.name, ctx.state.current_hash, ctx.state.revision, kind=kind, step_index=step_index)
        attempt = 0 if run is None else _attempt(run["name"], base) + 1
        run = lifecycle.start_analysis_run(
            ctx.desired.rollout,
            analysis,
            kind=kind,
            revision=ctx.state.revision,
            latest_hash=ctx.state.current_hash,
            stable_hash=ctx.state.stable_hash,
            lookup=ctx.find_template,
            now=ctx.now,
            step_index=step_index,
            attempt=attempt,
        )
        if not is_completed(run):
            run = apply_measurements(run, [], ctx.now)  # Running from the start, as Argo shows it
        ctx.state.analysis[run["name"]] = run
        _status_event(ctx, run, "")
        ctx.note(f"start AnalysisRun {run['name']}" + (f" ({run['message']})" if run.get("message") else ""))
    ctx.wanted_runs.add(run["name"])
    return run


def supersede_runs(ctx: Context) -> None:
    """A retry: the current revision's unsuccessful runs stay in the history, and the analyses
    that produced them start a new attempt when they are next needed (Argo's `.1`, `.2`)."""
    for name, run in ctx.state.analysis.items():
        if run.get("revision") == ctx.state.revision and is_completed(run) and run.get("status") != SUCCESSFUL:
            ctx.state.analysis[name] = {**run, "superseded": True}


def decision(run: dict) -> str:
    return lifecycle.decision(run)


def abort_message(ctx: Context, run: dict) -> str:
    """The aborted message without the `RolloutAborted: ` the view adds (seed 002's words)."""
    return lifecycle.abort_message(run, ctx.state.revision).removeprefix("RolloutAborted: ")


def abort_rollout(ctx: Context, message: str) -> None:
    """Back to stable: the strategies' aborted branch does the scaling and the Services."""
    state = ctx.state
    state.aborted = True
    state.aborted_message = message
    state.aborted_at = iso(ctx.now)
    state.step_index = 0
    state.pause_started_at = None
    state.pause_reason = ""
    state.promote = None
    state.promoted_at = None
    ctx.degraded_now = True
    ctx.event("RolloutAborted", message, "Warning")


def pause_inconclusive(ctx: Context, run: dict) -> None:
    state = ctx.state
    if state.pause_reason != INCONCLUSIVE_PAUSE:
        state.pause_started_at = iso(ctx.now)
        state.pause_reason = INCONCLUSIVE_PAUSE
        ctx.event("RolloutPaused", f"Rollout is paused ({INCONCLUSIVE_PAUSE}: {run.get('name')})")
    ctx.note(f"AnalysisRun {run.get('name')} is Inconclusive: `reconciler promote` to go on or `reconciler abort` to roll back")


def finish(ctx: Context) -> None:
    """Terminate the runs no strategy asked for this invocation (all of them once the update
    completed or was aborted in it); keep Argo's history limits."""
    if ctx.state.aborted or ctx.state.current_hash == ctx.state.stable_hash:
        ctx.wanted_runs.clear()
    for name, run in list(ctx.state.analysis.items()):
        if name in ctx.wanted_runs or is_completed(run):
            continue
        if not run.get("terminate"):
            ctx.note(f"terminate AnalysisRun {name}")
        ended = terminate(run, ctx.now)
        if ended.get("status") != run.get("status"):
            _status_event(ctx, ended, run.get("status") or "")
        ctx.state.analysis[name] = ended
    completed = sorted(
        (run for run in ctx.state.analysis.values() if run.get("status") in COMPLETED and run["name"] not in ctx.wanted_runs),
        key=lambda run: str(run.get("createdAt") or ""),
        reverse=True,
    )
    successful = [run for run in completed if run.get("status") == SUCCESSFUL]
    unsuccessful = [run for run in completed if run.get("status") != SUCCESSFUL]
    for run in successful[SUCCESSFUL_HISTORY:] + unsuccessful[UNSUCCESSFUL_HISTORY:]:
        if not _in_flight(run):
            ctx.state.analysis.pop(run["name"], None)


def _in_flight(run: dict) -> bool:
    """A completed run may still own a measurement to close (a Job to delete): keep it until then."""
    for result in run.get("metrics") or []:
        measurements = result.get("measurements") or []
        if measurements and not measurements[-1].get("finishedAt"):
            return True
    return False
