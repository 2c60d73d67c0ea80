"""workloadRef (seed 003): the Rollout's pod template comes from a Deployment, found in the source
or in the cluster, and the Deployment is scaled down as `scaleDown` says (Argo's values):

- `never` (the default): the Deployment is left as it is;
- `onsuccess`: scaled to 0 once the Rollout is Healthy;
- `progressively`: scaled down as the Rollout's pods become available (Deployment replicas =
  its original count - the Rollout's available pods), to 0 once Healthy, and back up to its
  original count if the update is aborted.

Pure: `resolve` gives the Rollout with the Deployment's template; `plan_scale_down` adds the
Deployment's `replace` to the plan. The original replica count is recorded on the Deployment (an
annotation with the reconciler's prefix) so a Git re-apply does not undo the scale-down.
"""

from __future__ import annotations

from reconciler import PREFIX
from reconciler.engine.state import plain_copy

ORIGINAL_REPLICAS = f"{PREFIX}/workload-replicas"
SCALE_DOWN_MODES = ("never", "onsuccess", "progressively")


def reference(rollout: dict) -> dict | None:
    spec = rollout.get("spec") if isinstance(rollout.get("spec"), dict) else {}
    ref = spec.get("workloadRef")
    return ref if isinstance(ref, dict) and ref.get("name") else None


def resolve(rollout: dict, deployment: dict | None) -> tuple[dict, str]:
    """(the Rollout with spec.template (and spec.selector, when it has none) from the Deployment,
    problem). A problem means: plan nothing for it (never an empty ReplicaSet)."""
    ref = reference(rollout)
    if ref is None:
        return rollout, ""
    namespace = (rollout.get("metadata") or {}).get("namespace") or "default"
    kind = ref.get("kind") or "Deployment"
    if kind != "Deployment":
        return rollout, f"spec.workloadRef names a {kind}; only apps/v1 Deployments are supported"
    if deployment is None:
        return rollout, f"Deployment {namespace}/{ref['name']} (spec.workloadRef) is neither in the source nor in the cluster"
    dspec = deployment.get("spec") if isinstance(deployment.get("spec"), dict) else {}
    template = dspec.get("template") if isinstance(dspec.get("template"), dict) else {}
    if not ((template.get("spec") or {}).get("containers")):
        return rollout, f"Deployment {namespace}/{ref['name']} (spec.workloadRef) has no containers in its pod template"
    resolved = plain_copy(rollout)
    spec = resolved.setdefault("spec", {})
    spec["template"] = plain_copy(template)
    if not spec.get("selector") and isinstance(dspec.get("selector"), dict):
        spec["selector"] = plain_copy(dspec["selector"])
    return resolved, ""


def scale_down_mode(rollout: dict) -> str:
    ref = reference(rollout) or {}
    return str(ref.get("scaleDown") or "never")


def deployment_target(mode: str, original: int, status: str, available: int, aborted: bool) -> int | None:
    """The Deployment's replicas for `scaleDown` (None: leave it)."""
    if mode == "onsuccess":
        return 0 if status == "Healthy" else None
    if mode == "progressively":
        if aborted:
            return original
        if status == "Healthy":
            return 0
        return max(0, original - available)
    return None


def plan_scale_down(ctx, status: str) -> None:
    deployment = ctx.live.workload
    if deployment is None:
        return
    mode = scale_down_mode(ctx.desired.rollout)
    if mode == "never":
        return
    annotations = (deployment.get("metadata") or {}).get("annotations") or {}
    current = int((deployment.get("spec") or {}).get("replicas") if (deployment.get("spec") or {}).get("replicas") is not None else 1)
    try:
        original = int(annotations[ORIGINAL_REPLICAS])
    except (KeyError, TypeError, ValueError):
        original = current
    available = sum(int(((rs.get("status") or {}).get("availableReplicas")) or 0) for rs in ctx.rs_by_hash.values())
    target = deployment_target(mode, original, status, available, ctx.state.aborted)
    if target is None or (target == current and annotations.get(ORIGINAL_REPLICAS) == str(original)):
        return
    after = plain_copy(deployment)
    after.setdefault("spec", {})["replicas"] = target
    after.setdefault("metadata", {}).setdefault("annotations", {})[ORIGINAL_REPLICAS] = str(original)
    ctx._record("replace", deployment, after, f"workloadRef scaleDown={mode}: {current} -> {target}")
    if target != current:
        ctx.event("ScalingDeployment", f"Scaled Deployment {after['metadata'].get('name')} (workloadRef, scaleDown: {mode}) from {current} to {target}")


def carry_scaled_replicas(kind: str, live: dict | None, desired: dict) -> dict:
    """A Deployment the reconciler scales down (workloadRef) keeps its live replicas when the
    source's copy is re-applied, so a Git edit does not scale it back up."""
    if kind != "Deployment" or not live:
        return desired
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    if ORIGINAL_REPLICAS not in annotations:
        return desired
    after = plain_copy(desired)
    after.setdefault("spec", {})["replicas"] = (live.get("spec") or {}).get("replicas")
    after.setdefault("metadata", {}).setdefault("annotations", {})[ORIGINAL_REPLICAS] = annotations[ORIGINAL_REPLICAS]
    return after


def unresolved(rollout: dict) -> str:
    """Why a Rollout with workloadRef has no pod template to plan with ("" when it has one)."""
    ref = reference(rollout)
    if ref is None:
        return ""
    template = ((rollout.get("spec") or {}).get("template")) or {}
    if (template.get("spec") or {}).get("containers"):
        return ""
    namespace = (rollout.get("metadata") or {}).get("namespace") or "default"
    return f"the pod template of Deployment {namespace}/{ref['name']} (spec.workloadRef) was not resolved"
