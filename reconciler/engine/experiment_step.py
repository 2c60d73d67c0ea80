"""The canary `experiment` step: the rollout side of engine/experiment.py. Pure.

- entering the step starts the experiment `<rollout>-<hash>-<revision>-<step>` (a retry of the
  same revision starts a new attempt `-1`, `-2`, as seed 002 shows) and creates its ReplicaSets
  in the same run;
- every later run reconciles it once, before the steps move (`check`, called where the canary's
  analyses are judged): Failed or Error aborts the rollout as a failed canary analysis does,
  Inconclusive pauses it for a person; the step is complete when the experiment is Successful;
- an experiment that is no longer the current step's (the rollout was aborted, promoted past it,
  fully promoted or re-stepped) is terminated: its ReplicaSets go to 0 and its weights leave the
  route (`settle`, after the strategy), as Argo's reconcileExperiments cancels them.
The experiment records live in `RolloutState.experiments`, keyed by name.
"""

from __future__ import annotations

from reconciler.engine import experiment as ex
from reconciler.engine import experiment_spec
from reconciler.engine.context import Context, iso
from reconciler.engine.state import plain_copy

INCONCLUSIVE_PAUSE = "InconclusiveExperiment"
# Completed experiment records kept per rollout (Argo keeps 5 successful / 5 unsuccessful runs).
HISTORY = 10


class RolloutHost(ex.Host):
    """engine/experiment.py's Host over a rollout's planning Context."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.namespace = ctx.namespace
        self.now = ctx.now
        if ctx.experiment_objects is None:
            live = ctx.live.extra
            ctx.experiment_objects = {
                "ReplicaSet": {rs["metadata"]["name"]: plain_copy(rs) for rs in live.get("experimentReplicaSets") or []},
                "Service": {svc["metadata"]["name"]: plain_copy(svc) for svc in live.get("experimentServices") or []},
            }
        self.objects = ctx.experiment_objects

    def replicaset(self, name: str) -> dict | None:
        return self.objects["ReplicaSet"].get(name)

    def service(self, name: str) -> dict | None:
        return self.objects["Service"].get(name)

    def write(self, verb: str, before: dict | None, after: dict | None, reason: str) -> None:
        self.ctx._record(verb, before, after, reason)
        obj = after or before or {}
        kind, name = obj.get("kind", ""), (obj.get("metadata") or {}).get("name", "")
        if verb == "delete":
            self.objects[kind].pop(name, None)
            return
        predicted = plain_copy(after)
        if kind == "ReplicaSet":
            replicas = int(predicted["spec"]["replicas"])
            status = dict((before or {}).get("status") or {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0})
            for key in ("readyReplicas", "availableReplicas"):
                status[key] = min(int(status.get(key) or 0), replicas)
            status["replicas"] = replicas
            predicted["status"] = status
            predicted["metadata"].setdefault("creationTimestamp", ((before or {}).get("metadata") or {}).get("creationTimestamp") or iso(self.now))
        self.objects[kind][name] = predicted

    def event(self, reason: str, message: str, type: str = "Normal") -> None:
        self.ctx.event(reason, message, type)

    def note(self, text: str) -> None:
        self.ctx.note(text)

    def run(self, name: str) -> dict | None:
        return self.ctx.state.analysis.get(name)

    def start_run(self, name: str, analysis: dict, args: list[dict]) -> dict:
        return start_analysis(self.ctx, name, analysis, args, kind="Experiment")

    def want_run(self, name: str) -> None:
        self.ctx.wanted_runs.add(name)


def start_analysis(ctx: Context, name: str, analysis: dict, args: list[dict], *, kind: str) -> dict:
    """An experiment's AnalysisRun `<experiment>-<analysis>` (experiments/experiment.go
    newAnalysisRun), measured from the next run on like every run; a template or arg that cannot
    be resolved gives a run already in Error with the reason (the experiment then errors)."""
    from reconciler.analysis.measurement import ERROR
    from reconciler.analysis.run import apply_measurements, start_run
    from reconciler.analysis.schedule import is_completed
    from reconciler.analysis.templates import AnalysisResolveError, resolve_analysis
    from reconciler.engine.analysis import _status_event

    ref = {"templates": [{"templateName": analysis.get("templateName"), "clusterScope": bool(analysis.get("clusterScope"))}], "args": args}
    owner = {"namespace": ctx.namespace, "name": ctx.name}
    labels = {"rollout-type": kind, "experiment": name.rsplit("-", 1)[0] if "-" in name else name}
    try:
        resolved = resolve_analysis(ref, rollout=ctx.desired.rollout, lookup=ctx.find_template,
                                    stable_hash=ctx.state.stable_hash, latest_hash=ctx.state.current_hash)
    except AnalysisResolveError as err:
        run = start_run(name, owner, ctx.state.revision, [], ctx.now, labels=labels)
        run.update(status=ERROR, message=f"Unable to resolve metric arguments: {err.message}", finishedAt=iso(ctx.now))
    else:
        run = start_run(name, owner, ctx.state.revision, resolved.metrics, ctx.now, dry_run_metrics=resolved.dry_run,
                        secret_args=resolved.secret_args, labels=labels)
        if not is_completed(run):
            run = apply_measurements(run, [], ctx.now)
    ctx.state.analysis[name] = run
    _status_event(ctx, run, "")
    ctx.note(f"start AnalysisRun {name}" + (f" ({run['message']})" if run.get("message") else ""))
    return run


# -- which experiment is the step's ---------------------------------------------------------------


def _records(ctx: Context) -> dict:
    return ctx.state.experiments


def current_record(ctx: Context, index: int) -> dict | None:
    """The newest attempt of this revision's experiment at step `index`."""
    mine = [r for r in _records(ctx).values()
            if r.get("owner") == ctx.name and r.get("revision") == ctx.state.revision and r.get("stepIndex") == index
            and r.get("hash") == ctx.state.current_hash]
    return max(mine, key=lambda r: (int(r.get("attempt") or 0))) if mine else None


def _step_spec(ctx: Context, step: dict, name: str) -> dict:
    stable_rs = ctx.rs(ctx.state.stable_hash)
    canary_rs = ctx.rs(ctx.state.current_hash)
    stable_template = ((stable_rs or {}).get("spec") or {}).get("template") or ctx.template
    canary_template = ((canary_rs or {}).get("spec") or {}).get("template") or ctx.template
    deadline = ctx.spec.get("progressDeadlineSeconds")
    return experiment_spec.spec_from_step(step, name=name, stable_template=stable_template, canary_template=canary_template,
                             selector=ctx.spec.get("selector") or {}, progress_deadline=None if deadline is None else int(deadline),
                             min_ready_seconds=ctx.spec.get("minReadySeconds"))


def _reconcile(ctx: Context, step: dict, record: dict, *, terminate: bool = False) -> dict:
    spec = _step_spec(ctx, step, record["name"])
    updated = ex.reconcile(RolloutHost(ctx), spec, record, owner=ctx.name, terminate=terminate)
    _records(ctx)[updated["name"]] = updated
    ctx.experiments_reconciled.add(updated["name"])
    return updated


def enter(ctx: Context, step: dict, index: int) -> dict:
    """The step becomes current: a new experiment (or a new attempt after a retry), created now."""
    latest = current_record(ctx, index)
    if latest is not None and not ex.is_completed(latest) and not latest.get("terminated"):
        return latest if latest["name"] in ctx.experiments_reconciled else _reconcile(ctx, step, latest)
    attempt = 0 if latest is None else int(latest.get("attempt") or 0) + 1
    name = experiment_spec.step_name(ctx.name, ctx.state.current_hash, ctx.state.revision, index, attempt)
    if ctx.rs(ctx.state.stable_hash) is None:
        ctx.note(f"experiment {name}: waits for the stable ReplicaSet (as Argo)")
    spec = _step_spec(ctx, step, name)
    record = ex.new_record(spec, ctx.now, owner=ctx.name, revision=ctx.state.revision, step_index=index)
    record.update(attempt=attempt, hash=ctx.state.current_hash)
    ctx.event("ExperimentCreated", f"Created Experiment '{name}'")
    ctx.note(f"start experiment {name}: " + ", ".join(f"{t['name']} ({t.get('specRef')}, {t['replicas']} pod{'s' if t['replicas'] != 1 else ''})"
                                                       for t in spec["templates"]))
    return _reconcile(ctx, step, record)


def check(ctx: Context, steps: list[dict], index: int) -> str | None:
    """Reconcile the current step's experiment once this run, before the steps move. Returns its
    phase; Failed / Error abort the rollout, Inconclusive pauses it (rollout/experiment.go)."""
    from reconciler.engine import analysis

    if index >= len(steps) or "experiment" not in steps[index] or ctx.restart_steps:
        return None
    step = steps[index]
    record = current_record(ctx, index)
    if record is None:
        record = enter(ctx, step, index)  # a rebuilt state (or one that never entered it): start it now
    elif record["name"] not in ctx.experiments_reconciled:
        record = _reconcile(ctx, step, record)
    phase = record.get("phase")
    if phase in (ex.FAILED, ex.ERROR):
        message = record.get("message") or f"Experiment '{record['name']}' {phase}"
        analysis.abort_rollout(ctx, f"Rollout aborted update to revision {ctx.state.revision}: {message}")
        ctx.note(f"experiment {record['name']} {phase}: abort, back to stable")
    elif phase == ex.INCONCLUSIVE and ctx.state.pause_reason != INCONCLUSIVE_PAUSE:
        ctx.state.pause_started_at = iso(ctx.now)
        ctx.state.pause_reason = INCONCLUSIVE_PAUSE
        ctx.event("RolloutPaused", f"Rollout is paused ({INCONCLUSIVE_PAUSE}: {record['name']})")
        ctx.note(f"experiment {record['name']} is Inconclusive: `reconciler promote` to go on or `reconciler abort` to roll back")
    elif phase == ex.RUNNING and record.get("duration"):
        ctx.note(f"experiment {record['name']} running (duration {record['duration']} from {record.get('availableAt')})")
    elif phase == ex.PENDING:
        ctx.note(f"experiment {record['name']}: waiting for its pods")
    return phase


def complete(ctx: Context, index: int) -> bool:
    record = current_record(ctx, index)
    return record is not None and record.get("phase") == ex.SUCCESSFUL


def settle(ctx: Context) -> None:
    """Every experiment of this rollout that is not the current step's running one is terminated:
    its ReplicaSets go to 0 (and its Services, once they have no pod), its runs end."""
    steps = list(((ctx.spec.get("strategy") or {}).get("canary") or {}).get("steps") or [])
    index = ctx.state.step_index
    current = None
    if not ctx.state.aborted and ctx.state.current_hash != ctx.state.stable_hash and index < len(steps) and "experiment" in steps[index]:
        current = current_record(ctx, index)
    for name, record in sorted(_records(ctx).items()):
        if record.get("owner") != ctx.name or (current is not None and name == current["name"]):
            continue
        if name in ctx.experiments_reconciled and ex.is_completed(record):
            continue
        if not _has_objects(ctx, record) and ex.is_completed(record):
            continue
        step = _step_for(ctx, record, steps)
        if step is None:
            _scale_down_leftovers(ctx, record)
            continue
        _reconcile(ctx, step, record, terminate=True)
    _scale_down_orphans(ctx)
    _trim(ctx)


def _scale_down_orphans(ctx: Context) -> None:
    """Experiment ReplicaSets of this rollout that no record names (a lost state rebuilt from the
    cluster): nothing will end them otherwise, so they go to 0."""
    known = {status.get("replicaSet") for record in _records(ctx).values() for status in record.get("templates") or []}
    host = RolloutHost(ctx)
    for name, rs in sorted(host.objects["ReplicaSet"].items()):
        labels = (rs.get("metadata") or {}).get("labels") or {}
        if labels.get(experiment_spec.OWNER_LABEL) == ctx.name and name not in known and int((rs.get("spec") or {}).get("replicas") or 0) > 0:
            after = plain_copy(rs)
            after["spec"]["replicas"] = 0
            host.write("replace", rs, after, f"experiment ReplicaSet {name} belongs to no recorded experiment: scale down")
            ctx.note(f"scale down {name}: no recorded experiment owns it")


def _has_objects(ctx: Context, record: dict) -> bool:
    host = RolloutHost(ctx)
    for status in record.get("templates") or []:
        rs = host.replicaset(status.get("replicaSet") or "")
        if rs is not None and int((rs.get("spec") or {}).get("replicas") or 0) > 0:
            return True
        if status.get("serviceName") and host.service(status["serviceName"]) is not None:
            return True
    return False


def _step_for(ctx: Context, record: dict, steps: list[dict]) -> dict | None:
    """The step an old record was made from, when the same experiment is still there (its pod
    templates come from the ReplicaSets it already has, so a changed step cannot change them)."""
    index = record.get("stepIndex")
    if isinstance(index, int) and index < len(steps) and "experiment" in steps[index]:
        names = {t.get("name") for t in (steps[index]["experiment"] or {}).get("templates") or []}
        if names == {t.get("name") for t in record.get("templates") or []}:
            return steps[index]
    return None


def _scale_down_leftovers(ctx: Context, record: dict) -> None:
    """An experiment whose step is gone from the manifest: its ReplicaSets still go to 0."""
    host = RolloutHost(ctx)
    for status in record.get("templates") or []:
        rs = host.replicaset(status.get("replicaSet") or "")
        if rs is not None and int((rs.get("spec") or {}).get("replicas") or 0) > 0:
            after = plain_copy(rs)
            after["spec"]["replicas"] = 0
            host.write("replace", rs, after, f"experiment {record['name']} is no longer in the steps: scale down")
    if not ex.is_completed(record):
        record = {**record, "phase": ex.SUCCESSFUL, "terminated": True, "finishedAt": iso(ctx.now), "message": "Experiment terminated"}
        _records(ctx)[record["name"]] = record


def _trim(ctx: Context) -> None:
    done = sorted((r for r in _records(ctx).values() if r.get("owner") == ctx.name and ex.is_completed(r) and not _has_objects(ctx, r)),
                  key=lambda r: str(r.get("createdAt") or ""), reverse=True)
    for record in done[HISTORY:]:
        _records(ctx).pop(record["name"], None)


def running(ctx: Context) -> bool:
    """The current step is an experiment that is not completed (its duration is not a stall)."""
    steps = list(((ctx.spec.get("strategy") or {}).get("canary") or {}).get("steps") or [])
    index = ctx.state.step_index
    if index >= len(steps) or "experiment" not in steps[index]:
        return False
    record = current_record(ctx, index)
    return record is not None and not ex.is_completed(record)


def weights(ctx: Context) -> list[dict]:
    """The extra route destinations of the current step's experiment (none when aborted)."""
    steps = list(((ctx.spec.get("strategy") or {}).get("canary") or {}).get("steps") or [])
    index = ctx.state.step_index
    if ctx.state.aborted or index >= len(steps) or "experiment" not in steps[index]:
        return []
    return ex.weight_destinations(current_record(ctx, index))


def replica_sets_of(ctx: Context) -> list[dict]:
    """The experiment ReplicaSets as predicted after this run (for the view)."""
    host = RolloutHost(ctx)
    return list(host.objects["ReplicaSet"].values())


__all__ = ["check", "complete", "enter", "running", "settle", "weights"]
