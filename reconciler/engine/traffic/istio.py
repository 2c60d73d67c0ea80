"""Istio: VirtualService weights (host-level or DestinationRule subset-level), header and mirror
routes. Pure edits of plain dicts; see base.py for the interface.

What the router manages, and nothing else:
- in each managed route (`routes` by name, `tlsRoutes` by port/SNI, `tcpRoutes` by port; a lone
  route when none is named), the `weight` of the destinations whose host is the stableService /
  canaryService (host-level) or whose subset is the stable / canary subset (DestinationRule);
- in the DestinationRule, the `rollouts-pod-template-hash` label of the stable and canary subsets;
- the HTTP routes named in `trafficRouting.managedRoutes` (setHeaderRoute / setMirrorRoute steps).
Every other route, destination and field is left as it is. What it wrote is recorded in
annotations with the reconciler's prefix, so the next run tells someone else's change (drift)
from its own intent.

istio_objects.py reads the objects and the annotations; istio_carry_over.py keeps the managed
fields when Git's copy of an object is applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.engine.state import plain_copy
from reconciler.engine.traffic import istio_managed_routes as managed_routes
from reconciler.engine.traffic.base import Readback
from reconciler.engine.traffic.istio_objects import (
    EXTRA,
    SUBSETS,
    WEIGHTS,
    DrRef,
    VsRef,
    as_int,
    host_of,
    mark_recorded,
    recorded_annotation,
    recorded_hosts,
    short_host,
    split_name,
    subsets_of,
    tcp_matches,
    tls_matches,
)


@dataclass
class IstioRouter:
    virtual_services: list[VsRef]
    destination_rule: DrRef | None
    canary_service: str
    stable_service: str
    namespace: str
    owner: str = ""  # "<namespace>/<rollout>", written in MANAGED_BY
    managed_routes: list[str] = field(default_factory=list)
    total: int = 100
    name: str = "istio"

    @classmethod
    def from_spec(cls, traffic_routing: dict, canary_service: str, stable_service: str, namespace: str) -> IstioRouter:
        istio = traffic_routing.get("istio") or {}
        refs = []
        listed = [istio["virtualService"]] if isinstance(istio.get("virtualService"), dict) else []
        listed += [vs for vs in istio.get("virtualServices") or [] if isinstance(vs, dict)]
        for vs in listed:
            if not isinstance(vs.get("name"), str) or not vs["name"]:
                continue
            name, ns = split_name(vs["name"], namespace)
            refs.append(VsRef(name, ns, [str(r) for r in vs.get("routes") or []], list(vs.get("tlsRoutes") or []), list(vs.get("tcpRoutes") or [])))
        dr = istio.get("destinationRule")
        dr_ref = None
        if isinstance(dr, dict) and isinstance(dr.get("name"), str):
            name, ns = split_name(dr["name"], namespace)
            dr_ref = DrRef(name, ns, str(dr.get("stableSubsetName") or ""), str(dr.get("canarySubsetName") or ""))
        managed = [str(r.get("name")) for r in traffic_routing.get("managedRoutes") or [] if isinstance(r, dict) and r.get("name")]
        total = as_int(traffic_routing.get("maxTrafficWeight"), 100) or 100
        return cls(refs, dr_ref, canary_service, stable_service, namespace, managed_routes=managed, total=total)

    # -- what observe reads ---------------------------------------------------------------------

    def object_keys(self) -> list[tuple]:
        keys = [vs.key for vs in self.virtual_services]
        if self.destination_rule is not None:
            keys.append(self.destination_rule.key)
        return keys

    # -- destinations and routes ------------------------------------------------------------------

    def role(self, entry) -> str:
        """"canary", "stable" or "" for one route destination entry ({destination, weight})."""
        dest = (entry.get("destination") if isinstance(entry, dict) else None) or {}
        if self.destination_rule is not None:
            subset = dest.get("subset")
            if subset and subset == self.destination_rule.canary_subset:
                return "canary"
            if subset and subset == self.destination_rule.stable_subset:
                return "stable"
            return ""
        host = short_host(dest.get("host"))
        if self.canary_service and host == self.canary_service:
            return "canary"
        if self.stable_service and host == self.stable_service:
            return "stable"
        return ""

    def managed_paths(self, vs_obj: dict, ref: VsRef) -> tuple[list[tuple[str, int, str]], list[str]]:
        """([(section, index, record key)], problems): the routes whose weights this router sets.
        Header/mirror routes (managedRoutes) are never weight routes, except mirror routes Argo
        keeps in step with the weights."""
        spec = vs_obj.get("spec") if isinstance(vs_obj.get("spec"), dict) else {}
        paths: list[tuple[str, int, str]] = []
        problems: list[str] = []
        http = spec.get("http") if isinstance(spec.get("http"), list) else []
        if http:
            names = [r.get("name") if isinstance(r, dict) else None for r in http]
            if ref.routes:
                for wanted in ref.routes:
                    if wanted in names:
                        index = names.index(wanted)
                        paths.append(("http", index, f"http/{wanted}"))
                    else:
                        listed = ", ".join(str(n) for n in names if n) or "none named"
                        problems.append(f"VirtualService {ref.namespace}/{ref.name} has no HTTP route named `{wanted}` (its HTTP routes: {listed})")
            else:
                candidates = [i for i, n in enumerate(names) if n not in self.managed_routes]
                if len(candidates) == 1:
                    index = candidates[0]
                    paths.append(("http", index, f"http/{names[index] or index}"))
                elif len(candidates) > 1:
                    problems.append(f"VirtualService {ref.namespace}/{ref.name} has {len(candidates)} HTTP routes; name the ones the rollout manages in `routes`")
            for index, name in enumerate(names):  # mirror routes follow the weights (as Argo does)
                if name in self.managed_routes and isinstance(http[index], dict) and http[index].get("mirror") is not None:
                    paths.append(("http", index, f"http/{name}"))
        for section, wanted_list, matcher in (("tls", ref.tls_routes, tls_matches), ("tcp", ref.tcp_routes, tcp_matches)):
            routes = spec.get(section) if isinstance(spec.get(section), list) else []
            if not routes:
                if wanted_list:
                    problems.append(f"VirtualService {ref.namespace}/{ref.name} has no {section.upper()} routes, but the rollout names {section}Routes")
                continue
            if wanted_list:
                for wanted in wanted_list:
                    found = [i for i, r in enumerate(routes) if isinstance(r, dict) and matcher(wanted, r)]
                    if not found:
                        problems.append(f"VirtualService {ref.namespace}/{ref.name} has no {section.upper()} route matching {json.dumps(wanted, sort_keys=True)}")
                    paths.extend((section, i, f"{section}/{i}") for i in found)
            elif len(routes) == 1:
                paths.append((section, 0, f"{section}/0"))
            else:
                problems.append(f"VirtualService {ref.namespace}/{ref.name} has {len(routes)} {section.upper()} routes; say which with `{section}Routes`")
        if not paths and not problems:
            problems.append(f"VirtualService {ref.namespace}/{ref.name} has no HTTP, TLS or TCP route for the rollout to manage")
        for section, index, key in paths:
            route = spec[section][index]
            destinations = route.get("route") if isinstance(route, dict) and isinstance(route.get("route"), list) else []
            roles = {self.role(d) for d in destinations}
            for wanted in ("stable", "canary"):
                if wanted not in roles:
                    problems.append(f"VirtualService {ref.namespace}/{ref.name} route {key}: no destination for the {wanted} {self._what(wanted)}")
        return paths, problems

    def _what(self, role: str) -> str:
        if self.destination_rule is not None:
            return f"subset `{self.destination_rule.canary_subset if role == 'canary' else self.destination_rule.stable_subset}`"
        return f"Service `{self.canary_service if role == 'canary' else self.stable_service}`"

    # -- read back --------------------------------------------------------------------------------

    def read_back(self, objects: dict) -> Readback:
        result = Readback(total=self.total)
        if not self.virtual_services:
            return Readback(total=self.total, problem="TrafficRoutingError: trafficRouting.istio names no VirtualService", status="Degraded")
        weights: list[tuple[str, int]] = []
        degraded: list[str] = []
        changed: list[str] = []
        for ref in self.virtual_services:
            vs = objects.get(ref.key)
            if vs is None:
                degraded.append(f"VirtualService {ref.namespace}/{ref.name} not found")
                continue
            paths, problems = self.managed_paths(vs, ref)
            degraded.extend(problems)
            recorded = recorded_annotation(vs, WEIGHTS)
            for section, index, key in paths:
                canary, stable, others, total = _route_weights(self, vs["spec"][section][index])
                label = f"VirtualService {ref.namespace}/{ref.name} route {key}"
                weights.append((label, canary))
                if key in recorded and as_int(recorded[key], -1) != canary:
                    changed.append(f"{label}: canary weight is {canary}, the reconciler set {recorded[key]} (changed outside the reconciler)")
                if total != self.total:
                    changed.append(f"{label}: weights sum to {total}, not {self.total}")
        dr = self.destination_rule
        if dr is not None:
            obj = objects.get(dr.key)
            if obj is None:
                degraded.append(f"DestinationRule {dr.namespace}/{dr.name} not found")
            else:
                subsets = subsets_of(obj)
                for subset in (dr.stable_subset, dr.canary_subset):
                    if subset not in subsets:
                        degraded.append(f"DestinationRule {dr.namespace}/{dr.name} has no subset `{subset}`")
                recorded = recorded_annotation(obj, SUBSETS)
                for role, subset in (("stable", dr.stable_subset), ("canary", dr.canary_subset)):
                    live = ((subsets.get(subset) or {}).get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL)
                    if role in recorded and subset in subsets and live != recorded[role]:
                        changed.append(f"DestinationRule {dr.namespace}/{dr.name} subset {subset}: selects {live or 'no hash'}, the reconciler set {recorded[role]} (changed outside the reconciler)")
        result.extra = self.extra_weights(objects)
        if weights:
            result.weight = weights[0][1]
            distinct = sorted({w for _, w in weights})
            if len(distinct) > 1:
                changed.append("managed routes disagree: " + ", ".join(f"{label} {w}" for label, w in weights))
        if degraded:
            result.problem, result.status, result.details = "TrafficRoutingError: " + "; ".join(degraded), "Degraded", degraded
        elif changed:
            result.problem, result.status, result.details = "TrafficRoutingChanged: " + "; ".join(changed), "Paused", changed
        return result

    # -- edits ------------------------------------------------------------------------------------

    def set_weight(self, objects: dict, weight: int, canary_hash: str, stable_hash: str, extra: list[dict] | tuple = ()) -> dict:
        """The edited VirtualServices (canary `weight`, stable total - weight on every managed route)
        and DestinationRule (subset hashes). Only objects whose content changes are returned.
        `extra`: an experiment step's [{"service", "weight"}]: each Service becomes a destination of
        every managed route with its weight (host-level, as Argo adds them, seed 002 figure 7), the
        stable's weight shrinks so the route still sums to the total; destinations added for an
        earlier experiment (recorded in EXTRA) are removed."""
        weight = max(0, min(self.total, int(weight)))
        extra = [e for e in extra or () if e.get("service") and int(e.get("weight") or 0) >= 0]
        extra_total = sum(int(e["weight"]) for e in extra)
        weight = min(weight, self.total - extra_total)
        edited: dict = {}
        dr = self.destination_rule
        if dr is not None and objects.get(dr.key) is not None:
            after = self.set_subset_hashes(objects[dr.key], canary_hash, stable_hash)
            if after != objects[dr.key]:
                edited[dr.key] = after
        for ref in self.virtual_services:
            vs = objects.get(ref.key)
            if vs is None:
                continue
            after = plain_copy(vs)
            paths, _ = self.managed_paths(after, ref)
            recorded = {}
            added_before = set(recorded_hosts(vs, EXTRA))
            for section, index, key in paths:
                route = after["spec"][section][index]
                entries = [e for e in route.get("route") or [] if not (self.role(e) == "" and host_of(e) in added_before)]
                for entry in entries:
                    role = self.role(entry)
                    if role == "canary":
                        entry["weight"] = weight
                    elif role == "stable":
                        entry["weight"] = self.total - weight - extra_total
                for wanted in extra:
                    entries.append({"destination": self._extra_destination(route, wanted["service"]), "weight": int(wanted["weight"])})
                route["route"] = entries
                recorded[key] = weight
            mark_recorded(after, self.owner, WEIGHTS, recorded)
            annotations = after["metadata"]["annotations"]
            if extra:
                annotations[EXTRA] = json.dumps(sorted({e["service"] for e in extra}), separators=(",", ":"))
            else:
                annotations.pop(EXTRA, None)
            if after != vs:
                edited[ref.key] = after
        return edited

    def _extra_destination(self, route: dict, service: str) -> dict:
        """An experiment Service as a destination of `route`: the host, and the port the canary's
        destination names, if any."""
        dest: dict = {"host": service}
        for entry in route.get("route") or []:
            port = ((entry.get("destination") or {}).get("port") if isinstance(entry, dict) else None)
            if self.role(entry) == "canary" and port:
                dest["port"] = plain_copy(port)
        return dest

    def extra_weights(self, objects: dict) -> dict[str, int]:
        """Service -> weight of the experiment destinations in the first managed route, as read back."""
        for ref in self.virtual_services:
            vs = objects.get(ref.key)
            if vs is None:
                continue
            added = set(recorded_hosts(vs, EXTRA))
            paths, _ = self.managed_paths(vs, ref)
            for section, index, _ in paths:
                return {host_of(e): as_int(e.get("weight")) for e in vs["spec"][section][index].get("route") or []
                        if isinstance(e, dict) and self.role(e) == "" and host_of(e) in added}
        return {}

    def set_subset_hashes(self, dr_obj: dict, canary_hash: str, stable_hash: str) -> dict:
        dr = self.destination_rule
        after = plain_copy(dr_obj)
        recorded = {}
        for subset in (after.get("spec") or {}).get("subsets") or []:
            if not isinstance(subset, dict):
                continue
            for role, name, pod_hash in (("stable", dr.stable_subset, stable_hash), ("canary", dr.canary_subset, canary_hash)):
                if subset.get("name") == name and pod_hash:
                    labels = subset.get("labels") if isinstance(subset.get("labels"), dict) else {}
                    labels[POD_TEMPLATE_HASH_LABEL] = pod_hash
                    subset["labels"] = labels
                    recorded[role] = pod_hash
        mark_recorded(after, self.owner, SUBSETS, recorded)
        return after

    # -- header and mirror routes (istio_managed_routes.py) ---------------------------------------

    def set_header_route(self, objects: dict, step: dict) -> dict:
        return managed_routes.set_header_route(self, objects, step)

    def set_mirror_route(self, objects: dict, step: dict) -> dict:
        return managed_routes.set_mirror_route(self, objects, step)

    def remove_managed_routes(self, objects: dict) -> dict:
        return managed_routes.remove_managed_routes(self, objects)

    def has_route(self, objects: dict, name: str) -> bool:
        return managed_routes.has_route(self, objects, name)


def _route_weights(router: IstioRouter, route: dict) -> tuple[int, int, int, int]:
    """(canary, stable, other, total) weight of one route. A lone destination without a weight
    takes all traffic (Istio's rule)."""
    destinations = [d for d in (route.get("route") or []) if isinstance(d, dict)]
    canary = stable = other = 0
    for entry in destinations:
        weight = as_int(entry.get("weight"), 0) if entry.get("weight") is not None else (router.total if len(destinations) == 1 else 0)
        role = router.role(entry)
        if role == "canary":
            canary = max(canary, weight)
        elif role == "stable":
            stable = max(stable, weight)
        else:
            other += weight
    return canary, stable, other, canary + stable + other
