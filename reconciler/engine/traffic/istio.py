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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from reconciler import POD_TEMPLATE_HASH_LABEL, PREFIX
from reconciler.engine.state import plain_copy
from reconciler.engine.traffic.base import Readback

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


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


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
        total = _int(traffic_routing.get("maxTrafficWeight"), 100) or 100
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
        for section, wanted_list, matcher in (("tls", ref.tls_routes, _tls_matches), ("tcp", ref.tcp_routes, _tcp_matches)):
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
            recorded = _recorded(vs, WEIGHTS)
            for section, index, key in paths:
                canary, stable, others, total = _route_weights(self, vs["spec"][section][index])
                label = f"VirtualService {ref.namespace}/{ref.name} route {key}"
                weights.append((label, canary))
                if key in recorded and _int(recorded[key], -1) != canary:
                    changed.append(f"{label}: canary weight is {canary}, the reconciler set {recorded[key]} (changed outside the reconciler)")
                if total != self.total:
                    changed.append(f"{label}: weights sum to {total}, not {self.total}")
        dr = self.destination_rule
        if dr is not None:
            obj = objects.get(dr.key)
            if obj is None:
                degraded.append(f"DestinationRule {dr.namespace}/{dr.name} not found")
            else:
                subsets = _subsets(obj)
                for subset in (dr.stable_subset, dr.canary_subset):
                    if subset not in subsets:
                        degraded.append(f"DestinationRule {dr.namespace}/{dr.name} has no subset `{subset}`")
                recorded = _recorded(obj, SUBSETS)
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
            added_before = set(_recorded_list(vs, EXTRA))
            for section, index, key in paths:
                route = after["spec"][section][index]
                entries = [e for e in route.get("route") or [] if not (self.role(e) == "" and _host_of(e) in added_before)]
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
            self._mark(after, WEIGHTS, recorded)
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
            added = set(_recorded_list(vs, EXTRA))
            paths, _ = self.managed_paths(vs, ref)
            for section, index, _ in paths:
                return {_host_of(e): _int(e.get("weight")) for e in vs["spec"][section][index].get("route") or []
                        if isinstance(e, dict) and self.role(e) == "" and _host_of(e) in added}
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
        self._mark(after, SUBSETS, recorded)
        return after

    def _mark_routes(self, after: dict, before: dict, name: str, kind: str | None) -> None:
        """Record which HTTP routes the engine inserted, so a Git apply of the VirtualService keeps
        them (carry_managed_fields) instead of removing them and the next run adding them back."""
        recorded = dict(_recorded(before, ROUTES))
        if kind:
            recorded[name] = kind
        else:
            recorded.pop(name, None)
        if recorded or ROUTES in ((before.get("metadata") or {}).get("annotations") or {}):
            self._mark(after, ROUTES, recorded)

    def _mark(self, obj: dict, annotation: str, recorded: dict) -> None:
        annotations = obj.setdefault("metadata", {}).setdefault("annotations", {})
        if annotations is None:
            annotations = obj["metadata"]["annotations"] = {}
        if self.owner:
            annotations[MANAGED_BY] = self.owner
        annotations[annotation] = json.dumps(recorded, sort_keys=True, separators=(",", ":"))

    def set_header_route(self, objects: dict, step: dict) -> dict:
        """setHeaderRoute: an HTTP route (named in managedRoutes) sending requests whose headers
        match to the canary, ahead of the weighted routes; no `match` removes it (as in Argo)."""
        spec = step.get("setHeaderRoute") or {}

        def header_route(after: dict, ref, http: list) -> None:
            matches = []
            for match in spec.get("match") or []:
                value = {k: v for k, v in (match.get("headerValue") or {}).items() if k in ("exact", "regex", "prefix") and v}
                matches.append({"headers": {str(match.get("headerName")): value}})
            http.append({"name": str(spec.get("name") or ""), "match": matches, "route": [self._canary_destination(after, ref, 100)]})

        return self._edit_managed_route(objects, spec, "header", header_route)

    def set_mirror_route(self, objects: dict, step: dict) -> dict:
        """setMirrorRoute: an HTTP route (named in managedRoutes) for the matching requests that keeps
        the primary route's destinations and weights and mirrors `percentage` of them to the
        canary; no `match` removes it (as in Argo)."""
        spec = step.get("setMirrorRoute") or {}

        def mirror_route(after: dict, ref, http: list) -> None:
            matches = []
            for match in spec.get("match") or []:
                istio_match = {}
                for source, target in (("method", "method"), ("path", "uri"), ("headers", "headers")):
                    if match.get(source):
                        istio_match[target] = plain_copy(match[source])
                matches.append(istio_match)
            paths, _ = self.managed_paths({"spec": {"http": http}}, ref)
            primary = next((http[i] for section, i, _ in paths if section == "http"), None)
            destinations = plain_copy((primary or {}).get("route") or [])
            mirror = dict(self._canary_destination(after, ref, 0)["destination"])
            percentage = spec.get("percentage")
            http.insert(0, {
                "name": str(spec.get("name") or ""),
                "match": matches,
                "route": destinations,
                "mirror": mirror,
                "mirrorPercentage": {"value": 100 if percentage is None else _int(percentage, 100)},
            })

        return self._edit_managed_route(objects, spec, "mirror", mirror_route)

    def _edit_managed_route(self, objects: dict, spec: dict, role: str, add_route) -> dict:
        """Replace the managed route `spec.name` in every VirtualService: removed, then (when the
        step has a `match`) added again by `add_route(after, ref, http)`; the routes re-ordered
        and recorded as ours."""
        name = str(spec.get("name") or "")
        edited = {}
        for ref in self.virtual_services:
            vs = objects.get(ref.key)
            if vs is None or not isinstance((vs.get("spec") or {}).get("http"), list):
                continue
            after = plain_copy(vs)
            http = [r for r in after["spec"]["http"] if not (isinstance(r, dict) and r.get("name") == name)]
            if spec.get("match"):
                add_route(after, ref, http)
            after["spec"]["http"] = self._ordered(http)
            self._mark_routes(after, vs, name, role if spec.get("match") else None)
            if after != vs:
                edited[ref.key] = after
        return edited

    def remove_managed_routes(self, objects: dict) -> dict:
        edited: dict = {}
        if not self.managed_routes:
            return edited
        for ref in self.virtual_services:
            vs = objects.get(ref.key)
            http = (vs or {}).get("spec", {}).get("http") if vs else None
            if not isinstance(http, list):
                continue
            kept = [r for r in http if not (isinstance(r, dict) and r.get("name") in self.managed_routes)]
            if len(kept) != len(http):
                after = plain_copy(vs)
                after["spec"]["http"] = kept
                if ROUTES in ((after.get("metadata") or {}).get("annotations") or {}):
                    self._mark(after, ROUTES, {})
                edited[ref.key] = after
        return edited

    def has_route(self, objects: dict, name: str) -> bool:
        """Every VirtualService (with HTTP routes) has the managed route `name`."""
        found = []
        for ref in self.virtual_services:
            http = ((objects.get(ref.key) or {}).get("spec") or {}).get("http")
            if isinstance(http, list):
                found.append(any(isinstance(r, dict) and r.get("name") == name for r in http))
        return bool(found) and all(found)

    def _canary_destination(self, vs: dict, ref: VsRef, weight: int) -> dict:
        """The canary destination as the managed route names it (host, subset, port)."""
        paths, _ = self.managed_paths(vs, ref)
        for section, index, _ in paths:
            for entry in vs["spec"][section][index].get("route") or []:
                if self.role(entry) == "canary":
                    return {"destination": plain_copy(entry.get("destination") or {}), "weight": weight}
        dest = {"host": self.canary_service}
        if self.destination_rule is not None:
            dest["subset"] = self.destination_rule.canary_subset
        return {"destination": dest, "weight": weight}

    def _ordered(self, http: list) -> list:
        """Managed routes first, in managedRoutes order, then every other route as it was."""
        managed = {r.get("name"): r for r in http if isinstance(r, dict) and r.get("name") in self.managed_routes}
        rest = [r for r in http if not (isinstance(r, dict) and r.get("name") in self.managed_routes)]
        return [managed[n] for n in self.managed_routes if n in managed] + rest


def _tls_matches(wanted: dict, route: dict) -> bool:
    """Argo's rule: the route's matches use exactly one port, equal to `port`, and their SNI hosts
    equal `sniHosts` (as sets)."""
    ports: set[int | None] = set()
    sni: set[str] = set()
    for match in route.get("match") or []:
        if isinstance(match, dict):
            ports.add(_int(match.get("port")))
            sni.update(str(h) for h in match.get("sniHosts") or [])
    if len(ports) > 1:
        return False
    port = next(iter(ports), 0)
    return port == _int(wanted.get("port")) and sni == {str(h) for h in wanted.get("sniHosts") or []}


def _tcp_matches(wanted: dict, route: dict) -> bool:
    ports = {_int(m.get("port")) for m in route.get("match") or [] if isinstance(m, dict)}
    if len(ports) > 1:
        return False
    return next(iter(ports), 0) == _int(wanted.get("port"))


def _route_weights(router: IstioRouter, route: dict) -> tuple[int, int, int, int]:
    """(canary, stable, other, total) weight of one route. A lone destination without a weight
    takes all traffic (Istio's rule)."""
    destinations = [d for d in (route.get("route") or []) if isinstance(d, dict)]
    canary = stable = other = 0
    for entry in destinations:
        weight = _int(entry.get("weight"), 0) if entry.get("weight") is not None else (router.total if len(destinations) == 1 else 0)
        role = router.role(entry)
        if role == "canary":
            canary = max(canary, weight)
        elif role == "stable":
            stable = max(stable, weight)
        else:
            other += weight
    return canary, stable, other, canary + stable + other


def _subsets(dr_obj: dict) -> dict:
    return {s.get("name"): s for s in ((dr_obj.get("spec") or {}).get("subsets") or []) if isinstance(s, dict)}


def _host_of(entry) -> str:
    return short_host(((entry.get("destination") if isinstance(entry, dict) else None) or {}).get("host"))


def _recorded_list(obj: dict, annotation: str) -> list[str]:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(annotation)
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [short_host(v) for v in value] if isinstance(value, list) else []


def _recorded(obj: dict, annotation: str) -> dict:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(annotation)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def carry_managed_fields(kind: str, live: dict | None, desired: dict) -> dict:
    """A VirtualService / DestinationRule from the source is applied over a live one the reconciler
    manages: keep the fields it manages (weights, subset hashes, header/mirror routes, its
    annotations) from the live object, so a person's edit in Git never resets a canary's traffic."""
    if not live or kind not in ("VirtualService", "DestinationRule"):
        return desired
    live_ann = (live.get("metadata") or {}).get("annotations") or {}
    if not any(a in live_ann for a in MANAGED_ANNOTATIONS):
        return desired
    after = plain_copy(desired)
    ann = after.setdefault("metadata", {}).setdefault("annotations", {})
    for a in MANAGED_ANNOTATIONS:
        if a in live_ann:
            ann[a] = live_ann[a]
    if kind == "DestinationRule":
        live_subsets = _subsets(live)
        for subset in (after.get("spec") or {}).get("subsets") or []:
            pod_hash = (((live_subsets.get(subset.get("name")) or {}).get("labels")) or {}).get(POD_TEMPLATE_HASH_LABEL) if isinstance(subset, dict) else None
            if pod_hash:
                subset.setdefault("labels", {})[POD_TEMPLATE_HASH_LABEL] = pod_hash
        return after
    spec, live_spec = after.get("spec") or {}, live.get("spec") or {}
    for key in _recorded(live, WEIGHTS):
        section, _, which = key.partition("/")
        mine, theirs = spec.get(section), live_spec.get(section)
        if not isinstance(mine, list) or not isinstance(theirs, list):
            continue
        pick = _route_picker(which)
        m, t = pick(mine), pick(theirs)
        if m is None or t is None:
            continue
        live_weights = {_dest_key(d): d.get("weight") for d in t.get("route") or [] if isinstance(d, dict)}
        for entry in m.get("route") or []:
            if isinstance(entry, dict) and _dest_key(entry) in live_weights and live_weights[_dest_key(entry)] is not None:
                entry["weight"] = live_weights[_dest_key(entry)]
        added = set(_recorded_list(live, EXTRA))  # an experiment's destinations stay while it runs
        mine_keys = {_dest_key(d) for d in m.get("route") or [] if isinstance(d, dict)}
        for entry in t.get("route") or []:
            if isinstance(entry, dict) and _host_of(entry) in added and _dest_key(entry) not in mine_keys and isinstance(m.get("route"), list):
                m["route"].append(plain_copy(entry))
    inserted = _recorded(live, ROUTES)
    if inserted and isinstance(spec.get("http"), list) and isinstance(live_spec.get("http"), list):
        # The header/mirror routes a step inserted stay, ahead of Git's routes as the engine orders them.
        in_git = {r.get("name") for r in spec["http"] if isinstance(r, dict)}
        carried = [r for r in live_spec["http"] if isinstance(r, dict) and r.get("name") in inserted and r.get("name") not in in_git]
        spec["http"] = plain_copy(carried) + spec["http"]
    return after


def _route_picker(which: str):
    def pick(routes: list):
        if which.isdigit() and int(which) < len(routes) and not any(isinstance(r, dict) and r.get("name") == which for r in routes):
            route = routes[int(which)]
            return route if isinstance(route, dict) else None
        return next((r for r in routes if isinstance(r, dict) and r.get("name") == which), None)

    return pick


def _dest_key(entry: dict) -> tuple:
    dest = entry.get("destination") or {}
    return (short_host(dest.get("host")), dest.get("subset") or "")
