"""DESIGN rule 7, as a check on the live objects: no Service selector (stable, canary, active,
preview) and no route weight points at a ReplicaSet with no available pod while another revision
of the rollout has available pods.

    violations(cluster, rollout) -> ["Service web-stable selects 6b9c... (revision 1, 0 available) while ...", ...]

Route weights come from Istio VirtualServices in the rollout's namespace, when there are any: a
destination with weight > 0 whose host is one of the rollout's Services counts as pointing where
that Service's selector points, or, with a subset, where the DestinationRule's subset selects. `CheckingCluster` runs the check after every write of a run, so
the order of a run's writes is checked too (a selector moves away before the ReplicaSet it leaves
is scaled down): no write may create a violation, and none may remain after the run.
"""

from __future__ import annotations

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.engine.context import ROLLOUT_LABEL, rs_available, rs_hash, rs_revision

SERVICE_FIELDS = (("canary", "canaryService"), ("canary", "stableService"), ("blueGreen", "activeService"), ("blueGreen", "previewService"))


def service_names(rollout: dict) -> list[str]:
    strategy = ((rollout.get("spec") or {}).get("strategy")) or {}
    return [name for kind, field in SERVICE_FIELDS if (name := (strategy.get(kind) or {}).get(field))]


def _short(host: str, namespace: str) -> str:
    return host.split(".")[0] if host.endswith(f".{namespace}.svc.cluster.local") or "." not in host else host


def _route_weights(virtualservices: list[dict], namespace: str) -> list[tuple[str, str, str, int]]:
    """(VirtualService name, destination Service name, subset, weight) for every destination."""
    found = []
    for vs in virtualservices:
        for route in ((vs.get("spec") or {}).get("http")) or []:
            for dest in route.get("route") or []:
                destination = dest.get("destination") or {}
                weight = dest.get("weight")
                found.append((vs["metadata"]["name"], _short(str(destination.get("host") or ""), namespace), str(destination.get("subset") or ""),
                              100 if weight is None else int(weight)))
    return found


def _subset_hashes(destinationrules: list[dict], namespace: str) -> dict[tuple[str, str], str]:
    """(Service name, subset name) -> the pod-template hash the subset selects, from DestinationRules."""
    found = {}
    for rule in destinationrules:
        host = _short(str((rule.get("spec") or {}).get("host") or ""), namespace)
        for subset in (rule.get("spec") or {}).get("subsets") or []:
            pod_hash = (subset.get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL)
            if pod_hash:
                found[(host, str(subset.get("name")))] = pod_hash
    return found


def _list(cluster, kind: str, namespace: str) -> list[dict]:
    try:
        return cluster.list(kind, namespace)
    except Exception:  # a cluster without Istio's kinds
        return []


def _replicasets(cluster, rollout: dict) -> list[dict]:
    meta = rollout.get("metadata") or {}
    return [rs for rs in cluster.list("ReplicaSet", meta.get("namespace") or "default")
            if ((rs.get("metadata") or {}).get("labels") or {}).get(ROLLOUT_LABEL) == meta.get("name")]


def serving_hashes(cluster, rollout: dict) -> set[str]:
    return {rs_hash(rs) for rs in _replicasets(cluster, rollout) if rs_available(rs) > 0}


def violations(cluster, rollout: dict, known_serving: set[str] | None = None) -> list[str]:
    """`known_serving`: the hashes that had available pods when the run observed the cluster. Pods
    that became ready while the run wrote (the embedded kubelet makes them ready at once) were not
    known to it: only a revision the run saw serving makes pointing elsewhere a violation."""
    meta = rollout.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    replicasets = _replicasets(cluster, rollout)
    by_hash = {rs_hash(rs): rs for rs in replicasets}
    serving = {rs_revision(rs): rs_available(rs) for rs in replicasets if rs_available(rs) > 0
               and (known_serving is None or rs_hash(rs) in known_serving)}
    if not serving:
        return []  # nothing (known to the run) can serve: no revision to point at instead
    found = []

    def check(what: str, pod_hash: str) -> None:
        rs = by_hash.get(pod_hash)
        if rs is not None and rs_available(rs) > 0:
            return
        where = f"revision {rs_revision(rs)}, 0 available" if rs is not None else "no such ReplicaSet"
        found.append(f"{what} -> {pod_hash} ({where}) while revision(s) {sorted(serving)} have available pods")

    selectors = {}
    for service in service_names(rollout):
        svc = cluster.get("Service", namespace, service)
        pod_hash = (((svc or {}).get("spec") or {}).get("selector") or {}).get(POD_TEMPLATE_HASH_LABEL, "")
        selectors[service] = pod_hash
        if pod_hash:
            check(f"Service {service} selects", pod_hash)
    virtualservices = _list(cluster, "VirtualService", namespace)
    subsets = _subset_hashes(_list(cluster, "DestinationRule", namespace), namespace) if virtualservices else {}
    for vs_name, service, subset, weight in _route_weights(virtualservices, namespace):
        if weight <= 0:
            continue
        if subset and (service, subset) in subsets:
            check(f"VirtualService {vs_name} sends {weight}% to {service} subset {subset}, which selects", subsets[(service, subset)])
        elif selectors.get(service):
            check(f"VirtualService {vs_name} sends {weight}% to {service}, which selects", selectors[service])
    return found


class CheckingCluster:
    """A cluster that checks the invariant after each ReplicaSet, Service or VirtualService write,
    so a run's intermediate states count too. `found` collects (write number, violation)."""

    def __init__(self, inner, rollout: dict):
        self._inner = inner
        self._rollout = rollout
        self.known_serving = serving_hashes(inner, rollout)  # what the run will observe
        # Already there when the run starts (pods that became ready during the previous run's
        # writes): the run must repair them, and a write between is not blamed for them.
        self.inherited = set(violations(inner, rollout, self.known_serving))
        self.found: list[str] = []
        self.checked_writes = 0

    def __getattr__(self, attr):
        return getattr(self._inner, attr)

    def _after(self, obj: dict, verb: str) -> None:
        if obj.get("kind") in ("ReplicaSet", "Service", "VirtualService", "DestinationRule"):
            self.checked_writes += 1
            for problem in violations(self._inner, self._rollout, self.known_serving):
                if problem in self.inherited:
                    continue
                self.found.append(f"after {verb} {obj.get('kind')} {obj['metadata'].get('name')}: {problem}")

    def create(self, obj: dict) -> dict:
        stored = self._inner.create(obj)
        self._after(obj, "create")
        return stored

    def replace(self, obj: dict) -> dict:
        stored = self._inner.replace(obj)
        self._after(obj, "replace")
        return stored
