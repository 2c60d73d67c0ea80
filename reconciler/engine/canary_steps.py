"""The canary's steps: what a step holds (its parts), the setCanaryScale in force at a
step, and one handler per step kind (`STEP_HANDLERS`): `enter` runs when the step becomes
current, `complete` says whether it is observed done. The step machine is canary.py."""

from __future__ import annotations

from reconciler.engine import analysis, experiment_step
from reconciler.engine.context import Context, iso, seconds
from reconciler.engine.replica_targets import max_traffic_weight
from reconciler.engine.traffic import routing


def canary_spec(ctx: Context) -> dict:
    return ((ctx.spec.get("strategy") or {}).get("canary")) or {}


def steps_of(ctx: Context) -> list[dict]:
    return list(canary_spec(ctx).get("steps") or [])


# A step holds at most one of setWeight / pause / experiment / analysis (Argo's hasMultipleStepsType);
# setCanaryScale, setHeaderRoute, setMirrorRoute and plugin may go with one of them in the same step.
# A step is done once every part of it is. The order is the order its parts are entered in.
STEP_PARTS = ("setCanaryScale", "setWeight", "setHeaderRoute", "setMirrorRoute", "plugin", "experiment", "analysis", "pause")


def step_parts(step: dict) -> list[str]:
    """The actions a step holds, in the order they are entered; a step with none keeps its first key."""
    parts = [key for key in STEP_PARTS if isinstance(step, dict) and step.get(key) is not None]
    if parts:
        return parts
    return [str(key) for key in step][:1] if isinstance(step, dict) else []


def step_kind(step: dict) -> str:
    """The step's name in notes and events: `pause`, or `setCanaryScale+setHeaderRoute+pause`."""
    return "+".join(step_parts(step)) or "unknown"


def canary_scale_at(steps: list[dict], index: int) -> dict | None:
    """The setCanaryScale in force at step `index` (traffic-routed canaries only), or None."""
    scale = None
    for step in steps[: min(index + 1, len(steps))]:
        if "setCanaryScale" in step:
            value = step["setCanaryScale"] or {}
            scale = None if value.get("matchTrafficWeight") else value
    return scale


class SetWeightStep:
    def enter(self, ctx: Context, step: dict) -> None:
        top = max_traffic_weight((ctx.spec.get("strategy") or {}).get("canary") or {})
        ctx.note(f"set canary weight to {step.get('setWeight')}" + ("%" if top == 100 else f" of {top} (maxTrafficWeight)"))

    def complete(self, ctx: Context, step: dict, targets_reached: bool) -> bool:
        return targets_reached


class PauseStep:
    def enter(self, ctx: Context, step: dict) -> None:
        ctx.state.pause_started_at = iso(ctx.now)
        ctx.state.pause_reason = "CanaryPauseStep"
        duration = seconds((step.get("pause") or {}).get("duration"))
        ctx.event("RolloutPaused", "Rollout is paused (CanaryPauseStep)")
        ctx.note(f"pause for {int(duration)}s" if duration is not None else "pause until `reconciler promote`")

    def complete(self, ctx: Context, step: dict, targets_reached: bool) -> bool:
        duration = seconds((step.get("pause") or {}).get("duration"))
        if duration is None or not targets_reached:
            return False
        return ctx.after_seconds(ctx.state.pause_started_at, duration)


class ExperimentStep:
    """`experiment`: engine/experiment_step.py starts the experiment when the step is entered and
    reconciles it once per run before the steps move (`canary_analysis`); done when Successful."""

    def enter(self, ctx: Context, step: dict) -> None:
        experiment_step.enter(ctx, step, ctx.state.step_index)

    def complete(self, ctx: Context, step: dict, targets_reached: bool) -> bool:
        return experiment_step.complete(ctx, ctx.state.step_index)


class NotSupportedStep:
    """Any step kind the engine does not implement: an explicit pause, never a pass."""

    def __init__(self, kind: str):
        self.kind = kind

    def enter(self, ctx: Context, step: dict) -> None:
        ctx.state.pause_started_at = iso(ctx.now)
        ctx.state.pause_reason = f"StepNotSupported: {self.kind} steps are not supported yet; `reconciler promote` to skip it"
        ctx.event("RolloutPaused", ctx.state.pause_reason, "Warning")
        ctx.note(f"{self.kind} step: not supported yet, paused until promoted")

    def complete(self, ctx: Context, step: dict, targets_reached: bool) -> bool:
        return False


class AnalysisStep:
    """`analysis`: an AnalysisRun for this step; the step is done when the run is Successful.
    A failed run aborts and an inconclusive one pauses (`canary_analysis`, before the steps)."""

    def enter(self, ctx: Context, step: dict) -> None:
        analysis.ensure_run(ctx, "step", step.get("analysis") or {}, step_index=ctx.state.step_index, fresh=True)

    def complete(self, ctx: Context, step: dict, targets_reached: bool) -> bool:
        run = analysis.ensure_run(ctx, "step", step.get("analysis") or {}, step_index=ctx.state.step_index)
        if analysis.decision(run) == analysis.CONTINUE:
            return True
        if analysis.decision(run) == analysis.WAIT:
            ctx.note(f"waiting for AnalysisRun {run['name']} ({run.get('status')})")
        return False


class RouteStep:
    """setHeaderRoute / setMirrorRoute (Argo's managedRoutes): written through the traffic router
    once the canary has an available pod; done when a later run reads the route back."""

    def enter(self, ctx: Context, step: dict) -> None:
        routing.route_step(ctx, step)

    def complete(self, ctx: Context, step: dict, targets_reached: bool) -> bool:
        return routing.route_step(ctx, step)


STEP_HANDLERS = {
    "setWeight": SetWeightStep(),
    "pause": PauseStep(),
    "setCanaryScale": SetWeightStep(),
    "analysis": AnalysisStep(),
    "experiment": ExperimentStep(),
    "setHeaderRoute": RouteStep(),
    "setMirrorRoute": RouteStep(),
}


class CombinedStep:
    """A step of several parts (e.g. setCanaryScale, setHeaderRoute and pause, as Argo's e2e
    manifests write it): each part is entered, and the step is done once every part is done.
    Each part sees the step reduced to itself, so a route part writes its own route."""

    def __init__(self, parts: list[str]):
        self.parts = parts

    def enter(self, ctx: Context, step: dict) -> None:
        for part in self.parts:
            _part_handler(part).enter(ctx, {part: step[part]})

    def complete(self, ctx: Context, step: dict, targets_reached: bool) -> bool:
        done = [_part_handler(part).complete(ctx, {part: step[part]}, targets_reached) for part in self.parts]
        return all(done)


def _part_handler(kind: str):
    return STEP_HANDLERS.get(kind) or NotSupportedStep(kind)


def handler_for(step: dict):
    parts = step_parts(step)
    if len(parts) > 1:
        return CombinedStep(parts)
    return _part_handler(parts[0] if parts else "unknown")
