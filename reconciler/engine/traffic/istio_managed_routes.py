"""The HTTP routes the Istio router inserts for setHeaderRoute and setMirrorRoute steps (named in
`trafficRouting.managedRoutes`): adding, replacing and removing them in every VirtualService,
ahead of the weighted routes, recorded in the ROUTES annotation. Functions of an IstioRouter
(istio.py), which exposes them as its methods."""

from __future__ import annotations

from reconciler.engine.state import plain_copy
from reconciler.engine.traffic.istio_objects import ROUTES, VsRef, as_int, mark_recorded, recorded_annotation


def _mark_routes(router, after: dict, before: dict, name: str, kind: str | None) -> None:
    """Record which HTTP routes the engine inserted, so a Git apply of the VirtualService keeps
    them (carry_managed_fields) instead of removing them and the next run adding them back."""
    recorded = dict(recorded_annotation(before, ROUTES))
    if kind:
        recorded[name] = kind
    else:
        recorded.pop(name, None)
    if recorded or ROUTES in ((before.get("metadata") or {}).get("annotations") or {}):
        mark_recorded(after, router.owner, ROUTES, recorded)


def set_header_route(router, objects: dict, step: dict) -> dict:
    """setHeaderRoute: an HTTP route (named in managedRoutes) sending requests whose headers
    match to the canary, ahead of the weighted routes; no `match` removes it (as in Argo)."""
    spec = step.get("setHeaderRoute") or {}

    def header_route(after: dict, ref, http: list) -> None:
        matches = []
        for match in spec.get("match") or []:
            value = {k: v for k, v in (match.get("headerValue") or {}).items() if k in ("exact", "regex", "prefix") and v}
            matches.append({"headers": {str(match.get("headerName")): value}})
        http.append({"name": str(spec.get("name") or ""), "match": matches, "route": [_canary_destination(router, after, ref, 100)]})

    return _edit_managed_route(router, objects, spec, "header", header_route)


def set_mirror_route(router, objects: dict, step: dict) -> dict:
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
        paths, _ = router.managed_paths({"spec": {"http": http}}, ref)
        primary = next((http[i] for section, i, _ in paths if section == "http"), None)
        destinations = plain_copy((primary or {}).get("route") or [])
        mirror = dict(_canary_destination(router, after, ref, 0)["destination"])
        percentage = spec.get("percentage")
        http.insert(0, {
            "name": str(spec.get("name") or ""),
            "match": matches,
            "route": destinations,
            "mirror": mirror,
            "mirrorPercentage": {"value": 100 if percentage is None else as_int(percentage, 100)},
        })

    return _edit_managed_route(router, objects, spec, "mirror", mirror_route)


def _edit_managed_route(router, objects: dict, spec: dict, role: str, add_route) -> dict:
    """Replace the managed route `spec.name` in every VirtualService: removed, then (when the
    step has a `match`) added again by `add_route(after, ref, http)`; the routes re-ordered
    and recorded as ours."""
    name = str(spec.get("name") or "")
    edited = {}
    for ref in router.virtual_services:
        vs = objects.get(ref.key)
        if vs is None or not isinstance((vs.get("spec") or {}).get("http"), list):
            continue
        after = plain_copy(vs)
        http = [r for r in after["spec"]["http"] if not (isinstance(r, dict) and r.get("name") == name)]
        if spec.get("match"):
            add_route(after, ref, http)
        after["spec"]["http"] = _ordered(router, http)
        _mark_routes(router, after, vs, name, role if spec.get("match") else None)
        if after != vs:
            edited[ref.key] = after
    return edited


def remove_managed_routes(router, objects: dict) -> dict:
    edited: dict = {}
    if not router.managed_routes:
        return edited
    for ref in router.virtual_services:
        vs = objects.get(ref.key)
        http = (vs or {}).get("spec", {}).get("http") if vs else None
        if not isinstance(http, list):
            continue
        kept = [r for r in http if not (isinstance(r, dict) and r.get("name") in router.managed_routes)]
        if len(kept) != len(http):
            after = plain_copy(vs)
            after["spec"]["http"] = kept
            if ROUTES in ((after.get("metadata") or {}).get("annotations") or {}):
                mark_recorded(after, router.owner, ROUTES, {})
            edited[ref.key] = after
    return edited


def has_route(router, objects: dict, name: str) -> bool:
    """Every VirtualService (with HTTP routes) has the managed route `name`."""
    found = []
    for ref in router.virtual_services:
        http = ((objects.get(ref.key) or {}).get("spec") or {}).get("http")
        if isinstance(http, list):
            found.append(any(isinstance(r, dict) and r.get("name") == name for r in http))
    return bool(found) and all(found)


def _canary_destination(router, vs: dict, ref: VsRef, weight: int) -> dict:
    """The canary destination as the managed route names it (host, subset, port)."""
    paths, _ = router.managed_paths(vs, ref)
    for section, index, _ in paths:
        for entry in vs["spec"][section][index].get("route") or []:
            if router.role(entry) == "canary":
                return {"destination": plain_copy(entry.get("destination") or {}), "weight": weight}
    dest = {"host": router.canary_service}
    if router.destination_rule is not None:
        dest["subset"] = router.destination_rule.canary_subset
    return {"destination": dest, "weight": weight}


def _ordered(router, http: list) -> list:
    """Managed routes first, in managedRoutes order, then every other route as it was."""
    managed = {r.get("name"): r for r in http if isinstance(r, dict) and r.get("name") in router.managed_routes}
    rest = [r for r in http if not (isinstance(r, dict) and r.get("name") in router.managed_routes)]
    return [managed[n] for n in router.managed_routes if n in managed] + rest
