"""Lost or contradicting state is rebuilt from the cluster, never guessed (DESIGN rule 6).

    examine(desired, live, state, now) -> Verdict

When the recorded state is missing, unreadable (the status store says so in
`live.extra["stateUnreadable"]`), or contradicts the live objects, the state is rebuilt from what
the cluster witnesses:

- stable: the ReplicaSet the stable/active Service selects (or, while a canary at 100 % borrows
  the stable Service, the one its stand-in annotation names); else the highest revision whose
  ReplicaSet alone serves the whole rollout;
- the update: the ReplicaSet of the current pod template, its revision annotation; scaled to 0
  while the stable serves, it was aborted;
- the canary step: the step after the last setWeight/setCanaryScale whose replica counts are
  present, so a pause there holds (paused again, from now);
- blue-green: back in preview, the strategy decides again from the live counts.

A rebuild is recorded in the run that finds it, and that run changes nothing else. If the state
cannot be rebuilt without a guess (no Service says which revision is stable and none serves the
whole rollout; a blue-green switch whose post-promotion analysis result was lost), the rollout
halts: a recorded `halted` reason, no live write, exit 1 every run, until a person runs
`promote` (go on from the rebuilt picture), `abort` (back to the named stable) or `retry`.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from reconciler import POD_TEMPLATE_HASH_LABEL, PREFIX
from reconciler.engine.context import (
    SCALE_DOWN_DEADLINE_ANNOTATION,
    iso,
    rs_available,
    rs_hash,
    rs_revision,
    rs_spec_replicas,
)
from reconciler.engine.hashing import pod_template_hash
from reconciler.engine.model import Desired, Live
from reconciler.engine.replica_targets import max_traffic_weight
from reconciler.engine.replicas import canary_split
from reconciler.engine.state import RolloutState

# On the stable Service while it selects the canary because the stable ReplicaSet has no pods
# (a 100 % canary step): the stable revision's hash, so a lost state still knows which one it is.
STABLE_STANDIN_ANNOTATION = f"{PREFIX}/stable-pod-template-hash"
# In state.extra: the revision a person fully promoted (its recorded step is past the live counts on purpose).
PROMOTED_FULL = "promotedFull"
WEIGHT_STEPS = ("setWeight", "setCanaryScale")
PAUSING_STEPS = ("pause",)  # (an experiment step rebuilt starts its experiment again: never a shorter one)


@dataclass
class Verdict:
    state: RolloutState
    rebuilt: str = ""  # why the state was rebuilt ("" : the recorded state stands)
    halt: bool = False  # it could not be rebuilt without a guess: state.halted says what to do


# -- what the cluster witnesses ---------------------------------------------------------------------


class _Witness:
    def __init__(self, desired: Desired, live: Live, template_hash: str = "", recorded_replicas: int | None = None):
        self.name = desired.name
        self.recorded_replicas = recorded_replicas  # spec.replicas when the state was recorded
        spec = desired.spec
        strategy = spec.get("strategy") or {}
        self.bluegreen = "blueGreen" in strategy
        self.canary = strategy.get("canary") or {}
        self.bg = strategy.get("blueGreen") or {}
        self.steps = list(self.canary.get("steps") or [])
        self.routed = bool(self.canary.get("trafficRouting"))
        self.replicas = 1 if spec.get("replicas") is None else int(spec.get("replicas"))
        self.template_hash = template_hash or pod_template_hash(spec.get("template") or {})
        self.rs = {rs_hash(rs): rs for rs in live.replicasets}
        self.service_name = self.bg.get("activeService") if self.bluegreen else self.canary.get("stableService")
        self.service = live.services.get(self.service_name or "")

    def revision(self, pod_hash: str) -> int:
        return rs_revision(self.rs[pod_hash]) if pod_hash in self.rs else 0

    def max_revision(self) -> int:
        return max([rs_revision(rs) for rs in self.rs.values()] or [0])

    def selected(self) -> str:
        """The stable hash the stable/active Service witnesses ("" when it names no live ReplicaSet,
        or one scaled to nothing: a selector left where nothing serves says nothing)."""
        meta = (self.service or {}).get("metadata") or {}
        standin = (meta.get("annotations") or {}).get(STABLE_STANDIN_ANNOTATION, "")
        if standin in self.rs:
            return standin
        selected = (((self.service or {}).get("spec") or {}).get("selector") or {}).get(POD_TEMPLATE_HASH_LABEL, "")
        return selected if selected in self.rs and rs_spec_replicas(self.rs[selected]) > 0 else ""

    def serving(self, exclude: str = "") -> list[str]:
        """Hashes with pods, most available first, then the highest revision."""
        found = [h for h, rs in self.rs.items() if h != exclude and rs_spec_replicas(rs) > 0]
        return sorted(found, key=lambda h: (rs_available(self.rs[h]), self.revision(h)), reverse=True)

    def resized(self, replicas: int) -> _Witness:
        """The same witness judged against another spec.replicas."""
        other = copy.copy(self)
        other.replicas = replicas
        return other

    def whole(self) -> list[str]:
        """Hashes whose ReplicaSet alone serves the whole rollout, highest revision first."""
        found = [h for h, rs in self.rs.items() if rs_available(rs) >= self.replicas > 0]
        return sorted(found, key=self.revision, reverse=True)

    def canary_targets(self, index: int) -> tuple[int, int]:
        from reconciler.engine.canary_steps import canary_scale_at
        from reconciler.engine.replica_targets import set_weight_at

        top = max_traffic_weight(self.canary)
        canary, stable = canary_split(self.replicas, set_weight_at(self.steps, index, top), self.routed, max_weight=top)
        scale = canary_scale_at(self.steps, index) if self.routed else None
        if scale:
            if scale.get("replicas") is not None:
                canary = int(scale["replicas"])
            elif scale.get("weight") is not None:
                canary = canary_split(self.replicas, int(scale["weight"]), True)[0]
        return canary, stable

    def steps_from_counts(self, current: str, stable: str) -> list[int]:
        """The steps the live replica counts could be at, earliest first: each is the step after a
        weight step whose counts are live (an exact match; else the last one whose canary count is
        reached), so a pause right after it holds again."""
        canary_count = rs_spec_replicas(self.rs.get(current))
        stable_count = rs_spec_replicas(self.rs.get(stable)) if stable != current else 0
        weight_steps = [i for i, step in enumerate(self.steps) if _is_weight_step(step)]
        exact = [i + 1 for i in weight_steps if self.canary_targets(i) == (canary_count, stable_count)]
        if exact:
            return exact
        last = -1
        for i in weight_steps:
            if self.canary_targets(i)[0] > canary_count:
                break
            last = i
        return [last + 1]

    def step_from_counts(self, current: str, stable: str) -> int:
        """The first step whose effects are not all present (the earliest the counts allow)."""
        return self.steps_from_counts(current, stable)[0]

    def furthest_step(self, current: str, stable: str) -> int:
        """The furthest step the live counts allow: pauses leave no trace, so any step up to (and
        entering) the next weight step whose counts differ from the live ones."""
        counts = (rs_spec_replicas(self.rs.get(current)), rs_spec_replicas(self.rs.get(stable)) if stable != current else 0)
        furthest = 0
        for start in self.steps_from_counts(current, stable):
            reach = len(self.steps)
            for i in range(start, len(self.steps)):
                if _is_weight_step(self.steps[i]) and self.canary_targets(i) != counts:
                    reach = i
                    break
            furthest = max(furthest, reach)
        return furthest


def _kind(step) -> str:
    """A step's pausing part when it has one (a step may hold setCanaryScale and pause), else its first key."""
    if not isinstance(step, dict):
        return ""
    return next((key for key in PAUSING_STEPS if step.get(key) is not None), next(iter(step), ""))


def _is_weight_step(step) -> bool:
    """A step that sets the counts and does not also wait (its counts being live says it is over)."""
    return isinstance(step, dict) and any(step.get(k) is not None for k in WEIGHT_STEPS) and _kind(step) not in PAUSING_STEPS


# -- is the recorded state to be trusted? -------------------------------------------------------------


def recorded_replicas(state: RolloutState) -> int | None:
    """spec.replicas as the last run saw it (recorded with the state's desired summary), if it says."""
    value = (state.desired_summary or {}).get("replicas")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def contradiction(w: _Witness, state: RolloutState, unreadable: str = "") -> str:
    """Why the recorded state cannot be used as is ("" : it can)."""
    if unreadable:
        return f"the recorded state is unreadable ({unreadable})"
    if not w.rs:
        return ""  # nothing live yet: a new rollout (or one to create again)
    if state.halted:  # look again: the cluster may say more now (a person fixed a Service)
        return str(state.halted.get("why") or "the rollout was halted")
    missing = [name for name, value in (("revision", state.revision), ("current_hash", state.current_hash), ("stable_hash", state.stable_hash)) if not value]
    if len(missing) == 3:
        return "the recorded state is missing"
    if missing:
        return f"the recorded state has no {', '.join(missing)}"
    if state.stable_hash not in w.rs:
        return f"the recorded stable ReplicaSet ({state.stable_hash}) is not in the cluster"
    selected = w.selected()
    # The stable Service leaves a stable ReplicaSet that has pods only when something else moved it
    # (traffic_safety.py moves it only off a ReplicaSet without pods).
    if selected and selected not in (state.stable_hash, state.current_hash) and rs_available(w.rs[state.stable_hash]) > 0:
        return f"Service {w.service_name} selects {selected}, which the recorded state calls neither stable ({state.stable_hash}) nor current ({state.current_hash})"
    template_rs = w.rs.get(w.template_hash)
    if state.current_hash != w.template_hash and template_rs is not None and rs_revision(template_rs) >= state.revision:
        return f"ReplicaSet {w.template_hash} is revision {rs_revision(template_rs)}, newer than the recorded revision {state.revision} of another template"
    current_rs = w.rs.get(state.current_hash)
    if current_rs is not None and state.current_hash == w.template_hash and rs_revision(current_rs) and rs_revision(current_rs) != state.revision:
        return f"ReplicaSet {state.current_hash} is revision {rs_revision(current_rs)}, the recorded state says {state.revision}"
    if state.current_hash == state.stable_hash:
        current_available = rs_available(current_rs)
        others = [h for h in w.serving(exclude=state.current_hash) if rs_available(w.rs[h]) > current_available]
        if others and rs_spec_replicas(current_rs) < w.replicas:
            return f"the recorded state calls revision {state.revision} stable, but revision {w.revision(others[0])} serves more pods"
        return ""
    if state.aborted or current_rs is None:
        return ""
    if rs_spec_replicas(current_rs) == 0 and (w.bluegreen or w.canary_targets(min(state.step_index, len(w.steps)))[0] > 0):
        return f"revision {state.revision} is scaled to 0 but the recorded state says it is being rolled out"
    if not w.bluegreen and state.extra.get(PROMOTED_FULL) != state.revision:
        furthest = w.furthest_step(state.current_hash, state.stable_hash)
        recorded = w.recorded_replicas
        if recorded is not None and recorded != w.replicas:
            # spec.replicas changed since the last run (a scale while paused): the live counts are
            # still the split of the recorded size until this run rescales them (Argo's e2e
            # TestRolloutScalingWhenPaused); read as the new size, they would look like step 0.
            furthest = max(furthest, w.resized(recorded).furthest_step(state.current_hash, state.stable_hash))
        if state.step_index > furthest:  # (entering a step whose counts are not there yet is normal, also after a crash)
            return f"the recorded step {state.step_index} is past what the live replica counts allow (step {furthest} at most)"
    return ""


# -- rebuild --------------------------------------------------------------------------------------------


def examine(desired: Desired, live: Live, state: RolloutState, now: datetime, template_hash: str = "",
            recorded_replicas: int | None = None) -> Verdict:
    """`template_hash`: the pod-template hash of the desired template, when the caller has it;
    `recorded_replicas`: spec.replicas as the previous run recorded it (`recorded_replicas(previous)`)."""
    w = _Witness(desired, live, template_hash, recorded_replicas)
    why = contradiction(w, state, str(live.extra.get("stateUnreadable") or ""))
    if not why:
        return Verdict(state)
    return rebuild(w, state, now, why)


def _fresh(previous: RolloutState) -> RolloutState:
    """A state that keeps only what the live objects cannot say and no decision depends on."""
    state = RolloutState()
    state.desired_summary = dict(previous.desired_summary)
    state.gates_consumed = list(previous.gates_consumed)
    for gate in ("promote", "abort", "retry"):
        setattr(state, gate, getattr(previous, gate))
    return state


def rebuild(w: _Witness, previous: RolloutState, now: datetime, why: str) -> Verdict:
    state = _fresh(previous)
    state.revisions = {h: w.revision(h) for h in w.rs if w.revision(h)}
    state.step_started_at = state.last_progress_at = iso(now)
    current = w.template_hash
    current_rs = w.rs.get(current)
    stable = w.selected() or next(iter(w.whole()), "")
    serving_others = w.serving(exclude=current)
    if not stable and not serving_others:
        stable = current if current_rs is not None else next(iter(sorted(w.rs, key=w.revision, reverse=True)), "")
    for h, rs in w.rs.items():
        deadline = ((rs.get("metadata") or {}).get("annotations") or {}).get(SCALE_DOWN_DEADLINE_ANNOTATION)
        if deadline and rs_spec_replicas(rs) > 0 and h not in (current, stable):
            state.scale_down_at[h] = deadline

    if current_rs is None or (w.revision(current) and w.revision(current) < w.max_revision() and current != stable):
        # The current template has not started (or is an old one coming back): the stable one is
        # where the rollout is; the next run starts the update from its first step.
        if not stable:
            return _halt(w, state, why, current, serving_others)
        state.revision = w.revision(stable) or w.max_revision() or 1
        state.current_hash = state.stable_hash = stable
        state.step_index = len(w.steps)
        return Verdict(state, f"{why}; rebuilt from the cluster: revision {state.revision} ({stable}) is stable")

    state.revision = w.revision(current) or w.max_revision() or 1
    state.current_hash = current
    state.revisions[current] = state.revision
    if not stable:
        return _halt(w, state, why, current, serving_others)
    state.stable_hash = stable
    said = f"{why}; rebuilt from the cluster: stable revision {w.revision(stable)} ({stable}"
    said += f", selected by Service {w.service_name})" if w.selected() == stable else ")"
    if stable == current:
        state.step_index = len(w.steps)
        if w.bluegreen and w.bg.get("postPromotionAnalysis") and state.scale_down_at:
            older = max(state.scale_down_at, key=w.revision)
            state.stable_hash = older
            state.promoted_at = iso(now)
            return _halt(w, state, why + f"; revision {state.revision} is active but whether its post-promotion analysis passed was lost",
                         current, [older], promote=f"accept revision {state.revision}", abort=f"switch back to revision {w.revision(older)}")
        return Verdict(state, said)
    if rs_spec_replicas(current_rs) == 0:
        state.aborted = True
        state.aborted_at = iso(now)
        state.aborted_message = f"revision {state.revision} is scaled to 0 while revision {w.revision(stable)} serves (state rebuilt); `reconciler retry` starts it again"
        return Verdict(state, said + f"; revision {state.revision} is scaled to 0: aborted")
    if w.bluegreen:
        state.step_index = 0
        return Verdict(state, said + f"; revision {state.revision} in preview")
    state.step_index = min(w.step_from_counts(current, stable), len(w.steps))
    _pause_if_sitting(w, state, now)
    return Verdict(state, said + f"; revision {state.revision} at step {state.step_index}/{len(w.steps)}" + (" (paused)" if state.pause_reason else ""))


def _pause_if_sitting(w: _Witness, state: RolloutState, now: datetime) -> None:
    if state.step_index < len(w.steps) and _kind(w.steps[state.step_index]) in PAUSING_STEPS:
        state.pause_started_at = iso(now)
        state.pause_reason = "CanaryPauseStep" if _kind(w.steps[state.step_index]) == "pause" else (
            f"StepNotSupported: {_kind(w.steps[state.step_index])} steps are not supported yet; `reconciler promote` to skip it")


def _halt(w: _Witness, state: RolloutState, why: str, current: str, candidates: list[str], *,
          promote: str = "", abort: str = "") -> Verdict:
    """Cannot rebuild without a guess: record what is known and what a person can decide."""
    reason = why
    candidate = candidates[0] if candidates else ""
    if not state.stable_hash:
        state.stable_hash = candidate
    stable_rev = w.revision(state.stable_hash)
    if not w.bluegreen and state.stable_hash and state.stable_hash != current and not state.promoted_at:
        state.step_index = min(w.step_from_counts(current, state.stable_hash), len(w.steps))
    if not w.selected() and not promote:
        why += f"; no Service selects a stable ReplicaSet and no revision serves all {w.replicas} replicas, so which revision is stable would be a guess"
    promote = promote or f"go on with revision {state.revision} from step {state.step_index} with revision {stable_rev} as stable"
    abort = abort or f"go back to revision {stable_rev}"
    hint = (f"`reconciler promote {w.name}` to {promote}; `reconciler abort {w.name}` to {abort}; "
            f"`reconciler retry {w.name}` to restart revision {state.revision} from step 0")
    state.halted = {"why": reason, "message": why, "hint": hint, "stable": state.stable_hash}
    return Verdict(state, "", halt=True)
