"""The pure planner, table-tested without a cluster: one step per invocation, replica math,
revisions, gates."""

from datetime import datetime, timedelta, timezone

import pytest

from reconciler.cluster import kubelet
from reconciler.engine.hashing import pod_template_hash
from reconciler.engine.model import Desired, Live
from reconciler.engine.plan import plan
from reconciler.engine.replicas import BasicCanaryTarget, Pods, settle_basic_canary, surge_and_unavailable
from reconciler.engine.state import RolloutState

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rollout(image="app:1", steps=None, replicas=5, **canary):
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": image}]}},
            "strategy": {"canary": {"steps": steps if steps is not None else [{"setWeight": 20}, {"pause": {}}], **canary}},
        },
    }


def apply(replicasets, the_plan, now):
    """A tiny in-memory cluster: apply ReplicaSet actions, pods ready at once."""
    by_name = {rs["metadata"]["name"]: rs for rs in replicasets}
    for action in the_plan.actions:
        if action.kind == "ReplicaSet":
            previous = by_name.get(action.name)
            by_name[action.name] = kubelet.simulate_replicaset(kubelet.record_pod_starts(previous, action.after, now), {}, now)
    return list(by_name.values())


def drive(desired, state, replicasets, now):
    result = plan(Desired(desired), Live(replicasets=replicasets), state, now)
    return result, apply(replicasets, result, now)


def test_hash_ignores_key_order_and_our_label():
    a = {"metadata": {"labels": {"app": "x", "b": "1"}}, "spec": {"containers": [{"image": "i", "name": "n"}]}}
    b = {"spec": {"containers": [{"name": "n", "image": "i"}]}, "metadata": {"labels": {"b": "1", "app": "x", "rollouts-pod-template-hash": "zz"}}}
    assert pod_template_hash(a) == pod_template_hash(b)
    assert pod_template_hash(a) != pod_template_hash({**a, "spec": {"containers": [{"image": "j", "name": "n"}]}})


@pytest.mark.parametrize(
    "replicas,surge,unavailable,expected",
    [(5, None, None, (2, 1)), (1, None, None, (1, 0)), (10, "0%", "0%", (0, 1)), (4, 1, "50%", (1, 2))],
)
def test_surge_and_unavailable(replicas, surge, unavailable, expected):
    assert surge_and_unavailable(replicas, surge, unavailable) == expected


def test_seed_replica_table_settle():
    # seed 000 step 2 (weight 80 of 5): 4 canary pods while 3 stable remain, then the stable shrinks
    assert settle_basic_canary(BasicCanaryTarget(5, 80, 2, 1), Pods(1, 1), Pods(4, 4), []) == (4, 3, [])
    assert settle_basic_canary(BasicCanaryTarget(5, 80, 2, 1), Pods(4, 1), Pods(3, 3), []) == (4, 3, [])
    assert settle_basic_canary(BasicCanaryTarget(5, 80, 2, 1), Pods(4, 4), Pods(3, 3), []) == (4, 1, [])


def test_first_revision_is_stable_at_once_and_second_run_changes_nothing():
    state = RolloutState()
    result, replicasets = drive(rollout(), state, [], T0)
    assert [a.verb for a in result.actions] == ["create"] and result.state.revision == 1
    again, replicasets = drive(rollout(), result.state, replicasets, T0 + timedelta(seconds=10))
    # The run that sees the first revision's pods available writes nothing to the cluster; it
    # records that the revision completed (its progress deadline is over), and from then on a
    # run changes nothing at all.
    assert again.actions == [] and again.status == "Healthy" and again.state.progress_marker == "complete:1"
    third, _ = drive(rollout(), again.state, replicasets, T0 + timedelta(seconds=20))
    assert third.actions == [] and third.status == "Healthy" and third.state.progress_equal(again.state)


def test_one_step_per_invocation_and_indefinite_pause():
    first, replicasets = drive(rollout(), RolloutState(), [], T0)
    update, replicasets = drive(rollout("app:2"), first.state, replicasets, T0 + timedelta(seconds=10))
    assert update.state.revision == 2 and update.state.step_index == 0
    paused, replicasets = drive(rollout("app:2"), update.state, replicasets, T0 + timedelta(seconds=20))
    assert (paused.state.step_index, paused.status, paused.message) == (1, "Paused", "CanaryPauseStep")
    waiting, _ = drive(rollout("app:2"), paused.state, replicasets, T0 + timedelta(days=3))
    assert waiting.state.step_index == 1 and waiting.actions == []
    promoted_state = paused.state.copy()
    promoted_state.promote = {"revision": 2, "step": 1, "full": False}
    promoted, _ = drive(rollout("app:2"), promoted_state, replicasets, T0 + timedelta(seconds=30))
    assert promoted.state.step_index == 2 and promoted.state.promote is None
    # The person ended the pause, not its own condition: the note says so, never "done".
    assert "promote: step 2/2 (pause) ended by promote" in promoted.next.split("; ")


def test_experiment_step_runs_its_experiment_and_is_never_a_pass():
    """An experiment step without a duration or a required analysis never ends on its own (validate
    warns): the rollout stays at it, its ReplicaSet up, until a promote skips it (as Argo's does)."""
    from reconciler.engine.experiment_spec import OWNER_LABEL

    def split(replicasets):
        mine = [rs for rs in replicasets if OWNER_LABEL not in rs["metadata"].get("labels", {})]
        return Live(replicasets=mine, extra={"experimentReplicaSets": [rs for rs in replicasets if rs not in mine]})

    def drive_split(desired, state, replicasets, now):
        result = plan(Desired(desired), split(replicasets), state, now)
        return result, apply(replicasets, result, now)

    steps = [{"setWeight": 20}, {"experiment": {"templates": [{"name": "x", "specRef": "canary"}]}}, {"setWeight": 50}]
    first, replicasets = drive_split(rollout(steps=steps), RolloutState(), [], T0)
    update, replicasets = drive_split(rollout("app:2", steps=steps), first.state, replicasets, T0 + timedelta(seconds=1))
    at_experiment, replicasets = drive_split(rollout("app:2", steps=steps), update.state, replicasets, T0 + timedelta(seconds=2))
    assert at_experiment.state.step_index == 1 and "web-" in " ".join(at_experiment.state.experiments)
    created = [a for a in at_experiment.actions if a.kind == "ReplicaSet" and a.verb == "create"]
    assert [a.name for a in created] == [f"web-{update.state.current_hash}-2-1-x"]
    assert created[0].after["spec"]["template"]["spec"]["containers"][0]["image"] == "app:2"
    later, replicasets = drive_split(rollout("app:2", steps=steps), at_experiment.state, replicasets, T0 + timedelta(hours=1))
    assert later.state.step_index == 1 and later.view["experiments"][0]["status"] == "Running"
    state = later.state.copy()
    state.promote = {"revision": 2, "step": None, "full": False}
    promoted, replicasets = drive_split(rollout("app:2", steps=steps), state, replicasets, T0 + timedelta(hours=1, seconds=1))
    assert promoted.state.step_index == 2
    scaled = {a.name: a.after["spec"]["replicas"] for a in promoted.actions if a.kind == "ReplicaSet" and a.name.endswith("-x")}
    assert scaled == {f"web-{update.state.current_hash}-2-1-x": 0}  # the skipped experiment is terminated


def test_analysis_step_with_a_missing_template_aborts_and_says_why():
    steps = [{"setWeight": 20}, {"analysis": {"templates": [{"templateName": "x"}]}}, {"setWeight": 50}]
    first, replicasets = drive(rollout(steps=steps), RolloutState(), [], T0)
    update, replicasets = drive(rollout("app:2", steps=steps), first.state, replicasets, T0 + timedelta(seconds=1))
    at_analysis, replicasets = drive(rollout("app:2", steps=steps), update.state, replicasets, T0 + timedelta(seconds=2))
    assert at_analysis.state.step_index == 1 and at_analysis.status == "Progressing"
    aborted, _ = drive(rollout("app:2", steps=steps), at_analysis.state, replicasets, T0 + timedelta(seconds=3))
    assert aborted.status == "Degraded" and aborted.degraded_now
    assert aborted.message.startswith("RolloutAborted: Rollout aborted update to revision 2: Unable to resolve")
    assert "'x'" in aborted.message or '"x"' in aborted.message or " x " in aborted.message


def test_traffic_routed_canary_keeps_stable_whole():
    from tests.test_traffic_istio import VS_KEY, drive_routed, virtual_service

    routed = {"canaryService": "web-canary", "stableService": "web", "trafficRouting": {"istio": {"virtualService": {"name": "vs"}}}}
    traffic = {VS_KEY: virtual_service()}
    first, replicasets, traffic = drive_routed(rollout(**routed), RolloutState(), [], traffic, T0)
    update, replicasets, traffic = drive_routed(rollout("app:2", **routed), first.state, replicasets, traffic, T0 + timedelta(seconds=1))
    sizes = sorted(rs["spec"]["replicas"] for rs in replicasets)
    assert sizes == [1, 5]
