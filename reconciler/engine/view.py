"""The rollout view (docs/ARCHITECTURE.md, `get rollout NAME -o json`) and the displayed phase.

Pure. Inputs: the desired summary recorded with the state (strategy, steps, replicas, Services),
the live (or predicted) ReplicaSets with their status, the pods per ReplicaSet, and the state.
The phase follows Argo's CalculateRolloutPhase: Degraded (aborted / progress deadline), Paused,
then replica checks, then strategy checks, else Healthy.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from reconciler.engine.context import (
    SCALE_DOWN_DEADLINE_ANNOTATION,
    rs_available,
    rs_hash,
    rs_revision,
    rs_spec_replicas,
)
from reconciler.engine.pods import pod_entry
from reconciler.engine.replica_targets import set_weight_at
from reconciler.engine.state import RolloutState


def _counts(summary: Mapping, state: RolloutState, replicasets: list[dict], services: Mapping | None = None) -> dict:
    new_rs = next((rs for rs in replicasets if rs_hash(rs) == state.current_hash), None)
    status = lambda rs, key: int(((rs or {}).get("status") or {}).get(key) or 0)  # noqa: E731
    serving = replicasets
    if summary.get("strategy") == "BlueGreen":
        # As Argo: Ready/Available count the ReplicaSet the active Service selects (read back
        # from the cluster); all ReplicaSets when no Service selects one.
        active = _selected(services, summary.get("activeService"))
        if active and any(rs_hash(rs) == active for rs in replicasets):
            serving = [rs for rs in replicasets if rs_hash(rs) == active]
    return {
        "desired": int(summary.get("replicas", 0) or 0),
        "current": sum(status(rs, "replicas") for rs in replicasets),
        "updated": status(new_rs, "replicas"),
        "ready": sum(status(rs, "readyReplicas") for rs in serving),
        "available": sum(status(rs, "availableReplicas") for rs in serving),
    }


def phase(summary: Mapping, state: RolloutState, replicasets: list[dict], services: Mapping | None = None) -> tuple[str, str]:
    """(status, message). The message ends by naming the set fields the reconciler does not act on
    (reconciler/fields.py), whatever the status."""
    status, message = _phase(summary, state, replicasets, services)
    ignored = summary.get("notActedOn") or []
    if ignored:
        note = f"not acted on: {', '.join(ignored)} (see `reconciler fields`)"
        message = f"{message}; {note}" if message else note
    return status, message


def _phase(summary: Mapping, state: RolloutState, replicasets: list[dict], services: Mapping | None = None) -> tuple[str, str]:
    if state.halted:
        return "Degraded", f"StateLost: {state.halted.get('message', '')}"
    if state.aborted:
        return "Degraded", f"RolloutAborted: {state.aborted_message}"
    if state.timed_out_message:
        return "Degraded", f"ProgressDeadlineExceeded: {state.timed_out_message}"
    if summary.get("paused"):
        return "Paused", "manually paused"  # spec.paused (engine/manual_pause.py)
    held = getattr(state, "hold", None) or {}
    if held.get("message"):
        return held.get("status") or "Paused", held["message"]
    if state.pause_reason:
        return "Paused", state.pause_reason
    counts = _counts(summary, state, replicasets, services)
    if counts["updated"] < counts["desired"]:
        return "Progressing", "more replicas need to be updated"
    if counts["available"] < counts["updated"]:
        return "Progressing", "updated replicas are still becoming available"
    if summary.get("strategy") == "BlueGreen":
        if state.stable_hash != state.current_hash:
            return "Progressing", "active service cutover pending"
    else:
        if not summary.get("trafficRouted") and counts["current"] > counts["updated"]:
            return "Progressing", "old replicas are pending termination"
        if state.stable_hash != state.current_hash:
            return "Progressing", "waiting for all steps to complete"
    return "Healthy", ""


def weight_words(view: Mapping) -> str:
    """How a one-line summary states a canary's weight: the step's (setWeight) and, when it differs,
    the weight live now (actualWeight); with no weight read back (a router the reconciler does not
    implement, a missing route), it says none is set rather than stating the step's as if it were."""
    wanted, actual = view.get("setWeight"), view.get("actualWeight")
    if actual is None:
        return f"setWeight {wanted}, no traffic weight set"
    if actual != wanted:
        return f"weight {wanted} (actual {actual})"
    return f"weight {wanted}"


def _routed_weight(traffic: Mapping | None, state: RolloutState) -> int | None:
    """ActualWeight of a routed canary, read from the live routes: the canary's weight; once the
    revision is stable every destination is it, so all the traffic (when the routes read back)."""
    if traffic is None or traffic.get("weight") is None:
        return None
    if state.current_hash == state.stable_hash and not state.aborted:
        return int(traffic.get("total") or 100)
    return int(traffic["weight"])


def _max_weight(summary: Mapping) -> int:
    """All the traffic, in the routes' units: trafficRouting.maxTrafficWeight (default 100)."""
    routing = summary.get("trafficRouting")
    value = routing.get("maxTrafficWeight") if isinstance(routing, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 100


def _tags(summary: Mapping, state: RolloutState, pod_hash: str, services: Mapping | None) -> list[str]:
    tags = []
    if pod_hash == state.stable_hash:
        tags.append("stable")
    if summary.get("strategy") == "BlueGreen":
        active = _selected(services, summary.get("activeService")) or state.stable_hash
        preview = _selected(services, summary.get("previewService")) or state.current_hash
        if pod_hash == active:
            tags.append("active")
        elif pod_hash == preview and pod_hash == state.current_hash and not state.aborted:
            tags.append("preview")
    elif pod_hash == state.current_hash and pod_hash != state.stable_hash:
        tags.append("canary")
    return tags


def _selected(services: Mapping | None, name: str | None) -> str:
    if not services or not name or name not in services:
        return ""
    from reconciler import POD_TEMPLATE_HASH_LABEL

    return ((services[name].get("spec") or {}).get("selector") or {}).get(POD_TEMPLATE_HASH_LABEL, "")


def _rs_status(rs: dict, state: RolloutState) -> str:
    spec = rs_spec_replicas(rs)
    if spec == 0:
        return "ScaledDown"
    if rs_hash(rs) == state.current_hash and state.timed_out_message:
        return "Degraded"
    return "Healthy" if rs_available(rs) >= spec else "Progressing"


def rollout_view(
    summary: Mapping,
    replicasets: list[dict],
    state: RolloutState,
    now: datetime | None = None,
    *,
    services: Mapping | None = None,
    pods: Mapping[str, list[dict]] | None = None,
    analysis_runs: list[dict] | None = None,
    traffic: Mapping | None = None,
    experiment_replicasets: list[dict] | None = None,
) -> dict:
    """The `get rollout -o json` object. `pods` maps ReplicaSet name -> pods (omitted: no pods listed).
    `traffic`: what the traffic router's live objects say (engine/traffic/routing.readback_view):
    with a router, actualWeight is read from them and nothing else."""
    strategy = summary.get("strategy", "Canary")
    steps = list(summary.get("steps") or [])
    status, message = phase(summary, state, replicasets, services)
    ordered = sorted(replicasets, key=lambda rs: (rs_revision(rs), str((rs.get("metadata") or {}).get("creationTimestamp") or "")), reverse=True)
    view: dict = {
        "name": summary.get("name", ""),
        "namespace": summary.get("namespace", "default"),
        "strategy": strategy,
        "status": status,
        "message": message,
        "step": None,
        "totalSteps": None,
        "setWeight": None,
        "actualWeight": None,
        "revision": state.revision,
        "createdAt": summary.get("createdAt"),
    }
    new_rs = next((rs for rs in replicasets if rs_hash(rs) == state.current_hash), None)
    if strategy == "Canary":
        total = len(steps)
        if state.aborted:
            step, set_weight, actual = 0, 0, 0
        elif state.current_hash == state.stable_hash:
            step, set_weight, actual = total, _max_weight(summary), _max_weight(summary)
        else:
            step = min(state.step_index, total)
            set_weight = set_weight_at(steps, step, _max_weight(summary))
            available_total = sum(rs_available(rs) for rs in replicasets)
            canary_available = rs_available(new_rs)
            if summary.get("trafficRouted"):
                actual = None  # only what the router's objects say (below), never the step's hope
            else:
                actual = round(100 * canary_available / available_total) if available_total else 0
        if summary.get("trafficRouted"):
            actual = _routed_weight(traffic, state)
        view.update({"step": step, "totalSteps": total, "setWeight": set_weight, "actualWeight": actual})
        if traffic is not None and traffic.get("problem") and not state.aborted:
            view["status"], view["message"] = traffic.get("status") or "Degraded", traffic["problem"]

    images: list[dict] = []
    rs_entries = []
    for rs in ordered:
        pod_hash = rs_hash(rs)
        tags = _tags(summary, state, pod_hash, services)
        meta = rs.get("metadata") or {}
        rs_status = rs.get("status") or {}
        entry = {
            "name": meta.get("name", ""),
            "revision": rs_revision(rs),
            "podTemplateHash": pod_hash,
            "replicas": rs_spec_replicas(rs),
            "ready": int(rs_status.get("readyReplicas") or 0),
            "available": int(rs_status.get("availableReplicas") or 0),
            "status": _rs_status(rs, state),
            "tags": tags,
            "createdAt": meta.get("creationTimestamp"),
        }
        deadline = (meta.get("annotations") or {}).get(SCALE_DOWN_DEADLINE_ANNOTATION)
        if deadline and rs_spec_replicas(rs) > 0:
            entry["scaleDownDeadline"] = deadline
        if pods is not None:
            entry["pods"] = [pod_entry(p) for p in pods.get(entry["name"], [])]
        rs_entries.append(entry)
        if rs_spec_replicas(rs) > 0:
            containers = ((((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
            for container in containers:
                image = str(container.get("image", ""))
                found = next((i for i in images if i["image"] == image), None)
                if found is None:
                    images.append({"image": image, "tags": list(tags)})
                else:
                    found["tags"].extend(t for t in tags if t not in found["tags"])
    view["images"] = sorted(images, key=lambda i: i["image"])
    view["replicas"] = _counts(summary, state, replicasets, services)
    view["replicaSets"] = rs_entries
    if analysis_runs is None:
        from reconciler.analysis.run import run_view

        analysis_runs = [run_view(run) for run in sorted(state.analysis.values(), key=lambda run: str(run.get("createdAt") or ""))]
    view["analysisRuns"] = [run for run in analysis_runs if (run.get("labels") or {}).get("rollout-type") != "Experiment"]
    _experiments(view, state, experiment_replicasets, pods, traffic)
    return view


def _experiments(view: dict, state: RolloutState, replicasets: list[dict] | None, pods, traffic: Mapping | None) -> None:
    """The rollout's experiments under their revision (engine/experiment_summary.py), their ReplicaSets as
    given (read back, or predicted by a plan), each template's `actualWeight` as the router's
    objects say (None without a router), and the images of the running ones (`Σ:` tags)."""
    from reconciler.engine.experiment_summary import experiment_view, image_tags

    by_name = {(rs.get("metadata") or {}).get("name", ""): rs for rs in replicasets or []}
    records = sorted((state.experiments or {}).values(), key=lambda r: str(r.get("createdAt") or ""))
    view["experiments"] = [experiment_view(record, by_name, state.analysis, pods) for record in records]
    routed = (traffic or {}).get("extra") if traffic is not None else None
    for entry in view["experiments"]:
        for template in entry["templates"]:
            template["actualWeight"] = None if routed is None else int(routed.get(template.get("service") or "", 0))
    for record in records:
        for image, tags in image_tags(record, by_name).items():
            found = next((i for i in view["images"] if i["image"] == image), None)
            if found is None:
                view["images"].append({"image": image, "tags": list(tags)})
            else:
                found["tags"].extend(t for t in tags if t not in found["tags"])
    view["images"] = sorted(view["images"], key=lambda i: i["image"])
