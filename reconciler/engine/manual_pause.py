"""spec.paused: a person stopped the rollout where it is (what `kubectl argo rollouts pause`
sets on a Rollout; here it is set in Git).

As Argo (rollout/canary.go completedCurrentCanaryStep and reconcileCanaryPause return early when
spec.paused; rollout/bluegreen.go reconcileBlueGreenPause too; utils/rollout RolloutStatusString
shows "Paused" / "manually paused" after the Degraded checks):
- the current step's scaling still completes, but no step is marked done, no pause step starts
  its timer, the canary never becomes stable and the blue-green active Service never switches;
- paused time does not count against progressDeadlineSeconds;
- the displayed phase is Paused, message "manually paused" (aborted / timed out still show Degraded).

Argo's `promote` also clears spec.paused. Here Git owns spec.paused, so a `promote` recorded while
it is true waits: it acts once Git says `paused: false` (or drops the field). Pure.
"""

from __future__ import annotations

MANUAL_PAUSE_MESSAGE = "manually paused"


def is_paused(spec: dict) -> bool:
    return (spec or {}).get("paused") is True


def holds(ctx) -> bool:
    """True when spec.paused holds the rollout in this run (says so in the run's notes, once)."""
    if not is_paused(ctx.spec):
        return False
    text = "spec.paused is true: the rollout stays where it is; set `paused: false` in Git to resume"
    if text not in ctx.notes:
        ctx.note(text)
    return True
