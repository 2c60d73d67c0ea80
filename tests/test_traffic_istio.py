"""The Istio router: VirtualService / DestinationRule edits as a table (host-level and subset-level
splitting, several routes, unmanaged routes untouched, TLS/TCP, header and mirror routes), the
read-back (missing, unusable, changed by someone else), and the canary's ordering through the
pure planner (weight 0 until the canary has an available pod, 100/0 toward stable before the old
ReplicaSet goes, abort at once)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from reconciler.engine.model import Desired, Live
from reconciler.engine.plan import plan
from reconciler.engine.state import RolloutState
from reconciler.engine.traffic.istio_carry_over import carry_managed_fields
from reconciler.engine.traffic.istio_objects import WEIGHTS
from reconciler.engine.traffic.routers import router_for, unsupported_routers
from tests.test_engine_plan import T0, apply, rollout

VS_KEY = ("VirtualService", "default", "vs")
DR_KEY = ("DestinationRule", "default", "dr")


def dest(host, weight=None, subset=None, port=None):
    d = {"destination": {"host": host}}
    if subset:
        d["destination"]["subset"] = subset
    if port:
        d["destination"]["port"] = {"number": port}
    if weight is not None:
        d["weight"] = weight
    return d


def virtual_service(http=None, tls=None, tcp=None, name="vs"):
    spec = {"hosts": ["web"]}
    if http is None and tls is None and tcp is None:
        http = [{"name": "primary", "route": [dest("web", 100), dest("web-canary", 0)]}]
    for key, value in (("http", http), ("tls", tls), ("tcp", tcp)):
        if value is not None:
            spec[key] = value
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService", "metadata": {"name": name, "namespace": "default", "resourceVersion": "1"}, "spec": spec}


def destination_rule():
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule", "metadata": {"name": "dr", "namespace": "default", "resourceVersion": "1"},
            "spec": {"host": "web", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
                     "subsets": [{"name": "stable", "labels": {"app": "web"}}, {"name": "canary", "labels": {"app": "web"}}, {"name": "other", "labels": {"v": "x"}}]}}


def routing(vs=None, dr=False, **extra):
    istio = {"virtualService": vs or {"name": "vs", "routes": ["primary"]}}
    if dr:
        istio["destinationRule"] = {"name": "dr", "stableSubsetName": "stable", "canarySubsetName": "canary"}
    return {"istio": istio, **extra}


def istio_router(vs=None, dr=False, **extra):
    return router_for(routing(vs, dr, **extra), "web-canary", "web", "default")


def weights(obj, section="http", index=0):
    return [(d["destination"].get("subset") or d["destination"]["host"], d.get("weight")) for d in obj["spec"][section][index]["route"]]


SUBSET_HTTP = [{"name": "primary", "route": [dest("web", 100, subset="stable"), dest("web", 0, subset="canary")]}]

# (case, rollout's virtualService ref, VirtualService spec parts, destinationRule?, weight, expected {(section, index): weights}, untouched sections)
EDITS = [
    ("host-level, seed 002 manifest 13", None, {}, False, 20, {("http", 0): [("web", 80), ("web-canary", 20)]}),
    ("subset-level, seed 002 manifest 16", None, {"http": SUBSET_HTTP}, True, 40, {("http", 0): [("stable", 60), ("canary", 40)]}),
    ("FQDN hosts name the same Service", None,
     {"http": [{"name": "primary", "route": [dest("web.default.svc.cluster.local", 100), dest("web-canary.default.svc.cluster.local", 0)]}]}, False, 5,
     {("http", 0): [("web.default.svc.cluster.local", 95), ("web-canary.default.svc.cluster.local", 5)]}),
    ("several managed routes, an unmanaged one untouched", {"name": "vs", "routes": ["primary", "secondary"]},
     {"http": [{"name": "primary", "route": [dest("web", 100), dest("web-canary", 0)]},
               {"name": "admin", "match": [{"uri": {"prefix": "/admin"}}], "route": [dest("web", 100)]},
               {"name": "secondary", "route": [dest("web-canary", 0), dest("web", 100)]}]}, False, 20,
     {("http", 0): [("web", 80), ("web-canary", 20)], ("http", 1): [("web", 100)], ("http", 2): [("web-canary", 20), ("web", 80)]}),
    ("a lone unnamed route needs no `routes`", {"name": "vs"}, {"http": [{"route": [dest("web", 100), dest("web-canary", 0)]}]}, False, 50,
     {("http", 0): [("web", 50), ("web-canary", 50)]}),
    ("TLS route by port and SNI, the other TLS route untouched", {"name": "vs", "tlsRoutes": [{"port": 443, "sniHosts": ["web.example.com"]}]},
     {"tls": [{"match": [{"port": 443, "sniHosts": ["web.example.com"]}], "route": [dest("web", 100), dest("web-canary", 0)]},
              {"match": [{"port": 443, "sniHosts": ["other.example.com"]}], "route": [dest("web", 100), dest("web-canary", 0)]}]}, False, 30,
     {("tls", 0): [("web", 70), ("web-canary", 30)], ("tls", 1): [("web", 100), ("web-canary", 0)]}),
    ("TCP route by port, a TLS-only rollout ref with routes: [primary] as Argo accepts", {"name": "vs", "routes": ["primary"], "tcpRoutes": [{"port": 5432}]},
     {"tcp": [{"match": [{"port": 5432}], "route": [dest("web", 100), dest("web-canary", 0)]},
              {"match": [{"port": 6379}], "route": [dest("web", 100)]}]}, False, 10,
     {("tcp", 0): [("web", 90), ("web-canary", 10)], ("tcp", 1): [("web", 100)]}),
]


@pytest.mark.parametrize("case,ref,parts,dr,weight,expected", EDITS, ids=[e[0] for e in EDITS])
def test_virtual_service_edits(case, ref, parts, dr, weight, expected):
    router = istio_router(ref, dr)
    vs = virtual_service(**parts) if parts else virtual_service()
    vs["spec"]["gateways"] = ["mesh"]  # a field the router does not manage
    objects = {VS_KEY: vs}
    if dr:
        objects[DR_KEY] = destination_rule()
    before = json.dumps(list(objects.values()), sort_keys=True)
    edited = router.set_weight(objects, weight, "canaryhash", "stablehash")
    assert json.dumps(list(objects.values()), sort_keys=True) == before  # pure: the live objects are not touched
    after = edited[VS_KEY]
    for (section, index), expect in expected.items():
        assert weights(after, section, index) == expect, case
    assert after["spec"]["gateways"] == ["mesh"] and after["spec"]["hosts"] == ["web"]
    unmanaged = {k: v for k, v in after["spec"].items() if k not in {s for s, _ in expected}}
    assert unmanaged == {k: v for k, v in vs["spec"].items() if k not in {s for s, _ in expected}}
    readback = router.read_back({**objects, **edited})
    assert (readback.weight, readback.problem) == (weight, "")
    # idle: the same weight again edits nothing (the resourceVersion stays)
    assert router.set_weight({**objects, **edited}, weight, "canaryhash", "stablehash") == {}


def test_destination_rule_subsets_get_the_hashes_and_nothing_else_changes():
    router = istio_router(None, True)
    objects = {VS_KEY: virtual_service(http=SUBSET_HTTP), DR_KEY: destination_rule()}
    edited = router.set_weight(objects, 0, "canaryhash", "stablehash")
    subsets = {s["name"]: s["labels"] for s in edited[DR_KEY]["spec"]["subsets"]}
    assert subsets == {"stable": {"app": "web", "rollouts-pod-template-hash": "stablehash"},
                       "canary": {"app": "web", "rollouts-pod-template-hash": "canaryhash"}, "other": {"v": "x"}}
    assert edited[DR_KEY]["spec"]["trafficPolicy"] == {"tls": {"mode": "ISTIO_MUTUAL"}}
    changed = {**objects, **edited}
    changed[DR_KEY]["spec"]["subsets"][1]["labels"]["rollouts-pod-template-hash"] = "someoneelse"
    result = router.read_back(changed)
    assert result.status == "Paused" and "subset canary: selects someoneelse, the reconciler set canaryhash" in result.problem


@pytest.mark.parametrize("objects,expect", [
    ({}, "VirtualService default/vs not found"),
    ({VS_KEY: virtual_service(http=[{"name": "main", "route": [dest("web", 100), dest("web-canary", 0)]}])},
     "has no HTTP route named `primary` (its HTTP routes: main)"),
    ({VS_KEY: virtual_service(http=[{"name": "primary", "route": [dest("web", 100), dest("other", 0)]}])},
     "route http/primary: no destination for the canary Service `web-canary`"),
])
def test_unusable_virtual_service_is_degraded_with_the_reason(objects, expect):
    result = istio_router().read_back(objects)
    assert result.status == "Degraded" and result.weight in (None, 0) and expect in result.problem


def test_several_http_routes_need_routes_named():
    result = istio_router({"name": "vs"}).read_back({VS_KEY: virtual_service(http=[{"name": "a", "route": [dest("web", 100), dest("web-canary", 0)]},
                                                                                  {"name": "b", "route": [dest("web", 100)]}])})
    assert result.status == "Degraded" and "has 2 HTTP routes; name the ones the rollout manages in `routes`" in result.problem


def test_a_weight_changed_outside_is_drift_not_a_number_we_hoped_for():
    router = istio_router()
    objects = {VS_KEY: virtual_service()}
    written = {**objects, **router.set_weight(objects, 20, "c", "s")}
    assert json.loads(written[VS_KEY]["metadata"]["annotations"][WEIGHTS]) == {"http/primary": 20}
    written[VS_KEY]["spec"]["http"][0]["route"][0]["weight"] = 50
    written[VS_KEY]["spec"]["http"][0]["route"][1]["weight"] = 50
    result = router.read_back(written)
    assert (result.weight, result.status) == (50, "Paused")
    assert "canary weight is 50, the reconciler set 20 (changed outside the reconciler)" in result.problem


def test_header_and_mirror_routes_go_ahead_of_the_primary_route_and_are_removed():
    router = istio_router(None, False, managedRoutes=[{"name": "mirror"}, {"name": "header"}])
    objects = {VS_KEY: virtual_service(http=[{"name": "primary", "route": [dest("web", 80, port=8080), dest("web-canary", 20, port=8080)]},
                                             {"name": "mine", "route": [dest("web", 100)]}])}
    header = router.set_header_route(objects, {"setHeaderRoute": {"name": "header", "match": [{"headerName": "X-Canary", "headerValue": {"exact": "yes"}}]}})
    objects = {**objects, **header}
    mirror = router.set_mirror_route(objects, {"setMirrorRoute": {"name": "mirror", "percentage": 35, "match": [{"method": {"exact": "GET"}}]}})
    objects = {**objects, **mirror}
    http = objects[VS_KEY]["spec"]["http"]
    assert [r.get("name") for r in http] == ["mirror", "header", "primary", "mine"]
    assert http[1] == {"name": "header", "match": [{"headers": {"X-Canary": {"exact": "yes"}}}],
                       "route": [{"destination": {"host": "web-canary", "port": {"number": 8080}}, "weight": 100}]}
    assert http[0]["mirror"] == {"host": "web-canary", "port": {"number": 8080}} and http[0]["mirrorPercentage"] == {"value": 35}
    assert http[0]["match"] == [{"method": {"exact": "GET"}}] and weights(objects[VS_KEY], "http", 0) == [("web", 80), ("web-canary", 20)]
    assert router.has_route(objects, "header") and router.has_route(objects, "mirror")
    # the mirror route's weights follow set_weight (as Argo's do); the header route keeps sending to the canary
    objects = {**objects, **router.set_weight(objects, 40, "c", "s")}
    assert weights(objects[VS_KEY], "http", 0) == [("web", 60), ("web-canary", 40)] and weights(objects[VS_KEY], "http", 2) == [("web", 60), ("web-canary", 40)]
    removed = router.remove_managed_routes(objects)[VS_KEY]["spec"]["http"]
    assert [r.get("name") for r in removed] == ["primary", "mine"]
    assert router.set_header_route(objects, {"setHeaderRoute": {"name": "header"}})[VS_KEY]["spec"]["http"][0]["name"] == "mirror"  # no match: removed


def test_unsupported_routers_are_named():
    assert unsupported_routers({"nginx": {"stableIngress": "x"}, "managedRoutes": [], "maxTrafficWeight": 100}) == ["nginx"]
    assert unsupported_routers(routing()) == []
    assert router_for({"alb": {"ingress": "x"}}, "c", "s", "default") is None


def test_git_edit_of_a_managed_virtual_service_keeps_the_live_weights():
    router = istio_router()
    live = {**{VS_KEY: virtual_service()}, **router.set_weight({VS_KEY: virtual_service()}, 20, "c", "s")}[VS_KEY]
    from_git = virtual_service()
    from_git["spec"]["http"][0]["retries"] = {"attempts": 3}
    kept = carry_managed_fields("VirtualService", live, from_git)
    assert weights(kept) == [("web", 80), ("web-canary", 20)] and kept["spec"]["http"][0]["retries"] == {"attempts": 3}
    assert router.read_back({VS_KEY: kept}).problem == ""
    assert carry_managed_fields("VirtualService", virtual_service(), from_git) == from_git  # not managed yet: Git's as is


# -- through the pure planner ---------------------------------------------------------------------------


def drive_routed(desired, state, replicasets, traffic, now):
    """plan, then apply its ReplicaSet actions (pods ready at once) and its router writes."""
    result = plan(Desired(desired), Live(replicasets=replicasets, traffic=traffic), state, now)
    traffic = dict(traffic)
    for action in result.actions:
        if action.kind in ("VirtualService", "DestinationRule"):
            traffic[(action.kind, action.namespace, action.name)] = action.after
    return result, apply(replicasets, result, now), traffic


ROUTED = {"canaryService": "web-canary", "stableService": "web", "trafficRouting": routing()}
STEPS = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 40}, {"pause": {}}, {"setWeight": 100}]


def canary_weight(traffic):
    return dict(weights(traffic[VS_KEY]))["web-canary"]


def test_weight_waits_for_an_available_canary_pod_then_follows_the_steps():
    traffic = {VS_KEY: virtual_service()}
    first, rs, traffic = drive_routed(rollout(steps=STEPS, **ROUTED), RolloutState(), [], traffic, T0)
    assert first.view["actualWeight"] == 100 and canary_weight(traffic) == 0
    update, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), first.state, rs, traffic, T0 + timedelta(seconds=10))
    assert canary_weight(traffic) == 0 and not [a for a in update.actions if a.kind == "VirtualService"]  # no available canary pod yet
    assert update.view["actualWeight"] == 0 and update.view["setWeight"] == 20
    paused, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), update.state, rs, traffic, T0 + timedelta(seconds=20))
    assert (paused.status, paused.state.step_index, canary_weight(traffic), paused.view["actualWeight"]) == ("Paused", 1, 20, 20)
    assert sorted(r["spec"]["replicas"] for r in rs) == [1, 5]  # with a router the stable keeps all 5
    idle, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), paused.state, rs, traffic, T0 + timedelta(seconds=30))
    assert idle.actions == []


def test_promotion_moves_service_then_weights_and_the_old_replicaset_goes_after_the_delay():
    traffic = {VS_KEY: virtual_service()}
    steps = [{"setWeight": 50}]
    first, rs, traffic = drive_routed(rollout(steps=steps, **ROUTED), RolloutState(), [], traffic, T0)
    services = {name: {"kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": {"selector": {"app": "web", "rollouts-pod-template-hash": first.state.current_hash}}} for name in ("web", "web-canary")}
    state, now, results = first.state, T0, []
    for _ in range(5):
        now += timedelta(seconds=10)
        result = plan(Desired(rollout("app:2", steps=steps, **ROUTED)), Live(replicasets=rs, services=services, traffic=traffic), state, now)
        rs = apply(rs, result, now)
        for action in result.actions:
            if action.kind == "Service":
                services[action.name] = action.after
            if action.kind == "VirtualService":
                traffic[VS_KEY] = action.after
        state = result.state
        results.append(result)
        if state.stable_hash == state.current_hash:
            break
    promotion = results[-1]
    kinds = [(a.kind, a.name, a.reason) for a in promotion.actions]
    service_at = next(i for i, k in enumerate(kinds) if k[0] == "Service" and k[1] == "web")
    weight_at = next(i for i, k in enumerate(kinds) if k[0] == "VirtualService")
    assert service_at < weight_at and canary_weight(traffic) == 0
    old = [r for r in rs if r["metadata"]["labels"]["rollouts-pod-template-hash"] == first.state.current_hash][0]
    assert old["spec"]["replicas"] == 5  # kept for scaleDownDelaySeconds after the weights moved
    later = plan(Desired(rollout("app:2", steps=steps, **ROUTED)), Live(replicasets=rs, services=services, traffic=traffic), state, now + timedelta(seconds=31))
    assert [(a.kind, a.after["spec"]["replicas"]) for a in later.actions if a.kind == "ReplicaSet"] == [("ReplicaSet", 0)]


def test_abort_sets_stable_weights_at_once_and_keeps_the_canary_for_the_delay():
    traffic = {VS_KEY: virtual_service()}
    first, rs, traffic = drive_routed(rollout(steps=STEPS, **ROUTED), RolloutState(), [], traffic, T0)
    update, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), first.state, rs, traffic, T0 + timedelta(seconds=10))
    paused, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), update.state, rs, traffic, T0 + timedelta(seconds=20))
    assert canary_weight(traffic) == 20
    state = paused.state.copy()
    state.abort = {"revision": state.revision}
    aborted, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), state, rs, traffic, T0 + timedelta(seconds=30))
    assert aborted.status == "Degraded" and canary_weight(traffic) == 0 and aborted.view["actualWeight"] == 0
    assert sorted(r["spec"]["replicas"] for r in rs) == [1, 5]  # abortScaleDownDelaySeconds (30s) keeps the canary pod
    gone, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), aborted.state, rs, traffic, T0 + timedelta(seconds=61))
    assert sorted(r["spec"]["replicas"] for r in rs) == [0, 5] and canary_weight(traffic) == 0


def test_a_missing_virtual_service_holds_before_any_scale_and_says_so():
    first, rs, _ = drive_routed(rollout(steps=STEPS, **ROUTED), RolloutState(), [], {}, T0)
    assert first.actions == [] and first.status == "Degraded" and first.degraded_now
    assert first.message == "TrafficRoutingError: VirtualService default/vs not found" and first.view["actualWeight"] is None
    assert [e.type for e in first.events] == ["Warning"] or "Warning" in [e.type for e in first.events]


def test_an_unsupported_router_pauses_before_any_weight_or_scale_change():
    spec = {"canaryService": "web-canary", "stableService": "web", "trafficRouting": {"nginx": {"stableIngress": "web"}}}
    first, rs, _ = drive_routed(rollout(steps=STEPS, **spec), RolloutState(), [], {}, T0)
    assert first.actions == [] and first.status == "Paused"
    assert first.message.startswith("TrafficRoutingNotSupported: trafficRouting.nginx is not implemented")
    assert not any("set canary weight" in note for note in first.next.split("; "))


def test_drift_during_a_canary_pauses_it_and_nothing_is_written():
    traffic = {VS_KEY: virtual_service()}
    first, rs, traffic = drive_routed(rollout(steps=STEPS, **ROUTED), RolloutState(), [], traffic, T0)
    update, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), first.state, rs, traffic, T0 + timedelta(seconds=10))
    paused, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), update.state, rs, traffic, T0 + timedelta(seconds=20))
    traffic[VS_KEY]["spec"]["http"][0]["route"][0]["weight"] = 0
    traffic[VS_KEY]["spec"]["http"][0]["route"][1]["weight"] = 100
    state = paused.state.copy()
    state.promote = {"revision": state.revision, "step": 1, "full": False}
    held, rs, traffic = drive_routed(rollout("app:2", steps=STEPS, **ROUTED), state, rs, traffic, T0 + timedelta(seconds=30))
    assert held.actions == [] and held.status == "Paused" and held.message.startswith("TrafficRoutingChanged:")
    assert held.view["actualWeight"] == 100 and held.state.step_index == 1


def test_header_route_step_is_written_read_back_and_removed_on_completion():
    spec = {**ROUTED, "trafficRouting": routing(managedRoutes=[{"name": "canary-header"}])}
    steps = [{"setWeight": 20}, {"setHeaderRoute": {"name": "canary-header", "match": [{"headerName": "X-Canary", "headerValue": {"exact": "yes"}}]}},
             {"pause": {}}, {"setWeight": 100}]
    traffic = {VS_KEY: virtual_service()}
    first, rs, traffic = drive_routed(rollout(steps=steps, **spec), RolloutState(), [], traffic, T0)
    state, now, seen = first.state, T0, []
    for _ in range(4):
        now += timedelta(seconds=10)
        result, rs, traffic = drive_routed(rollout("app:2", steps=steps, **spec), state, rs, traffic, now)
        state = result.state
        seen.append((state.step_index, [r.get("name") for r in traffic[VS_KEY]["spec"]["http"]]))
    # written once the canary has an available pod (when the step starts), done when read back a run later
    assert seen[:3] == [(0, ["primary"]), (1, ["canary-header", "primary"]), (2, ["canary-header", "primary"])]
    assert traffic[VS_KEY]["spec"]["http"][0]["route"] == [{"destination": {"host": "web-canary"}, "weight": 100}]
    state = state.copy()
    state.promote = {"revision": state.revision, "step": None, "full": True}
    for _ in range(4):
        now += timedelta(seconds=10)
        result, rs, traffic = drive_routed(rollout("app:2", steps=steps, **spec), state, rs, traffic, now)
        state = result.state
    assert state.stable_hash == state.current_hash
    assert [r.get("name") for r in traffic[VS_KEY]["spec"]["http"]] == ["primary"] and canary_weight(traffic) == 0
