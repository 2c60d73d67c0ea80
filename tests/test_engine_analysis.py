"""Analysis in the pure planner: measurements are handed in (as observe would), the planner decides.
Background analysis, blue-green pre/post promotion, termination, history, and the progress deadline."""

from datetime import datetime, timedelta, timezone

from reconciler.cluster import kubelet
from reconciler.engine.model import Desired, Live
from reconciler.engine.plan import plan
from reconciler.engine.state import RolloutState

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
TEMPLATE = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AnalysisTemplate",
    "metadata": {"name": "checks", "namespace": "default"},
    "spec": {"metrics": [{"name": "probe", "provider": {"web": {"url": "http://127.0.0.1:9/health"}}}]},
}
TEMPLATES = {("AnalysisTemplate", "default", "checks"): TEMPLATE}
ANALYSIS = {"templates": [{"templateName": "checks"}]}


def canary(image="app:1", steps=None, **extra):
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": image}]}},
            "strategy": {"canary": {"steps": steps if steps is not None else [{"setWeight": 25}, {"pause": {"duration": "1h"}}, {"setWeight": 50}], **extra}},
        },
    }


def bluegreen(image="app:1", **extra):
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": image}]}},
            "strategy": {"blueGreen": {"activeService": "web-active", "previewService": "web-preview", **extra}},
        },
    }


SERVICES = {name: {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": {"selector": {"app": "web"}}}
            for name in ("web-active", "web-preview")}


class World:
    """The planner plus a tiny cluster: ReplicaSets and Services applied, pods ready at once."""

    def __init__(self):
        self.replicasets, self.services, self.state = [], dict(SERVICES), RolloutState()

    def step(self, rollout, seconds, measured=None):
        now = T0 + timedelta(seconds=seconds)
        live = Live(replicasets=self.replicasets, services=self.services, measurements=measured or {})
        result = plan(Desired(rollout, templates=TEMPLATES), live, self.state, now)
        by_name = {rs["metadata"]["name"]: rs for rs in self.replicasets}
        for action in result.actions:
            if action.kind == "ReplicaSet":
                previous = by_name.get(action.name)
                by_name[action.name] = kubelet.simulate_replicaset(kubelet.record_pod_starts(previous, action.after, now), {}, now)
            elif action.kind == "Service":
                self.services[action.name] = action.after
        self.replicasets = list(by_name.values())
        self.state = result.state
        return result

    def run(self, kind):
        return next(r for r in self.state.analysis.values() if r["labels"]["rollout-type"] == kind)

    def active(self):
        return self.services["web-active"]["spec"]["selector"].get("rollouts-pod-template-hash")


def measured(run, phase, seconds, metric="probe"):
    when = (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {run["name"]: [{"metric": metric, "phase": phase, "startedAt": when, "finishedAt": when, "value": "1"}]}


def test_background_analysis_starts_at_starting_step_and_its_failure_aborts():
    world = World()
    rollout = canary(analysis={**ANALYSIS, "startingStep": 1})
    world.step(rollout, 0)
    updated = canary("app:2", analysis={**ANALYSIS, "startingStep": 1})
    world.step(updated, 10)
    assert world.state.analysis == {}  # step 0 < startingStep
    world.step(updated, 11)  # step 0 done: step 1 (the pause) begins, and the background run with it
    background = world.run("Background")
    assert background["name"] == f"web-{world.state.current_hash}-2" and background["status"] == "Running"
    result = world.step(updated, 20, measured(background, "Failed", 20))
    assert result.status == "Degraded" and result.degraded_now
    assert result.message == 'RolloutAborted: Rollout aborted update to revision 2: Metric "probe" assessed Failed due to failed (1) > failureLimit (0)'
    assert any(e.reason == "AnalysisRunStatusChange" and "Status New: 'Failed'" in e.message for e in result.events)


def test_background_analysis_is_terminated_when_the_rollout_completes():
    world = World()
    world.step(canary(analysis=ANALYSIS, steps=[{"setWeight": 50}]), 0)
    updated = canary("app:2", analysis=ANALYSIS, steps=[{"setWeight": 50}])
    world.step(updated, 10)
    assert world.run("Background")["status"] == "Running"
    for seconds in range(11, 30):
        world.step(updated, seconds)
        if world.state.stable_hash == world.state.current_hash:
            break
    assert world.state.stable_hash == world.state.current_hash
    run = world.run("Background")
    assert run["terminate"] and run["status"] == "Successful"  # Argo: a terminated run ends Successful


def test_a_new_revision_terminates_the_old_revisions_step_analysis():
    world = World()
    steps = [{"setWeight": 25}, {"analysis": ANALYSIS}]
    world.step(canary(steps=steps), 0)
    world.step(canary("app:2", steps=steps), 10)
    world.step(canary("app:2", steps=steps), 11)
    old = world.run("Step")
    assert old["status"] == "Running"
    world.step(canary("app:3", steps=steps), 12)
    assert world.state.analysis[old["name"]]["terminate"] is True


def test_waiting_on_an_analysis_with_every_pod_available_is_not_a_stalled_rollout():
    world = World()
    steps = [{"setWeight": 25}, {"analysis": ANALYSIS}]
    world.step(canary(steps=steps), 0)
    world.step(canary("app:2", steps=steps), 10)
    world.step(canary("app:2", steps=steps), 11)
    for seconds in (700, 1400):  # past progressDeadlineSeconds (600) with the run still Running
        result = world.step(canary("app:2", steps=steps), seconds)
    assert result.status == "Progressing" and not world.state.timed_out_message


def test_pre_promotion_analysis_blocks_the_switch_until_it_passes():
    world = World()
    spec = {"prePromotionAnalysis": ANALYSIS}
    world.step(bluegreen(**spec), 0)
    stable = world.state.stable_hash
    world.step(bluegreen("app:2", **spec), 10)
    world.step(bluegreen("app:2", **spec), 11)  # preview ready: the pre-promotion run starts
    pre = world.run("PrePromotion")
    assert pre["name"].endswith("-2-pre") and world.active() == stable
    world.step(bluegreen("app:2", **spec), 20)  # still running: no switch
    assert world.active() == stable
    world.step(bluegreen("app:2", **spec), 30, measured(pre, "Successful", 30))
    assert world.active() == world.state.current_hash and world.state.stable_hash == world.state.current_hash


def test_pre_promotion_failure_aborts_and_the_active_service_never_moves():
    world = World()
    spec = {"prePromotionAnalysis": ANALYSIS}
    world.step(bluegreen(**spec), 0)
    stable = world.state.stable_hash
    world.step(bluegreen("app:2", **spec), 10)
    world.step(bluegreen("app:2", **spec), 11)
    result = world.step(bluegreen("app:2", **spec), 20, measured(world.run("PrePromotion"), "Failed", 20))
    assert result.status == "Degraded" and world.active() == stable
    assert world.services["web-preview"]["spec"]["selector"]["rollouts-pod-template-hash"] == stable


def test_post_promotion_inconclusive_pauses_and_promote_completes():
    world = World()
    spec = {"postPromotionAnalysis": ANALYSIS}
    world.step(bluegreen(**spec), 0)
    world.step(bluegreen("app:2", **spec), 10)
    world.step(bluegreen("app:2", **spec), 11)  # switch, post run starts
    new = world.state.current_hash
    assert world.active() == new and world.state.stable_hash != new
    result = world.step(bluegreen("app:2", **spec), 20, measured(world.run("PostPromotion"), "Inconclusive", 20))
    assert (result.status, result.message) == ("Paused", "InconclusiveAnalysisRun")
    world.state.promote = {"revision": 2, "step": None, "full": False}
    result = world.step(bluegreen("app:2", **spec), 30)
    assert world.state.stable_hash == new and world.active() == new
    assert any(e.reason == "RolloutCompleted" for e in result.events)


def test_history_keeps_five_unsuccessful_runs():
    world = World()
    steps = [{"setWeight": 25}, {"analysis": ANALYSIS}]
    world.step(canary(steps=steps), 0)
    world.step(canary("app:2", steps=steps), 10)
    world.step(canary("app:2", steps=steps), 11)
    seconds = 20
    for _ in range(7):  # fail, retry, fail again...
        world.step(canary("app:2", steps=steps), seconds, measured(_latest(world), "Failed", seconds))
        world.state.retry = {"revision": 2}
        world.step(canary("app:2", steps=steps), seconds + 1)
        world.step(canary("app:2", steps=steps), seconds + 2)
        seconds += 10
    names = sorted(world.state.analysis)
    failed = [n for n in names if world.state.analysis[n]["status"] == "Failed"]
    assert len(failed) == 5
    assert any(n.endswith(".7") for n in names)  # attempts keep counting


def _latest(world):
    return max(world.state.analysis.values(), key=lambda r: (r["createdAt"], r["name"]))
