"""Stage 7, apply: the writes. Plain manifests from Git first (server-side apply where the backend
has it), later each rollout's recorded Plan: its actions, then its Events. The run's view of a
rollout is what the cluster returned from those writes, never what the plan hoped. `--timeout`
is checked only between writes.

    manifests(cluster, actions, world, keeper, options) -> AppliedManifests
    plans(cluster, plans, rollouts, world, keeper, now, options) -> timed_out ("" when not)
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.engine.model import Action, Desired
from reconciler.errors import ClusterError, Conflict, Refused
from reconciler.findings import Finding, Severity
from reconciler.pipeline.observe import Rollouts, World, owned_by, refused_finding
from reconciler.pipeline.options import RunOptions
from reconciler.pipeline.report import RolloutResult

log = logging.getLogger("reconciler")

# Applied from the source, then planned against in the same run (selectors, routes, a workloadRef's template).
_PLANNED_AGAINST = ("Service", "VirtualService", "DestinationRule", "Deployment")


def apply_action(cluster, action: Action, written: dict | None = None) -> dict | None:
    """Apply one action. `written` maps objects already written this run to their new
    resourceVersion, so a second change to the same object is not mistaken for a conflict."""
    written = {} if written is None else written
    key = (action.kind, action.namespace, action.name)
    stored = None
    if action.verb == "create":
        stored = cluster.create(action.after)
    elif action.verb == "replace":
        after = copy.deepcopy(action.after)
        if key in written:
            after.setdefault("metadata", {})["resourceVersion"] = written[key]
        elif action.before is not None:
            after.setdefault("metadata", {})["resourceVersion"] = (action.before.get("metadata") or {}).get("resourceVersion")
        stored = cluster.replace(after)
    if stored is not None:
        written[key] = (stored.get("metadata") or {}).get("resourceVersion")
        return stored
    if action.verb == "delete":
        cluster.delete(action.kind, action.namespace, action.name, (action.before or {}).get("metadata", {}).get("resourceVersion"))
    return None


def apply_plain(cluster, action: Action) -> dict | None:
    """A manifest from Git: server-side apply where the backend has it (kube: field manager
    `reconciler`), else create/replace (the local cluster)."""
    apply = getattr(cluster, "apply", None)
    return apply(action.after) if apply is not None else apply_action(cluster, action)


@dataclass
class AppliedManifests:
    refused: int = 0  # writes the cluster refused (each is a finding)
    findings: list[Finding] = field(default_factory=list)
    timed_out: str = ""  # where --timeout stopped the run


def manifests(cluster, actions: list[tuple], seen: World, keeper, options: RunOptions) -> AppliedManifests:
    """Write the plain manifests; the world takes what the cluster stored (a dry run: what would be)."""
    done = AppliedManifests()
    if options.dry_run:
        for _, action in actions:
            if action.kind in _PLANNED_AGAINST:
                seen.object_changed(action.kind, action.namespace, action.after)
        return done
    for manifest, action in actions:
        if options.deadline.expired():
            done.timed_out = f"{options.deadline.describe()} reached while applying plain manifests: nothing recorded for any rollout"
            break
        keeper.keep()
        try:
            stored = apply_plain(cluster, action)
        except (Refused, Conflict) as err:  # e.g. its namespace does not exist
            done.findings.append(refused_finding(manifest, err))
            done.refused += 1
            continue
        if stored is not None and action.kind in _PLANNED_AGAINST:
            seen.object_changed(action.kind, action.namespace, stored)  # plan against what is live now
    return done


def plans(cluster, planned: dict, found: Rollouts, seen: World, keeper, now: datetime, options: RunOptions) -> str:
    """Each recorded Plan onto its result; outside a dry run its actions and Events are written and
    the view is rebuilt from what the cluster returned. Returns where --timeout stopped it, or ""."""
    timed_out = ""
    deadline = options.deadline
    for key, (_previous, the_plan) in planned.items():
        result = found.results[key]
        result.plan = the_plan
        result.view = the_plan.view
        if the_plan.state_finding:
            result.findings.append(_state_finding(found.desired[key], the_plan.state_finding))
        if not options.dry_run:
            keeper.keep()  # between rollouts: a long run keeps its lease
            stop_here = bool(the_plan.actions or the_plan.events) and deadline.expired()
            if stop_here:  # recorded, not applied: the next run re-applies the recorded step
                timed_out = timed_out or f"{deadline.describe()} reached while applying recorded steps"
                result.error = "step recorded but not applied: the run stopped at its --timeout; the next run applies it"
            _apply_plan(cluster, the_plan, found.desired[key], result, seen, now, stop_here)
        _log_result(result, the_plan, options.dry_run)
    return timed_out


def _apply_plan(cluster, the_plan, desired: Desired, result: RolloutResult, seen: World, now: datetime, stop_here: bool) -> None:
    live_now = seen.live_for(desired)
    replicasets = {rs["metadata"]["name"]: rs for rs in live_now.replicasets}
    experiment_rs = {rs["metadata"]["name"]: rs for rs in live_now.extra.get("experimentReplicaSets") or []}
    traffic = dict(live_now.traffic)
    services = dict(live_now.services)  # the view reads Service selectors as written
    written: dict = {}
    try:
        for action in ([] if stop_here else the_plan.actions):
            stored = apply_action(cluster, action, written)
            if stored is not None and action.kind == "ReplicaSet" and owned_by(stored) == desired.name:
                replicasets[action.name] = stored
            elif stored is not None and action.kind == "ReplicaSet":
                experiment_rs[action.name] = stored  # an experiment step's (engine/experiment_step.py)
            if stored is not None and (action.kind, action.namespace, action.name) in traffic:
                traffic[(action.kind, action.namespace, action.name)] = stored
                seen.object_changed(action.kind, action.namespace, stored)
            elif stored is not None and action.kind == "Service":
                services[action.name] = stored
        involved = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": desired.name, "namespace": desired.namespace}}
        for event in ([] if stop_here else the_plan.events):
            cluster.emit_event(involved, event.reason, event.message, type=event.type, now=now)
    except (Conflict, ClusterError) as err:
        result.error = f"applying the plan failed: {err}"
    from reconciler.engine.view import rollout_view

    result.view = rollout_view(the_plan.state.desired_summary, list(replicasets.values()), the_plan.state, now, services=services,
                               traffic=_read_back(desired, traffic), experiment_replicasets=list(experiment_rs.values()))


def _read_back(desired: Desired, traffic: dict) -> dict | None:
    """What the router's objects the cluster returned say (the run's view shows only that)."""
    from reconciler.engine.traffic.routers import canary_router
    from reconciler.engine.traffic.routing import readback_view

    router = canary_router(((desired.spec.get("strategy") or {}).get("canary")) or {}, desired.namespace)
    return readback_view(router.read_back(traffic)) if router is not None else None


def _state_finding(desired: Desired, found: dict) -> Finding:
    """The planner's word about the recorded state (rebuilt, or lost and halted), at the Rollout."""
    severity = Severity.ERROR if found.get("severity") == "error" else Severity.WARNING
    return Finding(file=desired.file, line=desired.line, col=1, path="status", message=found.get("message", ""), hint=found.get("hint", ""),
                   severity=severity, rule="state-lost" if severity is Severity.ERROR else "state-rebuilt",
                   object=f"Rollout/{desired.namespace}/{desired.name}")


def _log_result(result: RolloutResult, the_plan, dry_run: bool) -> None:
    """One line per rollout whose words agree with its fields: status and step as read back after the
    writes (a dry run: what the plan would leave), and "applied" only for what was written."""
    from reconciler.engine.view import weight_words

    view = result.view or {}
    status = view.get("status") or the_plan.status
    head = f"{status}: {view['message']}" if view.get("message") else status
    if view.get("strategy") == "Canary" and view.get("totalSteps") is not None:
        head += f"; step {view.get('step')}/{view.get('totalSteps')}, {weight_words(view)}"
    what = the_plan.next or "nothing to do"
    if dry_run:
        done = f"would apply: {what}" if the_plan.actions else "nothing to apply"
    elif result.error:
        done = f"error: {result.error}"
    elif the_plan.actions:
        done = f"applied {len(the_plan.actions)} change(s): {what}"
    else:
        done = "nothing to apply"
    log.info(
        f"{head}; {done}",
        extra={
            "rollout": result.name,
            "namespace": result.namespace,
            "action": "plan" if dry_run else ("apply" if the_plan.actions and not result.error else "none"),
            "reason": view.get("message") or status,
            "step": view.get("step"),
            "status": status,
            "revision": view.get("revision"),
            "dry_run": dry_run,
        },
    )
