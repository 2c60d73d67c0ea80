"""An experiment as the views show it (`get experiment`, a rollout's experiment step): its
templates, ReplicaSets, analysis runs and the images they run. Pure."""

from __future__ import annotations

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.analysis.run import run_view
from reconciler.engine.context import rs_available, rs_spec_replicas
from reconciler.engine.experiment import is_completed


def _rs_entry(rs: dict, revision, pods: dict | None) -> dict:
    spec = rs_spec_replicas(rs)
    meta = rs.get("metadata") or {}
    status = rs.get("status") or {}
    entry = {
        "name": meta.get("name", ""),
        "revision": revision,
        "podTemplateHash": (meta.get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL, ""),
        "replicas": spec,
        "ready": int(status.get("readyReplicas") or 0),
        "available": int(status.get("availableReplicas") or 0),
        "status": "ScaledDown" if spec == 0 else ("Healthy" if rs_available(rs) >= spec else "Progressing"),
        "tags": [],
        "createdAt": meta.get("creationTimestamp"),
    }
    if pods is not None:
        from reconciler.engine.pods import pod_entry

        entry["pods"] = [pod_entry(p) for p in pods.get(entry["name"], [])]
    return entry


def experiment_view(record: dict, replicasets: dict[str, dict], runs: dict[str, dict], pods: dict | None = None) -> dict:
    """One experiment as `get experiment -o json` shows it and as it sits under a rollout's revision
    in `get rollout` (the ReplicaSets as read back from the cluster, the runs as recorded)."""
    revision = record.get("revision") or None
    templates, rs_entries = [], []
    for status in record.get("templates") or []:
        rs = replicasets.get(status.get("replicaSet") or "")
        containers = ((((rs or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        templates.append({
            "name": status.get("name"),
            "status": status.get("status"),
            "message": status.get("message") or "",
            "replicaSet": status.get("replicaSet"),
            "found": rs is not None,
            "podTemplateHash": status.get("podTemplateHash") or "",
            "replicas": rs_spec_replicas(rs),
            "available": rs_available(rs),
            "images": [str(c.get("image", "")) for c in containers],
            "service": status.get("serviceName") or "",
            "weight": status.get("weight"),
        })
        if rs is not None:
            rs_entries.append(_rs_entry(rs, revision, pods))
    analyses, run_views = [], []
    for entry in record.get("analyses") or []:
        run = runs.get(entry.get("run") or "")
        analyses.append({"name": entry.get("name"), "templateName": entry.get("templateName"), "required": bool(entry.get("required")),
                         "phase": entry.get("phase"), "message": entry.get("message") or "", "analysisRun": entry.get("run")})
        if run is not None:
            run_views.append({**run_view(run), "revision": revision})
    return {
        "name": record.get("name"),
        "rollout": record.get("owner") or None,
        "revision": revision,
        "stepIndex": record.get("stepIndex"),
        "status": record.get("phase"),
        "message": record.get("message") or "",
        "duration": record.get("duration"),
        "createdAt": record.get("createdAt"),
        "availableAt": record.get("availableAt"),
        "finishedAt": record.get("finishedAt"),
        "terminated": bool(record.get("terminated")),
        "templates": templates,
        "analyses": analyses,
        "replicaSets": sorted(rs_entries, key=lambda e: e["name"]),
        "analysisRuns": run_views,
    }


def image_tags(record: dict, replicasets: dict[str, dict]) -> dict[str, list[str]]:
    """image -> ["Σ:<template>"] for a running experiment's pods (the plugin's Images line)."""
    out: dict[str, list[str]] = {}
    if is_completed(record):
        return out
    for status in record.get("templates") or []:
        rs = replicasets.get(status.get("replicaSet") or "")
        if rs is None or rs_spec_replicas(rs) == 0:
            continue
        for container in (((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
            tag = f"Σ:{status.get('name')}"
            found = out.setdefault(str(container.get("image", "")), [])
            if tag not in found:
                found.append(tag)
    return out
