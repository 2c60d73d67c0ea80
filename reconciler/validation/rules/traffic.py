"""Traffic routing the engine acts on, and nothing it would silently ignore: a router it does not
implement (the rollout is held Paused before any change), header/mirror route steps without a
router or not listed in managedRoutes (Argo rejects those too)."""

from __future__ import annotations

from reconciler.engine.traffic.base import IMPLEMENTED, unsupported_routers
from reconciler.findings import Finding, Severity
from reconciler.manifests.model import Manifest


def check(manifest: Manifest, ctx) -> list[Finding]:
    spec = manifest.obj.get("spec")
    strategy = spec.get("strategy") if isinstance(spec, dict) else None
    canary = strategy.get("canary") if isinstance(strategy, dict) else None
    if not isinstance(canary, dict):
        return []
    base = ("spec", "strategy", "canary")
    routing = canary.get("trafficRouting")
    routing = routing if isinstance(routing, dict) else None
    out: list[Finding] = []
    for name in unsupported_routers(routing):
        out.append(manifest.finding(
            (*base, "trafficRouting", name),
            f"trafficRouting.{name} is not implemented by the reconciler; the rollout will be held (Paused) before any scale or weight change",
            hint=f"use one of: {', '.join('trafficRouting.' + r for r in IMPLEMENTED)}, or remove trafficRouting to split traffic by pod counts",
            rule="traffic-router", severity=Severity.WARNING,
        ))
    managed = [str(r.get("name")) for r in (routing or {}).get("managedRoutes") or [] if isinstance(r, dict) and r.get("name")]
    for index, step in enumerate(canary.get("steps") or []):
        if not isinstance(step, dict):
            continue
        for kind in ("setHeaderRoute", "setMirrorRoute"):
            value = step.get(kind)
            if not isinstance(value, dict):
                continue
            path = (*base, "steps", index, kind)
            if routing is None or "istio" not in routing:
                out.append(manifest.finding(path, f"{kind} needs trafficRouting.istio (the router that writes it)",
                                            hint="add trafficRouting.istio with the VirtualService, or remove the step", rule="managed-routes"))
            elif str(value.get("name") or "") not in managed:
                out.append(manifest.finding((*path, "name") if "name" in value else path,
                                            f"{kind} route `{value.get('name')}` is not listed in trafficRouting.managedRoutes",
                                            hint=f"add `- name: {value.get('name')}` to trafficRouting.managedRoutes (it orders the routes ahead of the primary one)",
                                            rule="managed-routes"))
    return out
