"""The body of `reconciler.runner.run_once`: load, validate, apply plain manifests, observe, plan,
record, apply. Kept apart so the runner module stays a small, stable contract."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Callable

from reconciler import POD_TEMPLATE_HASH_LABEL, PREFIX
from reconciler.cluster.lease import LEASE_NAME, LEASE_SECONDS, LeaseKeeper, run_clock
from reconciler.drift import drifted_fields
from reconciler.engine.context import ROLLOUT_LABEL
from reconciler.engine.model import Action, Desired, Live
from reconciler.engine.plan import plan as plan_rollout
from reconciler.engine import workload
from reconciler.engine.restart import pods_by_replicaset, wants_pods
from reconciler.engine.rebuild import STABLE_STANDIN_ANNOTATION
from reconciler.engine.traffic.istio import carry_managed_fields
from reconciler.engine.state import RolloutState
from reconciler.errors import ClusterError, Conflict, Forbidden, Refused
from reconciler.findings import Finding, Severity
from reconciler.validation.live import LiveLookup
from reconciler.kinds import APPLIED_FROM_SOURCE, KINDS, object_key
from reconciler.runner import RolloutResult, RunReport
from reconciler.shard import lease_name, split

log = logging.getLogger("reconciler")

APPLIED_HASH_ANNOTATION = f"{PREFIX}/applied-hash"
MAX_SAVE_ATTEMPTS = 4
# Plain manifests go first, in this order, so a Rollout never sees its Service missing.
_APPLY_ORDER = ["ConfigMap", "Service", "ClusterAnalysisTemplate", "AnalysisTemplate"]


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _content_hash(obj: dict) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _load(root: Path, period_seconds: float | None = None, live=None):
    from reconciler.manifests.loader import load_directory

    result = load_directory(root)
    findings = list(result.findings)
    try:
        from reconciler.validation import validate
    except ImportError:  # intake not there yet
        validate = None
    if validate is not None:
        findings.extend(validate(result.manifests, live=live, period_seconds=period_seconds))
    return result.manifests, findings


def _bad_refs(findings) -> set[str]:
    return {f.object for f in findings if f.severity is Severity.ERROR and f.object}


def _plain_actions(manifests, live_by_key: dict, bad: set[str]) -> list[tuple]:
    """(manifest, Action) to create or replace the plain manifests whose content changed since the
    reconciler last applied them (tracked by an annotation, so server defaults never cause a write).
    Only kinds in APPLIED_FROM_SOURCE; validation reported the others. The selector hash the engine
    sets on Services is kept."""
    actions = []
    ordered = sorted(manifests, key=lambda m: _APPLY_ORDER.index(m.kind) if m.kind in _APPLY_ORDER else len(_APPLY_ORDER))
    for manifest in ordered:
        if manifest.kind not in APPLIED_FROM_SOURCE or manifest.ref in bad:
            continue
        desired = _plain(manifest.obj)
        digest = _content_hash(desired)
        key = object_key(desired)
        live = live_by_key.get(key)
        drift = None
        if live is not None and ((live.get("metadata") or {}).get("annotations") or {}).get(APPLIED_HASH_ANNOTATION) == digest:
            # applied already: only a hand change makes it differ (what the engine manages is taken from live)
            drift = drifted_fields(workload.carry_scaled_replicas(manifest.kind, live, carry_managed_fields(manifest.kind, live, desired)), live)
            if not drift:
                continue
        after = copy.deepcopy(desired)
        meta = after.setdefault("metadata", {})
        if KINDS[manifest.kind].namespaced:
            meta["namespace"] = key[1]
        meta.setdefault("annotations", {})[APPLIED_HASH_ANNOTATION] = digest
        if live is not None:
            meta["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
            live_hash = ((live.get("spec") or {}).get("selector") or {}).get(POD_TEMPLATE_HASH_LABEL)
            if manifest.kind == "Service" and live_hash:
                after.setdefault("spec", {}).setdefault("selector", {})[POD_TEMPLATE_HASH_LABEL] = live_hash
                standin = ((live.get("metadata") or {}).get("annotations") or {}).get(STABLE_STANDIN_ANNOTATION)
                if standin:  # which revision is stable while the stable Service serves the canary (rebuild.py)
                    meta["annotations"][STABLE_STANDIN_ANNOTATION] = standin
            after = carry_managed_fields(manifest.kind, live, after)  # a router's weights/subsets survive a Git edit
            after = workload.carry_scaled_replicas(manifest.kind, live, after)  # and a workloadRef's scale-down
        reason = f"revert drift in {', '.join(drift)} (changed live, not in Git)" if drift else f"apply {manifest.file}"
        actions.append((manifest, Action("replace" if live else "create", manifest.kind, key[1], key[2], live, after, reason)))
    return actions


def _refused(manifest, err: Exception) -> Finding:
    """A manifest the cluster would not take (RBAC, a kind it does not serve, a namespace that does
    not exist, a 409): an error at its place; the run goes on."""
    info = KINDS.get(manifest.kind)
    where = f"{manifest.namespace}/{manifest.name}" if info is None or info.namespaced else manifest.name
    if isinstance(err, Conflict):
        message, hint = f"could not apply {manifest.kind} {where}: {err}", "the next run re-reads it and applies it again"
    else:
        message, hint = f"cannot apply {manifest.kind} {where}: {err.message}", err.hint
    rule = "conflict" if isinstance(err, Conflict) else "forbidden" if isinstance(err, Forbidden) else "refused"
    return manifest.finding(("kind",), message, hint=hint, rule=rule)


def _owned_by(rs: dict) -> str:
    meta = rs.get("metadata") or {}
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == "Rollout":
            return owner.get("name", "")
    return (meta.get("labels") or {}).get(ROLLOUT_LABEL, "")


_TEMPLATE_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")
# Applied from the source, then planned against in the same run (selectors, routes, a workloadRef's template).
_PLANNED_AGAINST = ("Service", "VirtualService", "DestinationRule", "Deployment")


def _template_refs(rollout: dict):
    """(kind, name) of every analysis template a Rollout names (steps, background, blue-green)."""
    from reconciler.analysis.checks import analysis_references

    spec = rollout.get("spec") if isinstance(rollout.get("spec"), dict) else {}
    for _, analysis, _ in analysis_references(spec):
        for ref in analysis.get("templates") or []:
            if isinstance(ref, dict) and ref.get("templateName"):
                yield ("ClusterAnalysisTemplate" if ref.get("clusterScope") else "AnalysisTemplate"), str(ref["templateName"])


def _templates(manifests, desired_by_key: dict, cluster) -> dict:
    """Templates from the repository; one that is only live is read with one list per kind and
    namespace, and only when a rollout names a template the repository lacks."""
    found = {}
    for m in manifests:
        if m.kind in _TEMPLATE_KINDS:
            found[(m.kind, None if m.kind == "ClusterAnalysisTemplate" else m.namespace, m.name)] = _plain(m.obj)
    missing = set()
    for (namespace, _), desired in desired_by_key.items():
        for kind, name in _template_refs(desired.rollout):
            key = (kind, None if kind == "ClusterAnalysisTemplate" else namespace, name)
            if key not in found:
                missing.add((kind, key[1]))
    for kind, namespace in sorted(missing, key=str):
        for obj in cluster.list(kind, namespace):
            meta = obj.get("metadata") or {}
            found.setdefault((kind, namespace, meta.get("name", "")), obj)
    return found


def _measure(states: dict, keys, cluster, now: datetime, *, dry_run: bool, deadline=None) -> dict:
    """Take the analysis measurements that are due, for every rollout at once (one Job list per
    namespace, one HTTP session). A dry run only reads: it starts and deletes no Job."""
    from reconciler.analysis.measure import provider_key, take_measurements
    from reconciler.analysis.run import due_measurements

    wanted = []
    for key in keys:
        for name, run in ((states.get(key) or {}).get("analysis") or {}).items():
            for request in due_measurements(run, now):
                if dry_run and provider_key(request.metric) == "job" and request.action != "resume":
                    continue
                wanted.append((key, name, request))
    if not wanted:
        return {}
    import requests

    with requests.Session() as http:
        taken = take_measurements([request for _, _, request in wanted], cluster=cluster, now=now, http=http, deadline=deadline)
    measured: dict = {}
    for (key, name, _), measurement in zip(wanted, taken):
        measured.setdefault(key, {}).setdefault(name, []).append(measurement.as_record())
    return measured


class _Observed:
    """Everything observe read, one list per kind per namespace. A namespace the reconciler may not
    read (no RoleBinding there) is recorded in `denied`; its objects are reported, not acted on."""

    def __init__(self, cluster, namespaces: set[str], kinds: tuple[str, ...] = ("ReplicaSet", "Service"), routing: set | None = None):
        self.by_kind: dict[tuple[str, str], list[dict]] = {}
        self.denied: dict[str, Forbidden] = {}
        for namespace in sorted(namespaces):
            try:
                for kind in kinds:
                    self.by_kind[(kind, namespace)] = cluster.list(kind, namespace)
            except Forbidden as err:
                self.denied[namespace] = err
        # Traffic routers' kinds (VirtualService, DestinationRule), only where a rollout names one.
        # One the cluster will not list (Istio not installed, no RBAC) reads as "not found": the
        # rollout is held with that message, the others go on.
        self.refused: dict[tuple[str, str], Refused] = {}
        for kind, namespace in sorted(routing or ()):
            if namespace in self.denied:
                continue
            try:
                self.by_kind[(kind, namespace)] = cluster.list(kind, namespace)
            except Refused as err:
                self.refused[(kind, namespace)] = err
        self._owned: dict[tuple[str, str], list[dict]] | None = None

    def objects(self, kind: str, namespace: str) -> list[dict]:
        return self.by_kind.get((kind, namespace), [])

    def live_for(self, desired: Desired) -> Live:
        """The rollout's ReplicaSets and the Services it names (indexed once, not scanned per rollout)."""
        ns = desired.namespace
        if self._owned is None:
            self._owned = {}
            for (kind, namespace), objs in self.by_kind.items():
                if kind == "ReplicaSet":
                    for rs in objs:
                        self._owned.setdefault((namespace, _owned_by(rs)), []).append(rs)
        named = _service_names(desired.rollout)
        services = {name: s for s in self.objects("Service", ns) if (name := (s.get("metadata") or {}).get("name")) in named}
        traffic = {}
        for kind, namespace, name in _routing_keys(desired.rollout):
            found = next((o for o in self.objects(kind, namespace) if (o.get("metadata") or {}).get("name") == name), None)
            if found is not None:
                traffic[(kind, namespace, name)] = found
        ref = workload.reference(desired.rollout)
        deployment = None
        if ref is not None:
            deployment = next((o for o in self.objects("Deployment", ns) if (o.get("metadata") or {}).get("name") == ref["name"]), None)
        return Live(replicasets=list(self._owned.get((ns, desired.name), [])), services=services, traffic=traffic, workload=deployment)

    def service_changed(self, namespace: str, service: dict) -> None:
        self.object_changed("Service", namespace, service)

    def find(self, kind: str, namespace: str, name: str | None) -> dict | None:
        return next((o for o in self.objects(kind, namespace) if (o.get("metadata") or {}).get("name") == name), None) if name else None

    def object_changed(self, kind: str, namespace: str, obj: dict) -> None:
        objects = self.by_kind.setdefault((kind, namespace), [])
        objects[:] = [o for o in objects if o["metadata"]["name"] != obj["metadata"]["name"]] + [obj]


def _routing_keys(rollout: dict) -> list[tuple]:
    """(kind, namespace, name) of the traffic router objects a Rollout names (VirtualServices, ...)."""
    from reconciler.engine.traffic.base import router_for

    spec = rollout.get("spec") if isinstance(rollout.get("spec"), dict) else {}
    canary = ((spec.get("strategy") or {}).get("canary")) if isinstance(spec.get("strategy"), dict) else None
    if not isinstance(canary, dict):
        return []
    router = router_for(canary.get("trafficRouting"), canary.get("canaryService"), canary.get("stableService"), (rollout.get("metadata") or {}).get("namespace") or "default")
    return router.object_keys() if router is not None else []


def _in_shard(rollouts: list, others: list, shard: tuple[int, int]) -> tuple[list, list]:
    """The Rollouts of shard I/N and the other manifests it owns (each owned by one shard)."""

    def key(m) -> tuple[str, str, str]:
        info = KINDS.get(m.kind)
        return (m.kind, m.namespace if info is None or info.namespaced else "", m.name)

    def references(m):
        ns = m.namespace
        yield from (("Service", ns, name) for name in _service_names(m.obj))
        yield from ((kind, namespace or "", name) for kind, namespace, name in _routing_keys(m.obj))
        yield from ((kind, "" if kind == "ClusterAnalysisTemplate" else ns, name) for kind, name in _template_refs(m.obj))

    return split(rollouts, others, shard, rollout_key=lambda m: (m.namespace, m.name), object_key=key, references=references)


def _service_names(rollout: dict) -> set[str]:
    strategy = ((rollout.get("spec") or {}).get("strategy")) or {}
    canary, bluegreen = strategy.get("canary") or {}, strategy.get("blueGreen") or {}
    names = {canary.get("canaryService"), canary.get("stableService"), bluegreen.get("activeService"), bluegreen.get("previewService")}
    return {str(name) for name in names if name}


def _apply_action(cluster, action: Action, written: dict | None = None) -> dict | None:
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


def _apply_plain(cluster, action: Action) -> dict | None:
    """A manifest from Git: server-side apply where the backend has it (kube: field manager
    `reconciler`), else create/replace (the local cluster)."""
    apply = getattr(cluster, "apply", None)
    return apply(action.after) if apply is not None else _apply_action(cluster, action)


def apply_run(
    root: Path,
    cluster,
    store,
    now: datetime,
    *,
    dry_run: bool,
    source_label: str = "",
    only=None,
    lease_namespace: str = "default",
    clock: Callable[[], datetime] | None = None,
    period_seconds: float | None = None,
    shard: tuple[int, int] | None = None,
    deadline=None,
    notify: bool = True,
    notify_max_age: float | None = None,
) -> RunReport:
    """`now` is the time every plan is made for; `clock` (default: `now` plus the time elapsed) is
    only for keeping the run's Lease renewed while it acts. `period_seconds`: how often runs happen
    (`--period`), for the analysis timing warnings. A run that writes takes the Lease before it
    reads anything (live objects, recorded states), so what it plans from is what no other run is
    changing; a dry run (`plan`) takes none. `deadline` (`run --timeout`, reconciler/deadline.py)
    is checked only between writes; past it the run stops there and says where (exit 2)."""
    args = dict(dry_run=dry_run, source_label=source_label, only=only, clock=clock, period_seconds=period_seconds, shard=shard,
                deadline=deadline, notify=notify, notify_max_age=notify_max_age, lease_namespace=lease_namespace)
    if dry_run:
        return _apply_run_holding(root, cluster, store, now, held=None, **args)
    holder = f"{socket.gethostname()}-{os.getpid()}"
    with cluster.lease(lease_name(LEASE_NAME, shard), lease_namespace, holder, duration_seconds=LEASE_SECONDS, now=now) as held:
        return _apply_run_holding(root, cluster, store, now, held=held, **args)


def _apply_run_holding(root: Path, cluster, store, now: datetime, *, held, dry_run: bool, source_label: str, only,
                       clock: Callable[[], datetime] | None, period_seconds: float | None,
                       shard: tuple[int, int] | None = None, deadline=None, notify: bool = True,
                       notify_max_age: float | None = None, lease_namespace: str = "default") -> RunReport:
    """The run, with the Lease `held` (None for a dry run) already taken."""
    from reconciler.deadline import NEVER

    deadline = deadline or NEVER
    report = RunReport(dry_run=dry_run)
    reads_before, writes_before = getattr(cluster, "reads", 0), getattr(cluster, "writes", 0)
    # A referenced object missing from SOURCE is looked up in the cluster (one list per kind and namespace).
    manifests, findings = _load(root, period_seconds, live=LiveLookup(cluster))
    report.objects = len(manifests)
    bad = _bad_refs(findings)
    rollouts = [m for m in manifests if m.kind == "Rollout"]
    if only:
        rollouts = [m for m in rollouts if (m.namespace, m.name) in only]
    applied = [m for m in manifests if m.kind in APPLIED_FROM_SOURCE and m.ref not in bad]
    if shard is not None:
        rollouts, mine = _in_shard(rollouts, [m for m in manifests if m.kind != "Rollout"], shard)
        mine_refs = {m.ref for m in mine} | {m.ref for m in rollouts}
        applied = [m for m in applied if m.ref in mine_refs]
        # Another shard reports its own objects' findings; findings of no object (a file that does
        # not parse) are reported by every shard, so none is missed.
        findings = [f for f in findings if not f.object or f.object in mine_refs]

    # Only namespaces of objects that passed validation are read: a bad one (`../../outside`) is never a path.
    namespaces = {m.namespace for m in applied if KINDS[m.kind].namespaced} | {m.namespace for m in rollouts if m.ref not in bad}
    routing = {(kind, namespace) for m in rollouts if m.ref not in bad for kind, namespace, _ in _routing_keys(m.obj)}
    routing |= {("Deployment", m.namespace) for m in rollouts if m.ref not in bad and workload.reference(m.obj)}
    observed = _Observed(cluster, namespaces, routing=routing)
    for manifest in applied + rollouts:
        if manifest.namespace in observed.denied and KINDS[manifest.kind].namespaced and manifest.ref not in bad:
            findings.append(_refused(manifest, observed.denied[manifest.namespace]))
            bad.add(manifest.ref)
    live_by_key = {}
    for (kind, namespace), objs in observed.by_kind.items():
        for obj in objs:
            live_by_key[object_key(obj)] = obj
    for kind in sorted({m.kind for m in applied if m.ref not in bad} - {"ReplicaSet", "Service"}):
        mine = [m for m in applied if m.kind == kind and m.ref not in bad]
        scopes = sorted({m.namespace for m in mine}) if KINDS[kind].namespaced else [None]
        for namespace in scopes:
            try:
                live = observed.by_kind[(kind, namespace)] if (kind, namespace) in observed.by_kind else cluster.list(kind, namespace)
            except Refused as err:  # the Role does not cover Ingresses, Istio is not installed: reported, the rest goes on
                for manifest in mine:
                    if namespace is None or manifest.namespace == namespace:
                        findings.append(_refused(manifest, err))
                        bad.add(manifest.ref)
                continue
            for obj in live:
                live_by_key[object_key(obj)] = obj
    rollout_refs = {m.ref for m in rollouts}
    report.findings = [f for f in findings if f.object not in rollout_refs]

    # The state of the rollouts in this run only: one list per namespace they live in.
    state_namespaces = sorted({m.namespace for m in rollouts if m.ref not in bad} - set(observed.denied))
    states = store.load(namespaces=state_namespaces) if store is not None else {}
    plain = _plain_actions(applied, live_by_key, bad)
    report.manifest_actions = [action for _, action in plain]
    refused = 0

    with contextlib.nullcontext(held):  # taken by apply_run before anything was read
        keeper = LeaseKeeper(cluster, held, clock or run_clock(now))
        if not dry_run:
            for manifest, action in plain:
                if deadline.expired():
                    report.timed_out = f"{deadline.describe()} reached while applying plain manifests: nothing recorded for any rollout"
                    break
                keeper.keep()
                try:
                    stored = _apply_plain(cluster, action)
                except (Refused, Conflict) as err:  # e.g. its namespace does not exist
                    report.findings.append(_refused(manifest, err))
                    refused += 1
                    continue
                if stored is not None and action.kind in _PLANNED_AGAINST:
                    observed.object_changed(action.kind, action.namespace, stored)  # plan against what is live now
        elif report.manifest_actions:
            for action in report.manifest_actions:
                if action.kind in _PLANNED_AGAINST:
                    observed.object_changed(action.kind, action.namespace, action.after)

        results: dict[tuple[str, str], RolloutResult] = {}
        desired_by_key = {}
        for manifest in rollouts:
            key = (manifest.namespace, manifest.name)
            result = RolloutResult(namespace=key[0], name=key[1], findings=[f for f in findings if f.object == manifest.ref])
            results[key] = result
            if manifest.ref in bad:
                log.warning("invalid Rollout: nothing applied", extra={"rollout": key[1], "namespace": key[0], "action": "skip", "reason": "findings"})
                continue
            resolved, problem = workload.resolve(_plain(manifest.obj), observed.find("Deployment", key[0], (workload.reference(manifest.obj) or {}).get("name")))
            if problem:  # the Deployment went away since validation: skipped with the finding, never an empty ReplicaSet
                result.findings.append(manifest.finding(("spec", "workloadRef", "name"), problem, hint="create the Deployment (in the source or the cluster), or give the Rollout a template", rule="workload-ref"))
                continue
            desired_by_key[key] = Desired(resolved, file=manifest.file, line=manifest.line)
            result.rollout = desired_by_key[key].rollout
        templates = _templates(manifests, desired_by_key, cluster) if desired_by_key else {}
        for desired in desired_by_key.values():
            desired.templates = templates
        measured = {} if report.timed_out else _measure(states, desired_by_key, cluster, now, dry_run=dry_run, deadline=deadline)
        if not report.timed_out and not dry_run and deadline.expired():
            report.timed_out = f"{deadline.describe()} reached before recording: nothing recorded for any rollout"
        if report.timed_out:  # stop before recording: no rollout moves, nothing is half-done
            for key in desired_by_key:
                results[key].error = "not planned: the run stopped at its --timeout before recording; the next run picks it up"
            desired_by_key = {}
        notifier = _notifier(manifests, cluster, root, rollouts, states, lease_namespace, source_label, report)

        plans = {}
        saved = 0
        pod_lists: dict[str, list[dict]] = {}  # read only for rollouts whose spec.restartAt is due
        attempts = getattr(store, "save_attempts", MAX_SAVE_ATTEMPTS)  # --push-attempts (the commit store backs off between)
        for attempt in range(attempts):
            for key, desired in desired_by_key.items():
                if key in plans:
                    continue
                previous = RolloutState.from_dict(states.get(key))
                live = observed.live_for(desired)
                live.measurements = measured.get(key, {})
                if wants_pods(desired.rollout, previous, now):  # spec.restartAt is due (engine/restart.py)
                    if desired.namespace not in pod_lists:
                        pod_lists[desired.namespace] = cluster.list("Pod", desired.namespace)
                    live.pods = pods_by_replicaset(pod_lists[desired.namespace], live.replicasets)
                unreadable = (getattr(store, "unreadable", None) or {}).get(key)
                if unreadable:
                    live.extra["stateUnreadable"] = unreadable
                plans[key] = (previous, plan_rollout(desired, live, previous, now))
                if notifier is not None:  # pending notifications are recorded with the step
                    notifier.enqueue(desired, plans[key][1], now)
            changed = {key: p.state.to_dict() for key, (previous, p) in plans.items() if not p.state.progress_equal(previous)}
            if dry_run or not changed or store is None:
                break
            keeper.keep()
            try:
                store.save(changed, message=f"reconciler run{(' of ' + source_label) if source_label else ''}: " + ", ".join(f"{ns}/{n}" for ns, n in sorted(changed)))
                saved = len(changed)
                break
            except Conflict as err:
                log.warning(f"state changed while planning ({err}); re-loading and re-planning", extra={"action": "retry", "reason": "conflict"})
                fresh = store.load(namespaces=state_namespaces)
                for key in list(plans):
                    if fresh.get(key) != states.get(key):
                        plans.pop(key)
                        measured.pop(key, None)  # taken against a state another writer replaced
                states = fresh
        else:
            for key in changed:
                results[key].error = f"could not record the state after {attempts} attempts: another writer keeps changing it"
                plans.pop(key, None)

        for key, (previous, the_plan) in plans.items():
            result = results[key]
            result.plan = the_plan
            result.view = the_plan.view
            if the_plan.state_finding:
                result.findings.append(_state_finding(desired_by_key[key], the_plan.state_finding))
            if not dry_run:
                keeper.keep()  # between rollouts: a long run keeps its lease
                live_now = observed.live_for(desired_by_key[key])
                replicasets = {rs["metadata"]["name"]: rs for rs in live_now.replicasets}
                traffic = dict(live_now.traffic)
                services = dict(live_now.services)  # the view reads Service selectors as written
                written: dict = {}
                stop_here = bool(the_plan.actions or the_plan.events) and deadline.expired()
                if stop_here:  # recorded, not applied: the next run re-applies the recorded step
                    report.timed_out = report.timed_out or f"{deadline.describe()} reached while applying recorded steps"
                    result.error = "step recorded but not applied: the run stopped at its --timeout; the next run applies it"
                try:
                    for action in ([] if stop_here else the_plan.actions):
                        stored = _apply_action(cluster, action, written)
                        if stored is not None and action.kind == "ReplicaSet":
                            replicasets[action.name] = stored
                        if stored is not None and (action.kind, action.namespace, action.name) in traffic:
                            traffic[(action.kind, action.namespace, action.name)] = stored
                            observed.object_changed(action.kind, action.namespace, stored)
                        elif stored is not None and action.kind == "Service":
                            services[action.name] = stored
                    involved = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": key[1], "namespace": key[0]}}
                    for event in ([] if stop_here else the_plan.events):
                        cluster.emit_event(involved, event.reason, event.message, type=event.type, now=now)
                except (Conflict, ClusterError) as err:
                    result.error = f"applying the plan failed: {err}"
                from reconciler.engine.view import rollout_view

                result.view = rollout_view(the_plan.state.desired_summary, list(replicasets.values()), the_plan.state, now, services=services,
                                           traffic=_read_back(desired_by_key[key], traffic))
            _log_result(result, the_plan, dry_run)
        if notifier is not None and not report.timed_out:  # past --timeout they stay pending for the next run
            report.notifications = _notify(notifier, plans, desired_by_key, store, cluster, now, dry_run=dry_run, notify=notify,
                                           max_age=notify_max_age, keep_lease=keeper.keep)
    report.results = [results[key] for key in sorted(results)]
    report.reads = getattr(cluster, "reads", 0) - reads_before
    # Object writes this run (the run's own Lease bookkeeping is not counted).
    report.writes = 0 if dry_run else (
        len(report.manifest_actions) - refused
        + sum(len(r.plan.actions) + len(r.plan.events) for r in report.results if r.plan)
        + saved
    )
    return report


def _read_back(desired: Desired, traffic: dict) -> dict | None:
    """What the router's objects the cluster returned say (the run's view shows only that)."""
    from reconciler.engine.traffic.base import router_for
    from reconciler.engine.traffic.routing import readback_view

    canary = ((desired.spec.get("strategy") or {}).get("canary")) or {}
    router = router_for(canary.get("trafficRouting"), canary.get("canaryService"), canary.get("stableService"), desired.namespace)
    return readback_view(router.read_back(traffic)) if router is not None else None


def _state_finding(desired: Desired, found: dict) -> Finding:
    """The planner's word about the recorded state (rebuilt, or lost and halted), at the Rollout."""
    severity = Severity.ERROR if found.get("severity") == "error" else Severity.WARNING
    return Finding(file=desired.file, line=desired.line, col=1, path="status", message=found.get("message", ""), hint=found.get("hint", ""),
                   severity=severity, rule="state-lost" if severity is Severity.ERROR else "state-rebuilt",
                   object=f"Rollout/{desired.namespace}/{desired.name}")


def _notifier(manifests, cluster, root, rollouts, states, namespace, source_label, report):
    """The run's notification side (reconciler/notifications), or None when nothing subscribes."""
    from reconciler.notifications import Notifier

    notifier = Notifier.prepare(manifests, cluster, root, namespace=namespace, source_label=source_label, states=states, rollouts=rollouts)
    if notifier is not None:
        report.findings.extend(notifier.findings)
    return notifier


def _notify(notifier, plans, desired_by_key, store, cluster, now, *, dry_run, notify, max_age, keep_lease):
    """After the apply: deliver what is due (`run`), or list it (`plan`, `run --no-notify`)."""
    by_key = {key: the_plan for key, (_, the_plan) in plans.items()}
    if dry_run or not notify:
        return notifier.preview(by_key, now, held=not dry_run)
    return notifier.deliver(by_key, desired_by_key, store, cluster, now, max_age_seconds=max_age, keep_lease=keep_lease)


def _log_result(result: RolloutResult, the_plan, dry_run: bool) -> None:
    view = result.view
    what = the_plan.next or "nothing to do"
    log.info(
        f"{the_plan.status}{(': ' + the_plan.message) if the_plan.message else ''}; {the_plan.where}; {what}",
        extra={
            "rollout": result.name,
            "namespace": result.namespace,
            "action": "plan" if dry_run else ("apply" if the_plan.actions else "none"),
            "reason": the_plan.message or the_plan.status,
            "step": view.get("step"),
            "status": view.get("status"),
            "revision": view.get("revision"),
            "dry_run": dry_run,
        },
    )

