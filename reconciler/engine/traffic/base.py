"""Traffic routers: the small interface every router implements, and which router a Rollout names.

A router is pure. It is given the live objects it routes with (observe read them: one list per
kind per namespace) and returns edited copies; the canary strategy turns those into `replace`
actions the shell applies. It never reads the cluster itself.

    router = routers.router_for(traffic_routing, canary_service, stable_service, namespace)
    router.object_keys()                       # what observe must read: (kind, namespace, name)
    router.read_back(objects)                  # Readback: the weight live now, or why it can't be trusted
    router.set_weight(objects, weight, ...)    # {key: edited object} (only what changes); extra: experiment destinations
    router.set_header_route(objects, step)     # setHeaderRoute step (Argo's managedRoutes)
    router.set_mirror_route(objects, step)     # setMirrorRoute step
    router.remove_managed_routes(objects)      # header/mirror routes gone (completion, abort)

Adding a router (nginx, SMI, Gateway API): write `reconciler/engine/traffic/<name>.py` with a
class implementing `TrafficRouter`, add it to `IMPLEMENTED` in routers.py, add the kinds it edits to
reconciler/kinds.py (and RBAC in deploy/), and table-test its edits like tests/test_traffic_istio.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

Key = tuple  # (kind, namespace, name)

# trafficRouting fields Argo accepts that name a router (managedRoutes / maxTrafficWeight do not).
ROUTER_FIELDS = ("istio", "nginx", "alb", "smi", "ambassador", "appMesh", "traefik", "apisix", "plugins")
NOT_ROUTERS = ("managedRoutes", "maxTrafficWeight")


@dataclass
class Readback:
    """What the live routing objects say. `weight`: the canary weight of the managed routes (None
    when it cannot be read); `total`: what the routes sum to (maxTrafficWeight, default 100).
    `problem` is empty when the objects can be trusted; otherwise `status` says how the rollout
    is held ("Degraded": an object is missing or unusable; "Paused": someone else changed it)."""

    weight: int | None = None
    total: int = 100
    problem: str = ""
    status: str = ""
    details: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)  # an experiment's Services -> their weight, as read


class TrafficRouter(Protocol):
    name: str

    def object_keys(self) -> list[Key]: ...

    def read_back(self, objects: dict) -> Readback: ...

    def set_weight(self, objects: dict, weight: int, canary_hash: str, stable_hash: str, extra: list[dict] | tuple = ()) -> dict: ...

    def set_header_route(self, objects: dict, step: dict) -> dict: ...

    def set_mirror_route(self, objects: dict, step: dict) -> dict: ...

    def remove_managed_routes(self, objects: dict) -> dict: ...
