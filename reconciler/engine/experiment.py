"""Experiments: ephemeral ReplicaSets (one per template) with analyses, carried across runs. Pure.

Two callers, one state machine:
- a canary `experiment` step (canary.py): the templates take the stable or canary revision's pod
  template (`specRef`), the experiment is named `<rollout>-<hash>-<revision>-<step>` and its
  ReplicaSets `<experiment>-<template>`, as Argo names them (seed 002);
- a standalone `kind: Experiment` from the source (experiment_plan.py): full pod templates.

Each run `reconcile` reads the experiment's ReplicaSets back, judges every template (Progressing
until its pods are available, Running, Successful once the duration is over or the experiment
ends, Failed past progressDeadlineSeconds), starts the analyses once every template is available
(Argo's `availableAt`), and computes the phase as Argo's experiment controller does
(experiments/experiment.go, calculateStatus):

- a Failed / Error / Inconclusive analysis ends the experiment with that phase at once;
- once the duration has passed (judged by `now`, from `availableAt`) the templates are done:
  the experiment is Successful, or waits for its `requiredForCompletion` analyses and takes their
  result (TestAssessAnalysisRunStatusesAfterTemplateSuccess);
- with no duration it ends when every analysis succeeded and at least one is required
  (TestCompleteExperimentOnSuccessfulRequiredAnalysisRun,
  TestDoNotCompleteExperimentWithRemainingRequiredAnalysisRun); otherwise it runs until it is
  terminated (a rollout abort, or the Experiment removed from the source).
A duration is never cut short: with a duration, required analyses that succeed early wait for it.

Once the experiment is completed (or terminated) its ReplicaSets are scaled to 0 in the same run
(route weights toward them are removed first: traffic_safety orders the writes). Its Services
stay, selecting no pod (Argo deletes them; the reconciler's service account may not delete
Services); a later experiment with the same Service name points it at its own pods. The record
of each experiment lives in the recorded state (`RolloutState.experiments`), so it survives
between runs and crashes like the rest (record before apply).

The spec and the objects it makes are in experiment_spec.py, the view in experiment_summary.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.engine.context import (
    iso,
    parse_iso,
    rs_available,
    rs_spec_replicas,
    seconds,
)
from reconciler.engine.experiment_spec import (
    replicaset_for,
    service_for,
)
from reconciler.engine.state import plain_copy

PENDING, RUNNING, SUCCESSFUL, FAILED, ERROR, INCONCLUSIVE = "Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"
COMPLETED = (SUCCESSFUL, FAILED, ERROR, INCONCLUSIVE)
# Argo's order, best to worst (utils/analysis: analysisStatusOrder).
_ORDER = (SUCCESSFUL, RUNNING, PENDING, INCONCLUSIVE, ERROR, FAILED)
DEFAULT_PROGRESS_DEADLINE = 600
REQUIRED_DONE = "Required AnalysisRuns completed"


def worse(current: str, new: str) -> bool:
    return _ORDER.index(new if new in _ORDER else PENDING) > _ORDER.index(current if current in _ORDER else PENDING)


# -- the state machine ----------------------------------------------------------------------------------


def new_record(spec: dict, now: datetime, *, owner: str = "", revision: int = 0, step_index: int | None = None) -> dict:
    return {
        "name": spec["name"],
        "owner": owner,
        "revision": revision,
        "stepIndex": step_index,
        "phase": PENDING,
        "message": "",
        "createdAt": iso(now),
        "availableAt": None,
        "finishedAt": None,
        "duration": spec.get("duration"),
        "terminated": False,
        "templates": [],
        "analyses": [],
    }


def is_completed(record: dict | None) -> bool:
    return bool(record) and record.get("phase") in COMPLETED


def duration_passed(record: dict, now: datetime) -> bool:
    duration = seconds(record.get("duration"))
    available = parse_iso(record.get("availableAt"))
    return duration is not None and available is not None and now >= available + timedelta(seconds=duration)


class Host:
    """What `reconcile` needs from its caller: the live experiment objects (as predicted after
    this run's writes so far), a place to record writes, events and notes, and analysis runs."""

    namespace: str
    now: datetime

    def replicaset(self, name: str) -> dict | None: ...
    def service(self, name: str) -> dict | None: ...
    def write(self, verb: str, before: dict | None, after: dict | None, reason: str) -> None: ...
    def event(self, reason: str, message: str, type: str = "Normal") -> None: ...
    def note(self, text: str) -> None: ...
    def run(self, name: str) -> dict | None: ...
    def start_run(self, name: str, analysis: dict, args: list[dict]) -> dict: ...
    def want_run(self, name: str) -> None: ...


def template_args(args: list[dict], record: dict) -> list[dict]:
    """`{{templates.<name>.replicaset.name}}` and `{{templates.<name>.podTemplateHash}}` in the
    analyses' arg values (utils/template ResolveExperimentArgsValue); an unknown name stays as
    written, and the analysis resolution then says which arg is wrong."""
    import re

    by_name = {t["name"]: t for t in record.get("templates") or []}

    def replace(match: re.Match) -> str:
        found = by_name.get(match.group(1))
        if found is None:
            return match.group(0)
        return str(found.get("replicaSet") if match.group(2) == "replicaset.name" else found.get("podTemplateHash") or "")

    pattern = re.compile(r"\{\{\s*templates\.([A-Za-z0-9_.-]+?)\.(replicaset\.name|podTemplateHash)\s*\}\}")
    out = []
    for arg in args or []:
        arg = dict(arg)
        if isinstance(arg.get("value"), str):
            arg["value"] = pattern.sub(replace, arg["value"])
        out.append(arg)
    return out


def reconcile(host: Host, spec: dict, record: dict, *, owner: str = "", terminate: bool = False) -> dict:
    """One run of the experiment: writes through `host`, returns the next record."""
    record = plain_copy(record)
    now = host.now
    was = record.get("phase")
    record["duration"] = spec.get("duration")
    if terminate and not is_completed(record):
        record["terminated"] = True
    stopping = bool(record.get("terminated")) or is_completed(record)
    deadline = spec.get("progressDeadlineSeconds")
    deadline = DEFAULT_PROGRESS_DEADLINE if deadline is None else int(deadline)
    previous = {t["name"]: t for t in record.get("templates") or []}
    statuses = []
    for template in spec["templates"]:
        statuses.append(_template(host, spec, template, previous.get(template["name"]) or {}, record, owner=owner,
                                  stopping=stopping, deadline=deadline))
    record["templates"] = statuses
    if not record.get("availableAt") and statuses and all(t["status"] in (RUNNING, SUCCESSFUL) for t in statuses) and not stopping:
        record["availableAt"] = iso(now)
    record["analyses"] = [_analysis(host, analysis, record, stopping) for analysis in spec.get("analyses") or []]
    if not is_completed(record):
        record["phase"], record["message"] = _phase(spec, record, now)
        if record["phase"] not in COMPLETED and record.get("terminated"):
            record["phase"], record["message"] = SUCCESSFUL, record.get("message") or "Experiment terminated"
    if is_completed(record) and not record.get("finishedAt"):
        record["finishedAt"] = iso(now)
        kind = "Warning" if record["phase"] in (FAILED, ERROR, INCONCLUSIVE) else "Normal"
        host.event(f"Experiment{record['phase']}", f"Experiment '{record['name']}' {record['phase']}" + (f": {record['message']}" if record.get("message") else ""), kind)
        # The same run lets the ReplicaSets go (their weights were removed first, traffic_safety.py).
        record["templates"] = [_template(host, spec, template, status, record, owner=owner, stopping=True, deadline=deadline)
                               for template, status in zip(spec["templates"], record["templates"])]
        record["analyses"] = [_analysis(host, analysis, record, True) for analysis in spec.get("analyses") or []]
    elif record["phase"] != was and was is not None:
        host.event(f"Experiment{record['phase']}", f"Experiment '{record['name']}' {record['phase']}")
    if not is_completed(record):
        for entry in record["analyses"]:  # runs nobody wants are terminated (engine/analysis.finish)
            if entry.get("run") and entry.get("phase") not in COMPLETED:
                host.want_run(entry["run"])
    return record


def _template(host: Host, spec: dict, template: dict, status: dict, record: dict, *, owner: str, stopping: bool, deadline: int) -> dict:
    now = host.now
    name = f"{spec['name']}-{template['name']}"
    desired = 0 if stopping or duration_passed(record, now) else int(template["replicas"])
    status = {**status, "name": template["name"], "replicaSet": name}
    if template.get("weight") is not None:
        status["weight"] = int(template["weight"])
    rs = host.replicaset(name)
    if rs is None and not stopping and desired > 0:
        rs = replicaset_for(spec, template, host.namespace, owner, desired)
        host.write("create", None, rs, f"experiment {spec['name']}: template {template['name']}")
        host.event("NewReplicaSetCreated", f"Created ReplicaSet {name} with size {desired}")
        status["lastTransitionAt"] = iso(now)
        rs = host.replicaset(name)
    elif rs is not None and rs_spec_replicas(rs) != desired:
        after = plain_copy(rs)
        after["spec"]["replicas"] = desired
        direction = "up" if desired > rs_spec_replicas(rs) else "down"
        host.write("replace", rs, after, f"experiment {spec['name']}: scale {direction} from {rs_spec_replicas(rs)} to {desired}")
        host.event("ScalingReplicaSet", f"Scaled {direction} ReplicaSet {name} from {rs_spec_replicas(rs)} to {desired}")
        status["lastTransitionAt"] = iso(now)
        rs = host.replicaset(name)
    if rs is not None:
        status["podTemplateHash"] = ((rs.get("metadata") or {}).get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL, "")
    _service(host, spec, template, status, rs, owner, desired)
    available = rs_available(rs)
    previous_available = status.get("available")
    status["replicas"] = rs_spec_replicas(rs)
    status["available"] = available
    if previous_available is not None and previous_available != available:
        status["lastTransitionAt"] = iso(now)
    status.setdefault("lastTransitionAt", iso(now))
    if status.get("status") in COMPLETED:
        return status  # a template never leaves a completed status (as Argo)
    if desired == available and (desired > 0 or stopping or duration_passed(record, now)):
        status["status"] = SUCCESSFUL if (stopping or duration_passed(record, now)) else RUNNING
    elif stopping:
        status["status"] = SUCCESSFUL
    else:
        since = parse_iso(status.get("lastTransitionAt")) or now
        if now > since + timedelta(seconds=deadline):
            status["status"] = FAILED
            status["message"] = f"Template '{template['name']}' exceeded its progressDeadlineSeconds ({deadline})"
        else:
            status["status"] = "Progressing"
    return status


def _service(host: Host, spec: dict, template: dict, status: dict, rs: dict | None, owner: str, desired: int) -> None:
    """The template's Service while it has pods: created, or pointed at this experiment's pods when
    one of that name is there from an earlier experiment. It stays after the experiment (selecting
    no pod; no route names it then): Argo deletes it, the reconciler may not delete Services."""
    if template.get("service") is None or rs is None or desired == 0:
        return
    wanted = service_for(spec, template, rs, host.namespace, owner)
    if wanted is None:
        status["message"] = f"template {template['name']}: no container port, so no Service"
        return
    name = wanted["metadata"]["name"]
    live = host.service(name)
    if live is None:
        host.write("create", None, wanted, f"experiment {spec['name']}: Service for template {template['name']}")
        host.event("ServiceCreated", f"Created Service '{name}' for template '{template['name']}'")
    elif (live.get("spec") or {}).get("selector") != wanted["spec"]["selector"]:
        after = plain_copy(live)
        after.setdefault("spec", {})["selector"] = wanted["spec"]["selector"]
        after["spec"]["ports"] = wanted["spec"]["ports"]
        after.setdefault("metadata", {})["labels"] = {**((live.get("metadata") or {}).get("labels") or {}), **wanted["metadata"]["labels"]}
        host.write("replace", live, after, f"experiment {spec['name']}: Service {name} selects template {template['name']}")
    status["serviceName"] = name


def _analysis(host: Host, analysis: dict, record: dict, stopping: bool) -> dict:
    name = str(analysis.get("name") or analysis.get("templateName") or "")
    entry = next((a for a in record.get("analyses") or [] if a.get("name") == name), None) or {"name": name}
    entry = {**entry, "templateName": analysis.get("templateName"), "required": bool(analysis.get("requiredForCompletion"))}
    if entry.get("phase") in COMPLETED and entry.get("run") is None:
        return entry
    run_name = entry.get("run")
    run = host.run(run_name) if run_name else None
    if run is None:
        if not record.get("availableAt") or stopping:
            entry.setdefault("phase", PENDING)
            return entry
        run = host.start_run(f"{record['name']}-{name}", analysis, template_args(analysis.get("args") or [], record))
        entry["run"] = run["name"]
    entry["phase"] = run.get("status") or PENDING
    entry["message"] = run.get("message") or ""
    return entry


def _phase(spec: dict, record: dict, now: datetime) -> tuple[str, str]:
    """Argo's calculateStatus, with our duration rule (see the module docstring)."""
    worst_template, template_message = SUCCESSFUL, ""
    for status in record["templates"]:
        state = status.get("status") or "Progressing"
        mapped = {"Progressing": PENDING, RUNNING: RUNNING, SUCCESSFUL: SUCCESSFUL, FAILED: FAILED, ERROR: ERROR}.get(state, PENDING)
        if worse(worst_template, mapped):
            worst_template, template_message = mapped, status.get("message") or ""
    if not record["templates"]:
        worst_template = PENDING
    analyses = record["analyses"]
    worst_analysis, analysis_message = SUCCESSFUL, ""
    for entry in analyses:
        if worse(worst_analysis, entry.get("phase") or PENDING):
            worst_analysis, analysis_message = entry.get("phase") or PENDING, entry.get("message") or ""
    required = [a for a in analyses if a.get("required")]
    required_done = bool(required) and all(a.get("phase") == SUCCESSFUL for a in required)
    if worst_analysis in (FAILED, ERROR, INCONCLUSIVE):
        return worst_analysis, analysis_message or f"an analysis of experiment {record['name']} is {worst_analysis}"
    if worst_template in (FAILED, ERROR):
        return worst_template, template_message
    if duration_passed(record, now):
        if not required:
            return SUCCESSFUL, ""
        return (SUCCESSFUL, REQUIRED_DONE) if required_done else (RUNNING, "waiting for the required analyses")
    if seconds(spec.get("duration")) is None and required_done and worst_analysis == SUCCESSFUL:
        return SUCCESSFUL, REQUIRED_DONE
    return (RUNNING, "") if worst_template in (RUNNING, SUCCESSFUL) else (PENDING, "")


# -- traffic ------------------------------------------------------------------------------------------


def weight_destinations(record: dict | None) -> list[dict]:
    """[{"service", "weight", "template"}] for a Running experiment's templates that have a weight
    and a Service (rollout/trafficrouting.go calculateWeightDestinationsFromExperiment: only while
    the experiment is Running, i.e. every template has its pods available)."""
    if not record or record.get("phase") != RUNNING or record.get("terminated"):
        return []
    out = []
    for status in record.get("templates") or []:
        if status.get("weight") is not None and status.get("serviceName"):
            out.append({"service": status["serviceName"], "weight": int(status["weight"]), "template": status["name"]})
    return out
