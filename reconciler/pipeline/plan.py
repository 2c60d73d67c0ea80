"""Stage 5, plan: what to write. Pure given what observe read (`now` is an argument).

    manifest_actions(applied, world, owner) -> [(Manifest, Action)]   plain manifests changed since last applied
    rollouts(rollouts, lives, now, notifier) -> {key: (previous, Plan)}   engine/plan.py per rollout
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime

from reconciler import POD_TEMPLATE_HASH_LABEL, PREFIX
from reconciler.drift import drifted_fields
from reconciler.engine import workload
from reconciler.engine.model import Action, Live, Plan
from reconciler.engine.plan import plan as plan_rollout
from reconciler.engine.rebuild import STABLE_STANDIN_ANNOTATION
from reconciler.engine.state import RolloutState
from reconciler.engine.traffic.istio_carry_over import carry_managed_fields
from reconciler.kinds import namespaced, object_key
from reconciler.pipeline.observe import Rollouts, World
from reconciler.plain_data import plain
from reconciler.redact import secret_as_stored

APPLIED_HASH_ANNOTATION = f"{PREFIX}/applied-hash"
# Which SOURCE applied the object (Checkout.owner): what `--prune` goes by (pipeline/prune.py). Written
# on everything applied from Git, so an object applied before it existed is written once more to get it.
APPLIED_FROM_ANNOTATION = f"{PREFIX}/applied-from"
# Plain manifests go first, in this order, so a Rollout never sees its Service missing.
_APPLY_ORDER = ["Namespace", "CustomResourceDefinition", "ServiceAccount", "Secret", "ConfigMap", "Service", "ClusterAnalysisTemplate", "AnalysisTemplate"]


def _content_hash(obj: dict) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def manifest_actions(applied: list, seen: World, owner: str = "") -> list[tuple]:
    """(manifest, Action) to create or replace the plain manifests whose content changed since the
    reconciler last applied them (tracked by an annotation, so server defaults never cause a write).
    `applied` is what validation let through (reconciler.kinds.applied); it reported the others. The selector hash the engine
    sets on Services is kept. Each is annotated with `owner`, the SOURCE that applied it (`--prune`
    deletes only what its own SOURCE applied); one applied before that annotation existed is written once more."""
    actions = []
    ordered = sorted(applied, key=lambda m: _APPLY_ORDER.index(m.kind) if m.kind in _APPLY_ORDER else len(_APPLY_ORDER))
    for manifest in ordered:
        if manifest.ref in seen.bad:
            continue
        desired = plain(manifest.obj)
        if manifest.kind == "Secret":
            desired = secret_as_stored(desired)
        digest = _content_hash(desired)
        key = object_key(desired)
        live = seen.live_by_key.get(key)
        drift = None
        live_notes = ((live or {}).get("metadata") or {}).get("annotations") or {}
        unowned = live is not None and not live_notes.get(APPLIED_FROM_ANNOTATION)
        if live is not None and live_notes.get(APPLIED_HASH_ANNOTATION) == digest:
            # applied already: only a hand change makes it differ (what the engine manages is taken from live)
            drift = drifted_fields(workload.carry_scaled_replicas(manifest.kind, live, carry_managed_fields(manifest.kind, live, desired)), live)
            if not drift and not unowned:
                continue
        after = copy.deepcopy(desired)
        meta = after.setdefault("metadata", {})
        if namespaced(manifest.kind):
            meta["namespace"] = key[1]
        meta.setdefault("annotations", {})[APPLIED_HASH_ANNOTATION] = digest
        meta["annotations"][APPLIED_FROM_ANNOTATION] = owner
        if live is not None:
            meta["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
            live_hash = ((live.get("spec") or {}).get("selector") or {}).get(POD_TEMPLATE_HASH_LABEL)
            if manifest.kind == "Service" and live_hash:
                after.setdefault("spec", {}).setdefault("selector", {})[POD_TEMPLATE_HASH_LABEL] = live_hash
                standin = ((live.get("metadata") or {}).get("annotations") or {}).get(STABLE_STANDIN_ANNOTATION)
                if standin:  # which revision is stable while the stable Service serves the canary (rebuild.py)
                    meta["annotations"][STABLE_STANDIN_ANNOTATION] = standin
            after = carry_managed_fields(manifest.kind, live, after)  # a router's weights/subsets survive a Git edit
            after = workload.carry_scaled_replicas(manifest.kind, live, after)  # and a workloadRef's scale-down
        if drift:
            reason = f"revert drift in {', '.join(drift)} (changed live, not in Git)"
        elif unowned and live_notes.get(APPLIED_HASH_ANNOTATION) == digest:
            reason = f"record which SOURCE applied it ({APPLIED_FROM_ANNOTATION}, for --prune); unchanged in {manifest.file}"
        else:
            reason = f"apply {manifest.file}"
        actions.append((manifest, Action("replace" if live else "create", manifest.kind, key[1], key[2], live, after, reason)))
    return actions


def rollouts(found: Rollouts, lives: dict[tuple[str, str], tuple[RolloutState, Live]], now: datetime, notifier=None) -> dict[tuple, tuple[RolloutState, Plan]]:
    """Each rollout's Plan from its previous state and what observe read of it; the notifications
    its plan triggers are queued on the recorded state (so they are delivered once, with the step)."""
    plans = {}
    for key, (previous, live) in lives.items():
        desired = found.desired[key]
        plans[key] = (previous, plan_rollout(desired, live, previous, now))
        if notifier is not None:
            notifier.enqueue(desired, plans[key][1], now)
    return plans
