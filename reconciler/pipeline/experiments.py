"""The run's pass over standalone `kind: Experiment` manifests (seed 002 manifest 6), after the
Rollouts' pass and under the same Lease: observe (their ReplicaSets and Services, measurements
due), plan (engine/experiment_plan.py, pure), record (the same StatusStore as the rollouts,
compare-and-swap, before anything is applied), apply. An Experiment whose record exists but whose
manifest left the source is terminated (its ReplicaSets go to 0). Each experiment is a
RolloutResult of the run report, so the run's text, JSON and exit code cover it (a Failed / Error
experiment in this run exits 1)."""

from __future__ import annotations

import logging
from datetime import datetime

from reconciler.engine.experiment import is_completed
from reconciler.engine.experiment_plan import is_experiment_state, plan_experiment
from reconciler.engine.experiment_spec import EXPERIMENT_LABEL, OWNER_LABEL
from reconciler.engine.model import Desired, Live
from reconciler.engine.state import RolloutState
from reconciler.errors import ClusterError, Conflict
from reconciler.kinds import KINDS
from reconciler.plain_data import plain as _plain

log = logging.getLogger("reconciler")


def _standalone(obj: dict, name: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(EXPERIMENT_LABEL) == name and not labels.get(OWNER_LABEL)


def _live(cluster, namespace: str, name: str, cache: dict) -> Live:
    if namespace not in cache:
        cache[namespace] = (cluster.list("ReplicaSet", namespace), cluster.list("Service", namespace))
    replicasets, services = cache[namespace]
    return Live(extra={"experimentReplicaSets": [rs for rs in replicasets if _standalone(rs, name)],
                       "experimentServices": [svc for svc in services if _standalone(svc, name)]})


def run_experiments(manifests, findings, bad: set, cluster, store, now: datetime, *, dry_run: bool,
                    states: dict, loaded: set, deadline=None, keep_lease=None) -> tuple[list, int]:
    """(RolloutResults for the Experiments of this run and the ones that left the source, states saved).
    `states` / `loaded`: what the rollouts' pass loaded and for which namespaces; an Experiment in
    another namespace costs one more load (of all of them, so compare-and-swap sees every key)."""
    from reconciler.pipeline.apply import apply_action as _apply_action
    from reconciler.pipeline.observe import _measure
    from reconciler.pipeline.report import RolloutResult

    experiments = [m for m in manifests if m.kind == "Experiment"]
    # Every namespace the source names: an Experiment removed from it is found there and ended.
    scopes = sorted({m.namespace for m in manifests if m.ref not in bad and (KINDS.get(m.kind) is None or KINDS[m.kind].namespaced)} | set(loaded))
    if store is not None and not set(scopes) <= set(loaded):
        states = store.load(namespaces=scopes)
    wanted: dict[tuple[str, str], Desired | None] = {}
    results: dict[tuple[str, str], RolloutResult] = {}
    for manifest in experiments:
        key = (manifest.namespace, manifest.name)
        results[key] = RolloutResult(namespace=key[0], name=key[1], findings=[f for f in findings if f.object == manifest.ref])
        if manifest.ref in bad:
            continue
        if key in states and not is_experiment_state(states[key]):
            results[key].error = f"a Rollout {key[0]}/{key[1]} has recorded state under this name; rename the Experiment"
            continue
        wanted[key] = Desired(_plain(manifest.obj), file=manifest.file, line=manifest.line)
    for key, state in states.items():
        if key not in wanted and key not in results and is_experiment_state(state):
            record = next(iter((state.get("experiments") or {}).values()), None)
            if record is not None and (not is_completed(record) or _has_pods(cluster, key, record)):
                results[key] = RolloutResult(namespace=key[0], name=key[1])
                wanted[key] = None  # gone from the source: terminated
    if not wanted:
        return [results[key] for key in sorted(results)], 0
    templates = {(m.kind, None if m.kind == "ClusterAnalysisTemplate" else m.namespace, m.name): _plain(m.obj)
                 for m in manifests if m.kind in ("AnalysisTemplate", "ClusterAnalysisTemplate")}
    for desired in wanted.values():
        if desired is not None:
            desired.templates = templates
    measured = _measure(states, wanted, cluster, now, dry_run=dry_run, deadline=deadline)
    cache: dict = {}
    plans = {}
    for key, desired in wanted.items():
        previous = RolloutState.from_dict(states.get(key))
        live = _live(cluster, key[0], key[1], cache)
        live.measurements = measured.get(key, {})
        plans[key] = (previous, plan_experiment(desired, live, previous, now, name=key[1], namespace=key[0]))
    changed = {key: p.state.to_dict() for key, (previous, p) in plans.items() if not p.state.progress_equal(previous)}
    saved = 0
    if not dry_run and changed and store is not None:
        try:
            saved = len(changed)
            store.save(changed, message="reconciler run: experiments " + ", ".join(f"{ns}/{n}" for ns, n in sorted(changed)))
        except Conflict as err:  # another run recorded first: nothing applied, the next run re-plans
            saved = 0
            for key in changed:
                results[key].error = f"could not record the experiment's state ({err}); the next run tries again"
                plans.pop(key)
    for key, (_, the_plan) in plans.items():
        result = results[key]
        result.plan = the_plan
        result.view = the_plan.view
        if dry_run:
            continue
        if keep_lease is not None:
            keep_lease()
        written: dict = {}
        replicasets = {rs["metadata"]["name"]: rs for rs in _live(cluster, key[0], key[1], cache).extra["experimentReplicaSets"]}
        try:
            for action in the_plan.actions:
                stored = _apply_action(cluster, action, written)
                if stored is not None and action.kind == "ReplicaSet":
                    replicasets[action.name] = stored
            involved = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Experiment", "metadata": {"name": key[1], "namespace": key[0]}}
            for event in the_plan.events:
                cluster.emit_event(involved, event.reason, event.message, type=event.type, now=now)
        except (Conflict, ClusterError) as err:
            result.error = f"applying the plan failed: {err}"
        from reconciler.engine.experiment_plan import experiment_view

        result.view = experiment_view(the_plan.state, list(replicasets.values()), namespace=key[0])  # as read back
        _log_result(result, the_plan)
    return [results[key] for key in sorted(results)], saved


def _log_result(result, the_plan) -> None:
    """The status as read back, and "applied" only for what was written (as a rollout's line)."""
    status = (result.view or {}).get("status") or the_plan.status
    if result.error:
        done = f"error: {result.error}"
    elif the_plan.actions:
        done = f"applied {len(the_plan.actions)} change(s): {the_plan.next or the_plan.where}"
    else:
        done = "nothing to apply"
    log.info(f"Experiment {status}; {the_plan.where}; {done}",
             extra={"rollout": result.name, "namespace": result.namespace, "action": "apply" if the_plan.actions and not result.error else "none",
                    "reason": status, "status": status, "dry_run": False})


def _has_pods(cluster, key, record) -> bool:
    names = {t.get("replicaSet") for t in record.get("templates") or []}
    return any(rs["metadata"]["name"] in names and int((rs.get("spec") or {}).get("replicas") or 0) > 0
               for rs in cluster.list("ReplicaSet", key[0]))

