"""Traffic safety (DESIGN rule 7), applied to every plan after its strategy chose where the
Services should point:

- a Service selector (stable, canary, active, preview) only ever points at a ReplicaSet that
  will still have available pods after this run's writes, while any revision has some: a
  selector the strategy wants on a ReplicaSet whose pods are not available yet stays where it is
  (or moves to one that can serve), and a ReplicaSet being scaled to nothing loses its Services
  first (a 100 % canary step borrows the stable Service for the canary: the stable Service then
  carries `rebuild.STABLE_STANDIN_ANNOTATION` naming the stable revision, for a lost state);
- the run's writes are ordered: Service selectors first (they only move to ReplicaSets that have
  available pods already), then the rest, then ReplicaSets that shrink. A crash between any two
  writes leaves no selector on a ReplicaSet that lost its pods.

Route weights (a VirtualService's destinations are these Services) follow the Services they name.
Pure: it rewrites the plan's actions and events, nothing else.
"""

from __future__ import annotations

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.engine.context import Context, rs_available, rs_hash, rs_revision, rs_spec_replicas
from reconciler.engine.model import Action, Event
from reconciler.engine.rebuild import STABLE_STANDIN_ANNOTATION
from reconciler.engine.state import plain_copy

# Which Services a strategy names, and whether it names the stable revision when it serves
# another (a canary's stable Service; a blue-green active Service pointing at the new revision is
# the switch itself, and rebuild.py reads that case from the selector).
_ROLES = (("canary", "stableService", True), ("canary", "canaryService", False),
          ("blueGreen", "activeService", False), ("blueGreen", "previewService", False))


def _selected(service: dict | None) -> str:
    return (((service or {}).get("spec") or {}).get("selector") or {}).get(POD_TEMPLATE_HASH_LABEL, "")


def guard(ctx: Context) -> None:
    strategy = ctx.spec.get("strategy") or {}
    # Available right after this run: never more than now (new pods are not ready yet), and what a
    # scale-down leaves. ctx.rs_by_hash already predicts exactly that.
    after = {h: rs_available(rs) for h, rs in ctx.rs_by_hash.items()}
    serving = {h for h, n in after.items() if n > 0}
    if not serving:
        # Nothing will serve after this run: until the scale-downs land, what serves now does.
        after = {rs_hash(rs): rs_available(rs) for rs in ctx.live.replicasets}
        serving = {h for h, n in after.items() if n > 0}
    for kind, field, is_stable in _ROLES:
        name = (strategy.get(kind) or {}).get(field)
        if not name or name not in ctx.live.services:
            continue
        live_svc = ctx.live.services[name]
        wanted = _selected(ctx.services.get(name))
        target = _choose(ctx, wanted, _selected(live_svc), serving, after)
        _rewrite_service(ctx, name, live_svc, target, stable_role=is_stable)
    _order(ctx)


def _choose(ctx: Context, wanted: str, before: str, serving: set[str], after: dict[str, int]) -> str:
    """Where the Service may point: what the strategy wants if it can serve; else where it was if
    that can still serve; else the ReplicaSet that can: the current revision first (it is where
    the rollout is going), then the most available. `serving` is what serves after this run's
    writes, or, when nothing will, what serves until they land; with nothing at all, what the
    strategy wants."""
    if not wanted or wanted in serving or not serving:
        return wanted
    if before in serving:
        return before
    current = ctx.state.current_hash
    if current in serving:
        return current
    return max(serving, key=lambda h: (after[h], rs_revision(ctx.rs_by_hash.get(h) or {})))


def _rewrite_service(ctx: Context, name: str, live_svc: dict, target: str, *, stable_role: bool) -> None:
    """One write for the Service (or none), from its live form to the chosen selector."""
    final = plain_copy(live_svc)
    if target:
        final.setdefault("spec", {}).setdefault("selector", {})[POD_TEMPLATE_HASH_LABEL] = target
    if stable_role:
        annotations = dict((final.get("metadata") or {}).get("annotations") or {})
        stable = ctx.state.stable_hash
        if target and stable and target != stable and ctx.rs(stable) is not None:
            annotations[STABLE_STANDIN_ANNOTATION] = stable  # it stands in for the stable ReplicaSet
        else:
            annotations.pop(STABLE_STANDIN_ANNOTATION, None)
        meta = final.setdefault("metadata", {})
        if annotations:
            meta["annotations"] = annotations
        else:
            meta.pop("annotations", None)
    planned = [a for a in ctx.actions if a.kind == "Service" and a.name == name]
    if not planned and final == live_svc:
        return
    index = ctx.actions.index(planned[0]) if planned else len(ctx.actions)
    ctx.actions = [a for a in ctx.actions if a not in planned]
    switch = [e for e in ctx.events if e.reason == "SwitchService" and f"service '{name}'" in e.message]
    ctx.events = [e for e in ctx.events if e not in switch]
    ctx.services[name] = final
    if final == live_svc:
        return
    reason = f"selector {POD_TEMPLATE_HASH_LABEL}={target}"
    if stable_role and STABLE_STANDIN_ANNOTATION in ((final.get("metadata") or {}).get("annotations") or {}):
        reason += f" (stands in for stable {ctx.state.stable_hash}, which has no pods)"
    # The observed Service and the planned one, shared, not copied: neither is written to again
    # (engine/context.py replaces what it edits).
    ctx.actions.insert(index, Action("replace", "Service", (live_svc.get("metadata") or {}).get("namespace") or ctx.namespace, name,
                                     live_svc, final, reason))
    if _selected(final) != _selected(live_svc):
        event = Event("SwitchService", f"Switched selector for service '{name}' to value '{target}'")
        ctx.events.insert(ctx.events.index(switch[0]) if switch and switch[0] in ctx.events else len(ctx.events), event)


def _order(ctx: Context) -> None:
    """Selectors first (they only ever move to ReplicaSets that have available pods now), then
    the rest, then the ReplicaSets that shrink (all writes to one ReplicaSet keep their order and
    go where its scale-down goes)."""
    shrinking = {a.name for a in ctx.actions if a.kind == "ReplicaSet" and a.verb == "replace"
                 and rs_spec_replicas(a.after) < rs_spec_replicas(a.before)}
    serving_now = {rs_hash(rs) for rs in ctx.live.replicasets if rs_available(rs) > 0}

    def bucket(action: Action) -> tuple[int, int]:
        if action.kind == "Service":
            # A Service on a ReplicaSet without pods is repaired before any other moves.
            return (0, 0 if _selected(action.before) not in serving_now else 1)
        if action.kind in ("VirtualService", "DestinationRule"):
            return (0, 1)
        if action.kind == "ReplicaSet" and action.name in shrinking:
            return (2, 0)
        return (1, 0)

    ctx.actions = sorted(ctx.actions, key=bucket)
