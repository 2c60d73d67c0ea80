"""abortScaleDownDelaySeconds for traffic-routed canaries (Argo docs: "Canary > abortScaleDownDelaySeconds",
default 30 s): the aborted canary keeps its pods for the delay while the router sends traffic back
to the stable (engine/traffic/routing.py decides it, the replica math keeps those pods); 0 scales
it at once. Without traffic routing the canary goes at once (as Argo)."""

from tests.argo_world import World, rollout

ROUTED = {"istio": {"virtualService": {"name": "vs", "routes": ["primary"]}}}


def aborted_world(**canary):
    strategy = {"canary": {"canaryService": "c", "stableService": "s", "steps": [{"setWeight": 50}, {"pause": {}}], **canary}}
    world = World(rollout("app", 4, strategy))
    world.run_until("Healthy")
    world.update()
    world.run_until("Paused")
    world.abort()
    world.run_until("Degraded")
    return world


def test_routed_canary_keeps_its_pods_for_the_default_delay():
    world = aborted_world(trafficRouting=ROUTED)
    assert world.revision_pods()[2] == 2
    world.run(29)
    assert world.revision_pods()[2] == 2
    world.run(2)
    assert world.revision_pods() == {1: 4, 2: 0}


def test_zero_delay_scales_the_routed_canary_down_at_once():
    world = aborted_world(trafficRouting=ROUTED, abortScaleDownDelaySeconds=0)
    assert world.revision_pods()[2] == 0


def test_basic_canary_scales_down_at_once():
    world = aborted_world()
    world.run()
    assert world.revision_pods()[2] == 0
