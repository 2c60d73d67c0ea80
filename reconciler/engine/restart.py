"""spec.restartAt: replace the rollout's pods that started before it (`kubectl argo rollouts
restart`, or `reconciler restart`, which commits the field).

Argo's controller (rollout/restart.go) does it one pod per reconcile: only while every ReplicaSet
is fully available, stable ReplicaSet first, then the new one, then older ones; a pod already
being deleted makes it wait; when no pod is older than restartAt it records status.restartedAt.
Here one reconcile is one run, so a run deletes at most one pod (its ReplicaSet starts a
replacement), and a later run sees the replacement available before it deletes the next. Nothing
else moves in a run that restarts a pod, and no pod is deleted in a run whose strategy acts
(at most one step per run). Every reason to wait is said in the plan's notes, never silent.

Pure: the shell lists the pods (Live.pods, ReplicaSet name -> pods) only when `wants_pods` says
a restart is due, so a rollout without restartAt costs no read.
"""

from __future__ import annotations

from datetime import datetime

from reconciler.engine.context import Context, iso, parse_iso, rs_fully_available, rs_hash, rs_spec_replicas
from reconciler.engine.model import Action

RESTARTED_AT = "restartedAt"  # kept in the state's extra: the restartAt that was completed


def _restart_at(rollout_spec: dict) -> tuple[str | None, datetime | None]:
    raw = rollout_spec.get("restartAt") if isinstance(rollout_spec, dict) else None
    if raw in (None, ""):
        return None, None
    text = raw.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(raw, datetime) else str(raw)
    return text, parse_iso(text)


def wants_pods(rollout: dict, state, now: datetime) -> bool:
    """True when this run may restart a pod, so the shell must list the rollout's pods."""
    text, at = _restart_at((rollout or {}).get("spec") or {})
    return at is not None and at <= now and (state.extra or {}).get(RESTARTED_AT) != iso(at)


def _pod_started(pod: dict) -> datetime | None:
    meta = pod.get("metadata") or {}
    return parse_iso(meta.get("creationTimestamp") or (pod.get("status") or {}).get("startTime"))


def plan_restart(ctx: Context) -> None:
    """Delete at most one pod older than spec.restartAt, or record that none is left."""
    text, at = _restart_at(ctx.spec)
    if text is None:
        return
    if at is None:
        ctx.note(f"spec.restartAt {text!r} is not a time (RFC 3339, e.g. 2026-01-01T00:00:00Z): no pod is restarted")
        return
    done_at = iso(at)
    if (ctx.state.extra or {}).get(RESTARTED_AT) == done_at:
        return
    if at > ctx.now:
        ctx.note(f"restart scheduled at {done_at}")
        return
    if ctx.actions:
        ctx.note(f"restart at {done_at} waits: this run moves the rollout (one step per run)")
        return
    serving = [rs for rs in ctx.rs_by_hash.values() if rs_spec_replicas(rs) > 0]
    not_ready = [rs["metadata"]["name"] for rs in serving if not rs_fully_available(rs)]
    if not_ready:
        ctx.note(f"restart at {done_at} waits: ReplicaSet {', '.join(sorted(not_ready))} is not fully available")
        return
    stable, current = ctx.state.stable_hash, ctx.state.current_hash
    ordered = sorted(serving, key=lambda rs: (rs_hash(rs) != stable, rs_hash(rs) != current, str((rs.get("metadata") or {}).get("creationTimestamp") or "")))
    observed = 0
    for rs in ordered:
        pods = list(ctx.live.pods.get(rs["metadata"]["name"]) or [])
        observed += len(pods)
        if any((pod.get("metadata") or {}).get("deletionTimestamp") for pod in pods):
            ctx.note(f"restart at {done_at} waits: a pod of ReplicaSet {rs['metadata']['name']} is being deleted")
            return
        older = [(started, pod) for pod in pods if (started := _pod_started(pod)) is not None and started < at]
        if older:
            started, pod = min(older, key=lambda pair: pair[0])
            name = pod["metadata"]["name"]
            reason = f"restart: pod started {iso(started)}, before spec.restartAt {done_at}"
            ctx.actions.append(Action("delete", "Pod", ctx.namespace, name, pod, None, reason))
            ctx.event("RolloutPodRestarted", f"Restarting pod {name} (started before restartAt {done_at})")
            ctx.note(f"restart: replace pod {name} of ReplicaSet {rs['metadata']['name']} (started {iso(started)}, before {done_at})")
            return
    if serving and not observed:
        ctx.note(f"restart at {done_at} waits: no pod of the rollout was observed")
        return
    ctx.state.extra = dict(ctx.state.extra or {}, **{RESTARTED_AT: done_at})
    ctx.event("RolloutRestarted", f"All pods started after restartAt {done_at}")
    ctx.note(f"restart at {done_at} complete: every pod was observed started after it")


def pods_by_replicaset(pods: list[dict], replicasets: list[dict]) -> dict[str, list[dict]]:
    """The listed pods of these ReplicaSets, by ReplicaSet name (owner reference)."""
    names = {(rs.get("metadata") or {}).get("name") for rs in replicasets}
    out: dict[str, list[dict]] = {}
    for pod in pods:
        owner = next((o.get("name") for o in (pod.get("metadata") or {}).get("ownerReferences") or [] if o.get("kind") == "ReplicaSet"), None)
        if owner in names:
            out.setdefault(owner, []).append(pod)
    return out
