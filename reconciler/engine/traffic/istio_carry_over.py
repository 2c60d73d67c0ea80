"""Applying a VirtualService or DestinationRule from Git over a live one the Istio router manages:
the fields the router manages (weights, subset hashes, inserted header/mirror routes, its
annotations) are carried over from the live object, so an edit in Git never resets a canary's
traffic."""

from __future__ import annotations

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.engine.state import plain_copy
from reconciler.engine.traffic.istio_objects import (
    EXTRA,
    MANAGED_ANNOTATIONS,
    ROUTES,
    WEIGHTS,
    host_of,
    recorded_annotation,
    recorded_hosts,
    short_host,
    subsets_of,
)


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
        live_subsets = subsets_of(live)
        for subset in (after.get("spec") or {}).get("subsets") or []:
            pod_hash = (((live_subsets.get(subset.get("name")) or {}).get("labels")) or {}).get(POD_TEMPLATE_HASH_LABEL) if isinstance(subset, dict) else None
            if pod_hash:
                subset.setdefault("labels", {})[POD_TEMPLATE_HASH_LABEL] = pod_hash
        return after
    spec, live_spec = after.get("spec") or {}, live.get("spec") or {}
    for key in recorded_annotation(live, WEIGHTS):
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
        added = set(recorded_hosts(live, EXTRA))  # an experiment's destinations stay while it runs
        mine_keys = {_dest_key(d) for d in m.get("route") or [] if isinstance(d, dict)}
        for entry in t.get("route") or []:
            if isinstance(entry, dict) and host_of(entry) in added and _dest_key(entry) not in mine_keys and isinstance(m.get("route"), list):
                m["route"].append(plain_copy(entry))
    inserted = recorded_annotation(live, ROUTES)
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
