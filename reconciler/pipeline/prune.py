"""Stage 8, prune (opt-in, `plan --prune` / `run --prune`): delete what this SOURCE applied earlier
and no longer holds. Runs last, after every apply, and only when the whole SOURCE loaded cleanly.

    scan(cluster, checked, world, options) -> Scanned      with --prune: every place SOURCE applied objects to
    decide(checked, world, scanned, options, *, timed_out) -> Pruning   pure: what goes, what stays and why
    delete(cluster, pruning, keeper, options) -> None      the deletes (never in a dry run)
    record(cluster, checked, world, scanned, pruning, options, applied=N) -> None   the places, for a later --prune

Where to look: the namespaces SOURCE names and the places this SOURCE applied objects to before
(reconciler/cluster/inventory.py: a ConfigMap in the Lease namespace), so an object is found after
SOURCE stopped holding any object of its kind, or of its namespace.

An object is pruned only when all of these hold (docs/kubernetes.md, "Pruning"):
- it carries the reconciler's `applied-hash` annotation and `applied-from` names this run's SOURCE
  (pipeline/plan.py writes both on everything it applies), so an object someone created by hand, or
  another SOURCE applied, is never a candidate;
- its (kind, namespace, name) is in no document of SOURCE, applied this run or not (a Secret left in
  SOURCE without --allow-secrets stays);
- it is namespaced, in a namespace SOURCE still names or applied to before, of a kind applied from Git: never a Rollout,
  a ReplicaSet, an AnalysisRun, an Experiment, a Pod or anything else the engine creates itself, nor a
  cluster-scoped object;
- no Rollout or Experiment of SOURCE names it (its Services, its traffic router's objects, its
  workloadRef Deployment, its analysis templates), and no VirtualService or DestinationRule that
  stays (in SOURCE, or kept so) routes to it as a Service: those are kept, and the plan says why.
A Rollout removed from SOURCE is not deleted and neither are its ReplicaSets: its pods keep running
and the plan lists it as left behind (deleting them is a person's decision).
Nothing is pruned when SOURCE has an error finding, holds no object at all, or the run hit --timeout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from reconciler.cluster import inventory
from reconciler.engine import workload
from reconciler.engine.model import Action
from reconciler.errors import ClusterError, Conflict
from reconciler.kinds import APPLIED_FROM_SOURCE, KINDS, handling, namespaced, object_key
from reconciler.pipeline.observe import World, owned_by
from reconciler.pipeline.options import RunOptions
from reconciler.pipeline.plan import APPLIED_FROM_ANNOTATION, APPLIED_HASH_ANNOTATION
from reconciler.pipeline.references import routing_keys, service_names, template_refs
from reconciler.pipeline.report import Pruning
from reconciler.pipeline.validation import Checked

log = logging.getLogger("reconciler")

# What the engine makes or reads itself: never pruned, whatever its annotations say.
NEVER_PRUNED = frozenset({"Rollout", "Experiment", "ReplicaSet", "AnalysisRun", "Pod", "Event", "Lease", "Namespace"})
# The kinds the engine manages from Git that can be pruned (namespaced ones; the kube backend's RBAC
# grants `delete` on exactly these: reconciler/cluster/kube.py API_CALLS, deploy/rbac.yaml).
PRUNABLE_MANAGED = frozenset(kind for kind in APPLIED_FROM_SOURCE if KINDS[kind].namespaced)


def owner_of(root) -> str:
    """The SOURCE identity when the caller gave none: the manifests' directory."""
    from pathlib import Path

    return str(Path(root).resolve())


@dataclass
class Scanned:
    """What --prune read beyond observe's lists."""

    objects: dict = field(default_factory=dict)  # object_key -> live object
    namespaces: set[str] = field(default_factory=set)  # namespaces listed beyond SOURCE's (from the inventory)
    unlisted: set = field(default_factory=set)  # recorded places the cluster would not list this run (kept recorded)
    inventory: inventory.Inventory | None = None


def _namespaces(seen: World) -> set[str]:
    """The namespaces SOURCE names that this run could read (observe listed Services in each)."""
    return {ns for (kind, ns) in seen.by_kind if kind == "Service"} - set(seen.denied)


def _scope(kind: str, api_version: str, namespace: str) -> inventory.Scope:
    return ("" if handling(kind, api_version) == "managed" else api_version, kind, namespace)


def source_scopes(checked: Checked) -> set[inventory.Scope]:
    """The places of what SOURCE applies: (apiVersion for a plain kind, "" for one the engine manages, kind, namespace)."""
    return {_scope(m.kind, m.api_version, m.namespace) for m in checked.applied if namespaced(m.kind) and m.kind not in NEVER_PRUNED}


def scan(cluster, checked: Checked, seen: World, options: RunOptions) -> Scanned:
    """With --prune, the lists observe did not already read: every prunable kind the engine manages and
    every plain kind SOURCE holds, in every namespace SOURCE names, and every place the inventory
    recorded. A kind the cluster does not serve (Istio not installed) or a namespace it will not list
    is skipped: nothing there is pruned this run."""
    scanned = Scanned()
    if not options.prune:
        return scanned
    scanned.inventory = inventory.read(cluster, options.lease_namespace, options.owner)
    recorded = {scope for scope in scanned.inventory.scopes if scope[1] not in NEVER_PRUNED and namespaced(scope[1])}
    source_ns = _namespaces(seen)
    every_ns = source_ns | {ns for _, _, ns in recorded}
    plain = {(api, kind) for api, kind, _ in source_scopes(checked) | recorded if api}
    wanted = {("", kind, ns) for kind in PRUNABLE_MANAGED for ns in every_ns} | {(api, kind, ns) for api, kind in plain for ns in every_ns}
    for api_version, kind, namespace in sorted(wanted, key=lambda s: (s[2], s[1], s[0])):
        if (kind, namespace) in seen.by_kind or (namespace in seen.denied):
            continue
        try:
            objects = cluster.list(kind, namespace, **({"api_version": api_version} if api_version else {}))
        except ClusterError as err:
            log.info("prune: %s in %s not listed (%s); none of them is pruned this run", kind, namespace, err.message,
                     extra={"namespace": namespace, "action": "skip", "reason": "not listed"})
            scanned.unlisted |= {scope for scope in recorded if scope[1:] == (kind, namespace)}
            continue
        if namespace not in source_ns:
            scanned.namespaces.add(namespace)
        for obj in objects:
            scanned.objects[object_key(obj)] = obj
    return scanned


def _protected(checked: Checked) -> dict[tuple, str]:
    """(kind, namespace, name) -> why it stays: which Rollout or Experiment of SOURCE still names it."""
    named: dict[tuple, str] = {}
    for manifest in checked.manifests:
        if manifest.kind not in ("Rollout", "Experiment") or not isinstance(manifest.obj, dict) or manifest.ref in checked.bad:
            continue  # an invalid one (a SOURCE with errors prunes nothing anyway) is not read as references
        ns, who = manifest.namespace, f"{manifest.kind} {manifest.namespace}/{manifest.name}"
        keys = [("Service", ns, name) for name in service_names(manifest.obj)]
        keys += [(kind, namespace or ns, name) for kind, namespace, name in routing_keys(manifest.obj)]
        keys += [(kind, ns, name) for kind, name in template_refs(manifest.obj) if kind == "AnalysisTemplate"]
        keys += [("AnalysisTemplate", ns, str(a["templateName"])) for a in _experiment_analyses(manifest) if a.get("templateName")]
        ref = workload.reference(manifest.obj) if manifest.kind == "Rollout" else None
        if ref is not None and ref.get("name"):
            keys.append(("Deployment", ns, str(ref["name"])))
        for key in keys:
            named.setdefault(key, f"{who} still names it")
    return named


def _routed_services(router: dict, namespace: str) -> set[tuple]:
    """The Services an Istio VirtualService routes to or a DestinationRule is for (`host`: `svc`,
    `svc.ns`, `svc.ns.svc.cluster.local`); other hosts (an external name) are no Service of ours."""
    raw = router.get("spec")
    spec: dict = raw if isinstance(raw, dict) else {}
    hosts = [spec.get("host")] if router.get("kind") == "DestinationRule" else [
        route["destination"].get("host")
        for section in ("http", "tls", "tcp") for rule in _items(spec.get(section)) if isinstance(rule, dict)
        for route in _items(rule.get("route")) if isinstance(route, dict) and isinstance(route.get("destination"), dict)]
    found = set()
    for host in hosts:
        parts = str(host or "").split(".")
        if parts[0] and (len(parts) <= 2 or parts[2:] in (["svc"], ["svc", "cluster", "local"])):
            found.add(("Service", parts[1] if len(parts) > 1 else namespace, parts[0]))
    return found


def _items(value) -> list:
    return value if isinstance(value, list) else []


def _protect_routed(checked: Checked, pool: dict, protected: dict[tuple, str]) -> None:
    """A Service a remaining router sends traffic to stays too: the routers of SOURCE, and those kept above."""
    routers = [(m.obj, m.namespace, f"{m.kind} {m.namespace}/{m.name}") for m in checked.manifests
               if m.kind in ("VirtualService", "DestinationRule") and isinstance(m.obj, dict) and m.ref not in checked.bad]
    routers += [(pool[key], key[1], f"{key[0]} {key[1]}/{key[2]} (kept too)")
                for key in list(protected) if key[0] in ("VirtualService", "DestinationRule") and key in pool]
    for obj, namespace, who in routers:
        for key in _routed_services(obj, namespace or "default"):
            protected.setdefault(key, f"{who} routes to it")


def _experiment_analyses(manifest) -> list[dict]:
    if manifest.kind != "Experiment":
        return []
    analyses = (manifest.obj.get("spec") or {}).get("analyses") if isinstance(manifest.obj.get("spec"), dict) else None
    return [a for a in analyses or [] if isinstance(a, dict) and not a.get("clusterScope")]


def _held_reason(checked: Checked, seen: World, options: RunOptions, timed_out: str) -> str:
    if options.shard is not None:
        return "--prune is not done with --shard: a shard does not see all of SOURCE"
    errors = sum(1 for f in list(checked.findings) + list(seen.findings) if f.is_error)
    if errors:
        return f"SOURCE has {errors} error finding(s): nothing is pruned until it loads cleanly (a broken file must not read as a deletion)"
    if not checked.manifests:
        return "SOURCE holds no object: nothing is pruned (an empty clone or a wrong --path must not delete everything)"
    if timed_out:
        return "the run stopped at its --timeout: nothing is pruned this run"
    return ""


def decide(checked: Checked, seen: World, scanned: Scanned, options: RunOptions, *, timed_out: str = "") -> Pruning:
    """What --prune deletes (or, without it, could delete: counted only). Pure: no I/O."""
    owner = options.owner
    pruning = Pruning(enabled=options.prune)
    # Manifest's kind/namespace/name are text whatever the YAML held (a hostile `name: !!set` stays hashable).
    in_source = {(m.kind, m.namespace if namespaced(m.kind) else None, m.name) for m in checked.manifests}
    protected = _protected(checked)
    pool = dict(seen.live_by_key)
    pool.update(scanned.objects)
    _protect_routed(checked, pool, protected)
    namespaces = _namespaces(seen) | scanned.namespaces
    for key in sorted(pool, key=lambda k: (k[1] or "", k[0], str(k[2]))):
        kind, namespace, name = key
        obj = pool[key]
        notes = (obj.get("metadata") or {}).get("annotations") or {}
        if (kind in NEVER_PRUNED or namespace is None or namespace not in namespaces or key in in_source
                or not notes.get(APPLIED_HASH_ANNOTATION) or notes.get(APPLIED_FROM_ANNOTATION) != owner):
            continue
        if key in protected:
            pruning.kept.append((f"{kind} {namespace}/{name}", f"no longer in SOURCE, but {protected[key]}"))
            continue
        pruning.deletes.append(Action("delete", kind, namespace, name, obj, None, "no longer in SOURCE (this SOURCE applied it earlier)"))
    if not options.prune:
        pruning.prunable, pruning.deletes, pruning.kept = len(pruning.deletes), [], []
        return pruning
    pruning.held = _held_reason(checked, seen, options, timed_out)
    if pruning.held:
        pruning.prunable, pruning.deletes = len(pruning.deletes), []
    rollouts = {(m.namespace, m.name) for m in checked.manifests if m.kind == "Rollout"}
    left: dict[tuple[str, str], int] = {}
    for (kind, namespace), objects in seen.by_kind.items():
        for rs in objects.values() if kind == "ReplicaSet" else ():
            rollout = owned_by(rs)
            if rollout and (namespace, rollout) not in rollouts:
                left[(namespace, rollout)] = left.get((namespace, rollout), 0) + 1
    pruning.left = [f"Rollout {ns}/{name} is no longer in SOURCE: its {count} ReplicaSet(s) are left running (--prune never deletes "
                    f"a Rollout's ReplicaSets; scale or delete them yourself)" for (ns, name), count in sorted(left.items())]
    return pruning


def delete(cluster, pruning: Pruning, keeper, options: RunOptions) -> None:
    """The deletes, each with the resourceVersion read (changed since: a conflict, retried next run)."""
    if options.dry_run or not pruning.enabled:
        return
    for action in pruning.deletes:
        if options.deadline.expired():
            pruning.errors.append(f"{options.deadline.describe()} reached while pruning: the rest is pruned by the next run")
            break
        keeper.keep()
        before = action.before or {}
        try:
            cluster.delete(action.kind, action.namespace, action.name, (before.get("metadata") or {}).get("resourceVersion"),
                           api_version=str(before.get("apiVersion") or ""))
        except Conflict as err:
            pruning.errors.append(f"could not prune {action.kind} {action.namespace}/{action.name}: {err} (the next run tries again)")
            continue
        except ClusterError as err:  # Refused, Forbidden: e.g. the Role does not grant `delete` on that kind
            pruning.errors.append(f"could not prune {action.kind} {action.namespace}/{action.name}: {err.message}"
                                  + (f" (hint: {err.hint})" if err.hint else ""))
            continue
        pruning.pruned.append(action)
        log.info(f"pruned {action.kind} {action.namespace}/{action.name}: no longer in SOURCE",
                 extra={"namespace": action.namespace, "action": "prune", "reason": "not in source"})


def record(cluster, checked: Checked, seen: World, scanned: Scanned, pruning: Pruning, options: RunOptions, *, applied: int) -> None:
    """Keep the inventory of places: a run that applied objects adds SOURCE's places; a --prune run
    that was not held keeps SOURCE's places, those where an object of this SOURCE is left, and those
    it could not list. A dry run writes nothing; a run that applied and pruned nothing reads nothing."""
    if options.dry_run:
        return
    places = source_scopes(checked)
    found = scanned.inventory
    if pruning.enabled and not pruning.held and found is not None and not found.problem:
        pruned = {(a.kind, a.namespace, a.name) for a in pruning.pruned}
        pool = dict(seen.live_by_key)
        pool.update(scanned.objects)
        for key, obj in pool.items():
            notes = (obj.get("metadata") or {}).get("annotations") or {}
            if key[1] and key not in pruned and notes.get(APPLIED_FROM_ANNOTATION) == options.owner and notes.get(APPLIED_HASH_ANNOTATION):
                places.add(_scope(key[0], str(obj.get("apiVersion") or ""), key[1]))
        inventory.write(cluster, found, places | scanned.unlisted, replace=True)
        return
    if applied:
        found = found if found is not None else inventory.read(cluster, options.lease_namespace, options.owner)
        if not found.problem:
            inventory.write(cluster, found, places)
