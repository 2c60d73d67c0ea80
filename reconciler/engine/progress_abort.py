"""spec.progressDeadlineAbort: what a progress-deadline timeout does.

As Argo (rollout/sync.go calculateRolloutConditions; tests TestBlueGreenProgressDeadlineAbort,
TestCanaryProgressDeadlineAbort): when the new ReplicaSet has timed out progressing,
- progressDeadlineAbort true: the update is aborted with the timeout's message (event
  RolloutAborted), so traffic and Services go back to the stable revision, as a failed analysis
  does; also when the flag is set after the timeout was already recorded;
- false (the default): the rollout is only Degraded (ProgressDeadlineExceeded), nothing is rolled
  back, and it is Progressing again once the pods come up.
The first deploy has no stable revision to go back to, so it is only Degraded. Pure.
"""

from __future__ import annotations


def check(ctx) -> None:
    """Abort the update in progress when it timed out and spec.progressDeadlineAbort is true."""
    from reconciler.engine import analysis

    state = ctx.state
    if not state.timed_out_message or state.aborted or ctx.spec.get("progressDeadlineAbort") is not True:
        return
    if not state.stable_hash or state.current_hash == state.stable_hash:
        return  # the first deploy (or a stable revision): nothing to go back to
    analysis.abort_rollout(ctx, state.timed_out_message)
    ctx.note("progressDeadlineAbort: the update timed out and is aborted, back to stable")
