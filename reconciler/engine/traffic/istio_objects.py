"""Istio objects as the router reads them: VirtualService and DestinationRule references
(`name` or `name.namespace`), the TLS/TCP route matching Argo uses, destinations' hosts and
subsets, and the annotations in which the reconciler records what it wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from reconciler import PREFIX

MANAGED_BY = f"{PREFIX}/managed-by"  # "<rollout namespace>/<rollout name>"
WEIGHTS = f"{PREFIX}/canary-weights"  # JSON {"http/primary": 20, "tls/0": 20}: canary weight written per route
SUBSETS = f"{PREFIX}/subset-hashes"  # JSON {"stable": hash, "canary": hash} written on the DestinationRule
ROUTES = f"{PREFIX}/managed-routes"  # JSON {"canary-header": "header"}: routes the engine inserted (setHeaderRoute/setMirrorRoute)
EXTRA = f"{PREFIX}/experiment-destinations"  # JSON ["svc", ...]: the experiment Services it added to the routes
MANAGED_ANNOTATIONS = (MANAGED_BY, WEIGHTS, SUBSETS, ROUTES, EXTRA)


def split_name(name: str, namespace: str) -> tuple[str, str]:
    """Argo accepts `name` or `name.namespace` for Istio objects."""
    if "." in name:
        short, _, other = name.partition(".")
        return short, other
    return name, namespace


def short_host(host) -> str:
    """`svc`, `svc.ns`, `svc.ns.svc.cluster.local` all name Service `svc` (as Argo compares them)."""
    return str(host or "").split(".", 1)[0]


@dataclass
class VsRef:
    name: str
    namespace: str
    routes: list[str] = field(default_factory=list)
    tls_routes: list[dict] = field(default_factory=list)
    tcp_routes: list[dict] = field(default_factory=list)

    @property
    def key(self) -> tuple:
        return ("VirtualService", self.namespace, self.name)


@dataclass
class DrRef:
    name: str
    namespace: str
    stable_subset: str
    canary_subset: str

    @property
    def key(self) -> tuple:
        return ("DestinationRule", self.namespace, self.name)


def as_int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def tls_matches(wanted: dict, route: dict) -> bool:
    """Argo's rule: the route's matches use exactly one port, equal to `port`, and their SNI hosts
    equal `sniHosts` (as sets)."""
    ports: set[int | None] = set()
    sni: set[str] = set()
    for match in route.get("match") or []:
        if isinstance(match, dict):
            ports.add(as_int(match.get("port")))
            sni.update(str(h) for h in match.get("sniHosts") or [])
    if len(ports) > 1:
        return False
    port = next(iter(ports), 0)
    return port == as_int(wanted.get("port")) and sni == {str(h) for h in wanted.get("sniHosts") or []}


def tcp_matches(wanted: dict, route: dict) -> bool:
    ports = {as_int(m.get("port")) for m in route.get("match") or [] if isinstance(m, dict)}
    if len(ports) > 1:
        return False
    return next(iter(ports), 0) == as_int(wanted.get("port"))


def subsets_of(dr_obj: dict) -> dict:
    return {s.get("name"): s for s in ((dr_obj.get("spec") or {}).get("subsets") or []) if isinstance(s, dict)}


def host_of(entry) -> str:
    return short_host(((entry.get("destination") if isinstance(entry, dict) else None) or {}).get("host"))


def recorded_hosts(obj: dict, annotation: str) -> list[str]:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(annotation)
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [short_host(v) for v in value] if isinstance(value, list) else []


def recorded_annotation(obj: dict, annotation: str) -> dict:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(annotation)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def mark_recorded(obj: dict, owner: str, annotation: str, recorded: dict) -> None:
    """Record in `annotation` of `obj` what the router wrote (and, given an owner, whose it is)."""
    annotations = obj.setdefault("metadata", {}).setdefault("annotations", {})
    if annotations is None:
        annotations = obj["metadata"]["annotations"] = {}
    if owner:
        annotations[MANAGED_BY] = owner
    annotations[annotation] = json.dumps(recorded, sort_keys=True, separators=(",", ":"))
