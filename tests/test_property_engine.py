"""Property: for random step lists and replica counts, no invocation advances more than one step,
and available pods never drop below replicas - maxUnavailable."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.engine.replicas import surge_and_unavailable
from reconciler.engine.state import RolloutState
from tests.test_engine_plan import T0, drive, rollout

step = st.one_of(
    st.integers(min_value=0, max_value=100).map(lambda w: {"setWeight": w}),
    st.integers(min_value=0, max_value=120).map(lambda d: {"pause": {"duration": d}}),
)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(step, min_size=1, max_size=6), replicas=st.integers(min_value=1, max_value=12), gaps=st.lists(st.integers(1, 90), min_size=30, max_size=30))
def test_at_most_one_step_and_availability_budget(steps, replicas, gaps):
    _, unavailable = surge_and_unavailable(replicas, None, None)
    first, replicasets = drive(rollout(steps=steps, replicas=replicas), RolloutState(), [], T0)
    state, now = first.state, T0
    for gap in gaps:
        now += timedelta(seconds=gap)
        image = "app:2"  # every later run sees the new image (the first run above deployed app:1)
        before = state.step_index if state.current_hash else 0
        result, replicasets = drive(rollout(image, steps=steps, replicas=replicas), state, replicasets, now)
        if result.state.revision == state.revision:
            assert result.state.step_index - before <= 1
        available = sum(min(rs["status"]["availableReplicas"], rs["spec"]["replicas"]) for rs in replicasets)
        assert available >= replicas - unavailable
        state = result.state
    assert state.stable_hash == state.current_hash or state.step_index <= len(steps)
