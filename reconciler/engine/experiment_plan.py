"""plan_experiment(desired, live, state, now) -> Plan: a standalone `kind: Experiment`. Pure.

The same state machine as a canary's experiment step (engine/experiment.py), with the
Experiment's own pod templates. Its record is kept like a rollout's state (the same stores, both
status modes, recorded before it is applied), marked `kind: Experiment` so views and gates tell
it from a rollout's. `spec.terminate: true` in Git, `reconciler abort NAME`, or the Experiment
removed from the source (`desired=None`) end it: its ReplicaSets go to 0 and its runs end.
The Plan's status is the experiment's phase (Pending, Running, Successful, Failed, Error,
Inconclusive); it turning Failed / Error in this run is `degraded_now` (the run exits 1).
"""

from __future__ import annotations

from datetime import datetime

from reconciler.engine import analysis, experiment_spec, experiment_summary
from reconciler.engine import experiment as ex
from reconciler.engine.context import Context
from reconciler.engine.experiment_step import RolloutHost
from reconciler.engine.model import Desired, Live, Plan
from reconciler.engine.state import RolloutState, plain_copy

KIND_KEY = "kind"
KIND = "Experiment"


def is_experiment_state(state: dict | None) -> bool:
    return bool(state) and state.get(KIND_KEY) == KIND


def plan_experiment(desired: Desired | None, live: Live, state: RolloutState, now: datetime, *, name: str = "", namespace: str = "default") -> Plan:
    """`desired` None: the Experiment is gone from the source; what it left running is ended."""
    if desired is None:
        recorded = (state.desired_summary or {}).get("spec") or {}
        desired = Desired({"apiVersion": "argoproj.io/v1alpha1", "kind": KIND, "metadata": {"name": name, "namespace": namespace},
                           "spec": {**recorded, "terminate": True}})
        gone = True
    else:
        gone = False
    ctx = Context(desired=desired, live=live, state=state.copy(), now=now)
    ctx.state.extra[KIND_KEY] = KIND
    spec = experiment_spec.spec_from_manifest(desired.rollout)
    ctx.state.desired_summary = {"name": desired.name, "namespace": desired.namespace, "strategy": KIND,
                                 "spec": plain_copy(desired.spec)}
    analysis.advance(ctx)
    record = ctx.state.experiments.get(spec["name"]) or ex.new_record(spec, now)
    was = record.get("phase")
    terminate = spec.get("terminate") or bool(ctx.state.abort)
    if ctx.state.abort:
        ctx.state.abort = None
        if not ex.is_completed(record):
            ctx.note("abort: the experiment is terminated")
    if gone and not ex.is_completed(record):
        ctx.note("the Experiment is no longer in the source: it is terminated")
    record = ex.reconcile(RolloutHost(ctx), spec, record, terminate=terminate)
    ctx.state.experiments = {record["name"]: record}
    analysis.finish(ctx)
    phase = record["phase"]
    if phase in (ex.FAILED, ex.ERROR) and was != phase:
        ctx.degraded_now = True
    replicasets = list(RolloutHost(ctx).objects["ReplicaSet"].values())
    view = experiment_view(ctx.state, replicasets, namespace=desired.namespace)
    return Plan(
        namespace=desired.namespace,
        name=desired.name,
        strategy=KIND,
        actions=ctx.actions,
        state=ctx.state,
        events=ctx.events,
        status=phase,
        message=record.get("message") or "",
        where=_where(record),
        next="; ".join(ctx.notes) if ctx.notes else ("nothing to do" if not ctx.actions else ""),
        degraded_now=ctx.degraded_now,
        view=view,
    )


def _where(record: dict) -> str:
    phase = record.get("phase")
    if phase == ex.RUNNING and record.get("duration"):
        return f"experiment {phase} (duration {record['duration']} from {record.get('availableAt')})"
    return f"experiment {phase}"


def experiment_view(state: RolloutState, replicasets: list[dict], *, namespace: str, pods: dict | None = None) -> dict:
    """`get experiment NAME -o json`: the recorded experiment, its ReplicaSets as given (read back)."""
    by_name = {(rs.get("metadata") or {}).get("name", ""): rs for rs in replicasets}
    records = list((state.experiments or {}).values())
    if not records:
        summary = state.desired_summary or {}
        return {"name": summary.get("name", ""), "namespace": namespace, "kind": KIND, "strategy": KIND, "status": ex.PENDING, "message": "",
                "templates": [], "analyses": [], "replicaSets": [], "analysisRuns": [], "images": []}
    view = experiment_summary.experiment_view(records[0], by_name, state.analysis, pods)
    view["namespace"] = namespace
    view["kind"] = view["strategy"] = KIND
    view["images"] = sorted({image for t in view["templates"] for image in t["images"]})
    return view
