"""Traffic routing the engine acts on, and nothing it would silently ignore: a router it does not
implement (the rollout is held Paused before any change), header/mirror route steps without a
router or not listed in managedRoutes (Argo rejects those too)."""

from __future__ import annotations

from reconciler.engine.traffic.routers import IMPLEMENTED, unsupported_routers
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
    ping_pong = canary.get("pingPong")
    if ping_pong is not None:
        out.append(manifest.finding(
            (*base, "pingPong"),
            "pingPong is not implemented by the reconciler; the rollout will be held (Paused) before any scale or weight change",
            hint="use canaryService and stableService with trafficRouting.istio, or remove trafficRouting to split traffic by pod counts",
            rule="traffic-router", severity=Severity.WARNING,
        ))
    managed = [str(r.get("name")) for r in (routing or {}).get("managedRoutes") or [] if isinstance(r, dict) and r.get("name")]
    canary_has_pods = False  # whether a step before this one gives the canary pods
    for index, step in enumerate(canary.get("steps") or []):
        if not isinstance(step, dict):
            continue
        canary_has_pods = _gives_canary_pods(step, canary_has_pods)
        if isinstance(step.get("setHeaderRoute"), dict) and step["setHeaderRoute"].get("match") and not canary_has_pods:
            out.append(manifest.finding(
                (*base, "steps", index, "setHeaderRoute"),
                "setHeaderRoute would send the matched requests to a canary with no pods: no step before it gives the "
                "canary any (setWeight 0 and no setCanaryScale); the step waits for an available canary pod until the "
                "progress deadline",
                hint="put `- setCanaryScale: {replicas: 1}` (or a setWeight above 0) before it, as Argo's documentation does",
                rule="managed-routes", severity=Severity.WARNING,
            ))
        for kind in ("setHeaderRoute", "setMirrorRoute"):
            value = step.get(kind)
            if not isinstance(value, dict):
                continue
            path = (*base, "steps", index, kind)
            routers = _ROUTE_STEP_ROUTERS[kind]
            if routing is None or not any(routing.get(r) is not None for r in routers):
                names = ", ".join(f"trafficRouting.{r}" for r in routers)
                out.append(manifest.finding(path, f"{kind} needs {'one of ' if len(routers) > 1 else ''}{names} (the router that writes it)",
                                            hint="add trafficRouting.istio with the VirtualService, or remove the step", rule="managed-routes"))
            elif str(value.get("name") or "") not in managed:
                out.append(manifest.finding((*path, "name") if "name" in value else path,
                                            f"{kind} route `{value.get('name')}` is not listed in trafficRouting.managedRoutes",
                                            hint=f"add `- name: {value.get('name')}` to trafficRouting.managedRoutes (it orders the routes ahead of the primary one)",
                                            rule="managed-routes"))
    return out


# The routers Argo accepts each route step with (its validation); the reconciler writes them with istio only,
# and holds a rollout that names another router (the warning above).
_ROUTE_STEP_ROUTERS = {"setHeaderRoute": ("istio", "alb", "apisix", "plugins"), "setMirrorRoute": ("istio",)}


def _gives_canary_pods(step: dict, before: bool) -> bool:
    """After `step`, whether the canary is scaled above 0 (by a setWeight or a setCanaryScale)."""
    if "setWeight" in step:
        try:
            return int(step["setWeight"]) > 0
        except (TypeError, ValueError):
            return before
    scale = step.get("setCanaryScale")
    if isinstance(scale, dict):
        if scale.get("matchTrafficWeight"):
            return before
        for key in ("replicas", "weight"):
            try:
                if scale.get(key) is not None:
                    return int(scale[key]) > 0
            except (TypeError, ValueError):
                return before
    return before
