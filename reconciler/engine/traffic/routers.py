"""Which traffic router a Rollout names: the implemented routers by name (`IMPLEMENTED`), the
router of a canary strategy, and the routers it names that are not implemented. The interface
every router implements is in base.py."""

from __future__ import annotations

from reconciler.engine.traffic.base import NOT_ROUTERS
from reconciler.engine.traffic.istio import IstioRouter


def named_routers(traffic_routing) -> list[str]:
    if not isinstance(traffic_routing, dict):
        return []
    return [name for name in traffic_routing if name not in NOT_ROUTERS and traffic_routing.get(name) is not None]


def unsupported_routers(traffic_routing) -> list[str]:
    """Routers the Rollout names that the reconciler does not implement (a finding, never a no-op)."""
    return [name for name in named_routers(traffic_routing) if name not in IMPLEMENTED]


def router_for(traffic_routing, canary_service: str | None, stable_service: str | None, namespace: str):
    """The router for a Rollout's trafficRouting, or None (no routing, or only unsupported ones)."""
    if not isinstance(traffic_routing, dict):
        return None
    for name in named_routers(traffic_routing):
        factory = IMPLEMENTED.get(name)
        if factory is not None:
            return factory(traffic_routing, canary_service or "", stable_service or "", namespace)
    return None


def canary_router(canary, namespace: str):
    """The router of a canary strategy (`spec.strategy.canary`, or a view's summary holding the
    same keys), or None. pingPong (Services taking turns as stable and canary) is not implemented:
    no router, so nothing is read back or written; engine/traffic/routing.py holds the rollout."""
    if not isinstance(canary, dict) or canary.get("pingPong"):
        return None
    return router_for(canary.get("trafficRouting"), canary.get("canaryService"), canary.get("stableService"), namespace)


# Router name -> factory(traffic_routing, canary_service, stable_service, namespace).
IMPLEMENTED = {"istio": IstioRouter.from_spec}
