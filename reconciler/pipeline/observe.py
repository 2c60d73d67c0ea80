"""Stage 4, observe: everything the planner will need, read before anything is planned.

    world(cluster, checked, store) -> World        one list per kind and namespace (indexed by name), the recorded states
    rollouts(cluster, checked, world, now, ...) -> Rollouts   desired Rollouts, templates, due measurements
    live(cluster, world, rollouts, key, now, store) -> (previous state, Live)   one rollout, for plan

A namespace the reconciler may not read (no RoleBinding there) is recorded in `World.denied`;
its objects are reported, not acted on. The world is updated with what the run itself writes
(`object_changed`), so the Rollouts are planned against the Services applied moments before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.engine import workload
from reconciler.engine.context import ROLLOUT_LABEL
from reconciler.engine.model import Desired, Live
from reconciler.engine.state import RolloutState
from reconciler.errors import Conflict, Forbidden, Refused
from reconciler.findings import Finding
from reconciler.kinds import handling, namespaced, object_key
from reconciler.pipeline.references import routing_keys, service_names, template_refs
from reconciler.pipeline.report import RolloutResult
from reconciler.pipeline.validation import Checked
from reconciler.plain_data import json_clean, plain

log = logging.getLogger("reconciler")

_TEMPLATE_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")
_NAME_TYPES = (str, int, float, bool)  # what a YAML scalar name parses to (a scan compared these with ==)


class World:
    """Everything observe read, indexed once: by kind and namespace, then by name (a run of 10,000
    Rollouts looks each of their objects up by name: a list scan per lookup made the run quadratic)."""

    def __init__(self, cluster, namespaces: set[str], kinds: tuple[str, ...] = ("ReplicaSet", "Service"), routing: set | None = None):
        # (kind, namespace) -> {name: object}, in the order listed; a changed object moves to the end.
        self.by_kind: dict[tuple[str, str], dict] = {}
        self.denied: dict[str, Forbidden] = {}
        for namespace in sorted(namespaces):
            try:
                for kind in kinds:
                    self._put(kind, namespace, cluster.list(kind, namespace))
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
                self._put(kind, namespace, cluster.list(kind, namespace))
            except Refused as err:
                self.refused[(kind, namespace)] = err
        self._owned: dict[tuple[str, str], list[dict]] | None = None
        self._experiments: dict | None = None
        self.live_by_key: dict[tuple, dict] = {}  # every object read, by object_key (plain manifests are diffed against it)
        self.findings: list[Finding] = []  # validation's, and the objects observe could not read
        self.bad: set[str] = set()  # refs never acted on: an error finding, or not readable
        self._findings_by_object: tuple | None = None  # ((id, len) of findings, {object: [finding]})
        self.states: dict = {}  # recorded state per (namespace, name), as the StatusStore loaded it
        self.state_namespaces: list[str] = []
        self.pod_lists: dict[str, list[dict]] = {}  # read only for rollouts whose spec.restartAt is due

    def _put(self, kind: str, namespace: str, objs: list[dict]) -> None:
        """Index one listing by name (the first of a name wins, as a scan found it; an object
        without a name is kept, under a key no name can take)."""
        named: dict = {}
        for obj in objs:
            name = (obj.get("metadata") or {}).get("name")
            named.setdefault(name if type(name) in _NAME_TYPES else (None, id(obj)), obj)
        self.by_kind[(kind, namespace)] = named

    def objects(self, kind: str, namespace: str) -> list[dict]:
        return list(self.by_kind.get((kind, namespace), {}).values())

    def live_for(self, desired: Desired) -> Live:
        """The rollout's ReplicaSets and the Services it names (indexed once, not scanned per rollout)."""
        ns = desired.namespace
        if self._owned is None:
            self._owned = {}
            for (kind, namespace), objs in self.by_kind.items():
                if kind == "ReplicaSet":
                    for rs in objs.values():
                        self._owned.setdefault((namespace, owned_by(rs)), []).append(rs)
        services_here = self.by_kind.get(("Service", ns), {})
        services = {name: services_here[name] for name in sorted(service_names(desired.rollout)) if name in services_here}
        traffic = {}
        for kind, namespace, name in routing_keys(desired.rollout):
            found = self.find(kind, namespace, name)
            if found is not None:
                traffic[(kind, namespace, name)] = found
        ref = workload.reference(desired.rollout)
        deployment = self.find("Deployment", ns, ref["name"]) if ref is not None else None
        live = Live(replicasets=list(self._owned.get((ns, desired.name), [])), services=services, traffic=traffic, workload=deployment)
        live.extra.update(self._experiment_objects(ns, desired.name))
        return live

    def _experiment_objects(self, namespace: str, rollout: str) -> dict:
        """The ReplicaSets and Services of the rollout's experiment steps (engine/experiment_step.py)."""
        from reconciler.engine.experiment_spec import OWNER_LABEL

        if self._experiments is None:
            self._experiments = {}
            for (kind, ns), objs in self.by_kind.items():
                if kind in ("ReplicaSet", "Service"):
                    for obj in objs.values():
                        owner = ((obj.get("metadata") or {}).get("labels") or {}).get(OWNER_LABEL)
                        if owner:
                            self._experiments.setdefault((ns, owner, kind), []).append(obj)
        return {"experimentReplicaSets": list(self._experiments.get((namespace, rollout, "ReplicaSet"), [])),
                "experimentServices": list(self._experiments.get((namespace, rollout, "Service"), []))}

    def findings_of(self, ref: str) -> list[Finding]:
        """The findings about one object, in their order (grouped once, not filtered per rollout)."""
        if self._findings_by_object is None or self._findings_by_object[0] != (id(self.findings), len(self.findings)):
            grouped: dict[str, list[Finding]] = {}
            for finding in self.findings:
                grouped.setdefault(finding.object, []).append(finding)
            self._findings_by_object = ((id(self.findings), len(self.findings)), grouped)
        return list(self._findings_by_object[1].get(ref, []))

    def service_changed(self, namespace: str, service: dict) -> None:
        self.object_changed("Service", namespace, service)

    def find(self, kind: str, namespace: str, name: str | None) -> dict | None:
        if not name or type(name) not in _NAME_TYPES:
            return None
        return self.by_kind.get((kind, namespace), {}).get(name)

    def object_changed(self, kind: str, namespace: str, obj: dict) -> None:
        objects = self.by_kind.setdefault((kind, namespace), {})
        name = obj["metadata"]["name"]
        objects.pop(name, None)
        objects[name] = obj


def owned_by(rs: dict) -> str:
    """The Rollout a ReplicaSet belongs to: its owner reference, else its rollout label."""
    meta = rs.get("metadata") or {}
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == "Rollout":
            return owner.get("name", "")
    return (meta.get("labels") or {}).get(ROLLOUT_LABEL, "")


def refused_finding(manifest, err: Exception) -> Finding:
    """A manifest the cluster would not take (RBAC, a kind it does not serve, a namespace that does
    not exist, a 409): an error at its place; the run goes on."""
    where = f"{manifest.namespace}/{manifest.name}" if namespaced(manifest.kind) else manifest.name
    if isinstance(err, Conflict):
        message, hint = f"could not apply {manifest.kind} {where}: {err}", "the next run re-reads it and applies it again"
    else:
        message, hint = f"cannot apply {manifest.kind} {where}: {err.message}", err.hint  # type: ignore[attr-defined]
    rule = "conflict" if isinstance(err, Conflict) else "forbidden" if isinstance(err, Forbidden) else "refused"
    return manifest.finding(("kind",), message, hint=hint, rule=rule)


def world(cluster, checked: Checked, store) -> World:
    """One list per kind and namespace the run's objects live in, then the rollouts' recorded states."""
    bad, applied, rollouts = set(checked.bad), checked.applied, checked.rollouts
    findings = list(checked.findings)
    # Only namespaces of objects that passed validation are read: a bad one (`../../outside`) is never a path.
    namespaces = {m.namespace for m in applied if namespaced(m.kind)} | {m.namespace for m in rollouts if m.ref not in bad}
    routing = {(kind, namespace) for m in rollouts if m.ref not in bad for kind, namespace, _ in routing_keys(m.obj)}
    routing |= {("Deployment", m.namespace) for m in rollouts if m.ref not in bad and workload.reference(m.obj)}
    seen = World(cluster, namespaces, routing=routing)
    for manifest in applied + rollouts:
        if manifest.namespace in seen.denied and namespaced(manifest.kind) and manifest.ref not in bad:
            findings.append(refused_finding(manifest, seen.denied[manifest.namespace]))
            bad.add(manifest.ref)
    for objs in seen.by_kind.values():
        for obj in objs.values():
            seen.live_by_key[object_key(obj)] = obj
    for kind in sorted({m.kind for m in applied if m.ref not in bad} - {"ReplicaSet", "Service"}):
        mine = [m for m in applied if m.kind == kind and m.ref not in bad]
        scopes = sorted({m.namespace for m in mine}) if namespaced(kind) else [None]
        # A kind the engine does not manage is listed as a plain object: its apiVersion says where
        # (the kube backend asks discovery for its resource).
        plain_kind = {"api_version": mine[0].api_version} if handling(kind, mine[0].api_version) != "managed" else {}
        for namespace in scopes:
            try:
                live = seen.objects(kind, namespace) if (kind, namespace) in seen.by_kind else cluster.list(kind, namespace, **plain_kind)
            except Refused as err:  # the Role does not cover Ingresses, Istio is not installed: reported, the rest goes on
                for manifest in mine:
                    if namespace is None or manifest.namespace == namespace:
                        findings.append(refused_finding(manifest, err))
                        bad.add(manifest.ref)
                continue
            for obj in live:
                seen.live_by_key[object_key(obj)] = obj
    seen.findings, seen.bad = findings, bad  # (findings_of groups them on first use)
    # The state of the rollouts in this run only: one list per namespace they live in.
    seen.state_namespaces = sorted({m.namespace for m in rollouts if m.ref not in bad} - set(seen.denied))
    seen.states = store.load(namespaces=seen.state_namespaces) if store is not None else {}
    return seen


@dataclass
class Rollouts:
    """The Rollouts this run plans: their results (filled in by the later stages), the valid ones'
    desired state with their templates, and the analysis measurements taken for them."""

    results: dict[tuple[str, str], RolloutResult] = field(default_factory=dict)
    desired: dict[tuple[str, str], Desired] = field(default_factory=dict)
    measured: dict = field(default_factory=dict)

    def hold(self, reason: str) -> None:
        """None of them is planned this run (e.g. --timeout reached): each says why."""
        for key in self.desired:
            self.results[key].error = reason
        self.desired = {}


def rollouts(cluster, checked: Checked, seen: World, now: datetime, *, dry_run: bool, deadline, measure: bool = True) -> Rollouts:
    """Each Rollout's desired state (a workloadRef resolved against the world as applied), the
    templates the valid ones name, and their due measurements (skipped when `measure` is False)."""
    found = Rollouts()
    for manifest in checked.rollouts:
        key = (manifest.namespace, manifest.name)
        result = found.results[key] = RolloutResult(namespace=key[0], name=key[1], findings=seen.findings_of(manifest.ref))
        if manifest.ref in seen.bad:
            log.warning("invalid Rollout: nothing applied", extra={"rollout": key[1], "namespace": key[0], "action": "skip", "reason": "findings"})
            continue
        resolved, problem = workload.resolve(_unshared(manifest.obj), seen.find("Deployment", key[0], (workload.reference(manifest.obj) or {}).get("name")))
        if problem:  # the Deployment went away since validation: skipped with the finding, never an empty ReplicaSet
            result.findings.append(manifest.finding(("spec", "workloadRef", "name"), problem, hint="create the Deployment (in the source or the cluster), or give the Rollout a template", rule="workload-ref"))
            continue
        found.desired[key] = Desired(resolved, file=manifest.file, line=manifest.line)
        result.rollout = found.desired[key].rollout
    templates = _templates(checked.manifests, found.desired, cluster) if found.desired else {}
    for desired in found.desired.values():
        desired.templates = templates
    if measure:
        found.measured = _measure(seen.states, found.desired, cluster, now, dry_run=dry_run, deadline=deadline)
    return found


def live(cluster, seen: World, found: Rollouts, key: tuple[str, str], now: datetime, store) -> tuple[RolloutState, Live]:
    """What plan sees of one rollout: its recorded state, its objects, its measurements, and its
    pods when a restart is due."""
    from reconciler.engine.restart import pods_by_replicaset, wants_pods

    desired = found.desired[key]
    previous = RolloutState.from_dict(seen.states.get(key))
    result = seen.live_for(desired)
    result.measurements = found.measured.get(key, {})
    if wants_pods(desired.rollout, previous, now):  # spec.restartAt is due (engine/restart.py)
        if desired.namespace not in seen.pod_lists:
            seen.pod_lists[desired.namespace] = cluster.list("Pod", desired.namespace)
        result.pods = pods_by_replicaset(seen.pod_lists[desired.namespace], result.replicasets)
    unreadable = (getattr(store, "unreadable", None) or {}).get(key)
    if unreadable:
        result.extra["stateUnreadable"] = unreadable
    return previous, result


def reload_states(store, seen: World, found: Rollouts) -> set[tuple[str, str]]:
    """After a compare-and-swap conflict: the states again; the keys whose state another writer
    replaced (their measurements were taken against the old one and are dropped)."""
    fresh = store.load(namespaces=seen.state_namespaces)
    replaced = {key for key in set(fresh) | set(seen.states) if fresh.get(key) != seen.states.get(key)}
    for key in replaced:
        found.measured.pop(key, None)
    seen.states = fresh
    return replaced


def _templates(manifests, desired_by_key: dict, cluster) -> dict:
    """Templates from the repository; one that is only live is read with one list per kind and
    namespace, and only when a rollout names a template the repository lacks."""
    found = {}
    for m in manifests:
        if m.kind in _TEMPLATE_KINDS:
            found[(m.kind, None if m.kind == "ClusterAnalysisTemplate" else m.namespace, m.name)] = plain(m.obj)
    missing = set()
    for (namespace, _), desired in desired_by_key.items():
        for kind, name in template_refs(desired.rollout):
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
    from reconciler.analysis.schedule import due_measurements

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


def _unshared(obj: dict) -> dict:
    """The Rollout as the planner reads it. The loaded document itself when it is plain data with no
    YAML alias making one object of two places (the planner never writes to it: tests/argo_world.py
    checks); a plain copy otherwise. Copying every Rollout held a second copy of the source to the
    end of the run (issue 16: memory at 10,000 Rollouts)."""
    return obj if json_clean(obj, unshared=True) else plain(obj)
