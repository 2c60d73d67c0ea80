"""The experiment spec both callers hand in (a canary `experiment` step, a standalone
`kind: Experiment`), and the ReplicaSet and Service each template of it makes, with the labels
and annotations that tie them to the experiment. Pure; the state machine is experiment.py."""

from __future__ import annotations

from reconciler import POD_TEMPLATE_HASH_LABEL, PREFIX
from reconciler.engine.hashing import pod_template_hash
from reconciler.engine.state import plain_copy

# On the experiment's ReplicaSets, pods and Services: which experiment and template they belong
# to, and (for a step) which rollout. The template label is also on the pod template, so an
# experiment pod's hash differs from the stable / canary revision's and their Services never
# select it (the experiment's own Services do).
EXPERIMENT_LABEL = f"{PREFIX}/experiment"
TEMPLATE_LABEL = f"{PREFIX}/experiment-template"
OWNER_LABEL = f"{PREFIX}/experiment-of"
# Argo's annotations on an experiment ReplicaSet (experiments/replicaset.go).
ARGO_EXPERIMENT_ANNOTATION = "experiment.argoproj.io/experiment-name"
ARGO_TEMPLATE_ANNOTATION = "experiment.argoproj.io/template-name"



def step_name(rollout: str, pod_hash: str, revision: int, step_index: int, attempt: int = 0) -> str:
    """Argo's name for a step's experiment; a retry of the same revision adds `-1`, `-2` (seed 002)."""
    base = f"{rollout}-{pod_hash}-{revision}-{step_index}"
    return f"{base}-{attempt}" if attempt else base


def spec_from_step(step: dict, *, name: str, stable_template: dict, canary_template: dict, selector: dict,
                   progress_deadline: int | None, min_ready_seconds: int | None = None) -> dict:
    """A canary `experiment` step as an experiment spec (rollout/experiment.go
    GetExperimentFromTemplate): specRef picks the stable or canary pod template; `metadata`
    labels/annotations are added to it (labels to the selector too); `weight` or `service`
    asks for a Service (named `service.name`, else after the ReplicaSet)."""
    body = step.get("experiment") or {}
    templates = []
    for entry in body.get("templates") or []:
        source = stable_template if entry.get("specRef") == "stable" else canary_template
        template = plain_copy(source or {})
        chosen = plain_copy(entry.get("selector") or selector or {})
        match = dict(chosen.get("matchLabels") or {})
        meta = entry.get("metadata") or {}
        tmeta = template.setdefault("metadata", {})
        if meta.get("labels"):
            tmeta["labels"] = {**(tmeta.get("labels") or {}), **meta["labels"]}
            match.update(meta["labels"])
        if meta.get("annotations"):
            tmeta["annotations"] = {**(tmeta.get("annotations") or {}), **meta["annotations"]}
        match.pop(POD_TEMPLATE_HASH_LABEL, None)
        (tmeta.get("labels") or {}).pop(POD_TEMPLATE_HASH_LABEL, None)
        chosen["matchLabels"] = match
        wants_service = entry.get("weight") is not None or entry.get("service") is not None
        templates.append({
            "name": str(entry.get("name") or ""),
            "replicas": 1 if entry.get("replicas") is None else int(entry["replicas"]),
            "minReadySeconds": min_ready_seconds,
            "template": template,
            "selector": chosen,
            "service": ((entry.get("service") or {}).get("name") or "") if wants_service else None,
            "weight": entry.get("weight"),
            "specRef": entry.get("specRef"),
        })
    return {
        "name": name,
        "duration": body.get("duration"),
        "progressDeadlineSeconds": progress_deadline,
        "templates": templates,
        "analyses": [dict(a) for a in body.get("analyses") or []],
    }


def spec_from_manifest(obj: dict) -> dict:
    """A standalone Experiment (kind: Experiment) as an experiment spec."""
    spec = obj.get("spec") or {}
    templates = []
    for entry in spec.get("templates") or []:
        template = plain_copy(entry.get("template") or {})
        (((template.get("metadata") or {}).get("labels")) or {}).pop(POD_TEMPLATE_HASH_LABEL, None)
        selector = plain_copy(entry.get("selector") or {})
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            selector = {"matchLabels": dict(((template.get("metadata") or {}).get("labels")) or {})}
        service = entry.get("service")
        templates.append({
            "name": str(entry.get("name") or ""),
            "replicas": 1 if entry.get("replicas") is None else int(entry["replicas"]),
            "minReadySeconds": entry.get("minReadySeconds"),
            "template": template,
            "selector": selector,
            "service": ((service or {}).get("name") or "") if service is not None else None,
            "weight": None,
        })
    return {
        "name": (obj.get("metadata") or {}).get("name", ""),
        "duration": spec.get("duration"),
        "progressDeadlineSeconds": spec.get("progressDeadlineSeconds"),
        "templates": templates,
        "analyses": [dict(a) for a in spec.get("analyses") or []],
        "terminate": bool(spec.get("terminate")),
    }


def replicaset_for(spec: dict, template: dict, namespace: str, owner: str, replicas: int) -> dict:
    """The template's ReplicaSet `<experiment>-<template>` (experiments/replicaset.go
    newReplicaSetFromTemplate), its hash over the pod template with the experiment labels."""
    pod = plain_copy(template["template"])
    meta = pod.setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    labels[EXPERIMENT_LABEL] = spec["name"]
    labels[TEMPLATE_LABEL] = template["name"]
    meta["labels"] = labels
    pod_hash = pod_template_hash(pod)
    labels[POD_TEMPLATE_HASH_LABEL] = pod_hash
    selector = plain_copy(template.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH_LABEL: pod_hash}
    own = {POD_TEMPLATE_HASH_LABEL: pod_hash, EXPERIMENT_LABEL: spec["name"], TEMPLATE_LABEL: template["name"]}
    if owner:
        own[OWNER_LABEL] = owner
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{spec['name']}-{template['name']}",
            "namespace": namespace,
            "labels": own,
            "annotations": {ARGO_EXPERIMENT_ANNOTATION: spec["name"], ARGO_TEMPLATE_ANNOTATION: template["name"]},
        },
        "spec": {"replicas": int(replicas), "selector": selector, "template": pod,
                 **({"minReadySeconds": int(template["minReadySeconds"])} if template.get("minReadySeconds") else {})},
    }


def service_for(spec: dict, template: dict, rs: dict, namespace: str, owner: str) -> dict | None:
    """The template's Service (experiments/service.go): named `service.name` or after the
    ReplicaSet, selecting exactly its pods, one port per container port. None without ports."""
    ports = []
    for container in (((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("containerPort") is None:
                continue
            entry = {"port": int(port["containerPort"]), "targetPort": int(port["containerPort"]), "protocol": port.get("protocol") or "TCP"}
            if port.get("name"):
                entry["name"] = port["name"]
            ports.append(entry)
    if not ports:
        return None
    labels = {EXPERIMENT_LABEL: spec["name"], TEMPLATE_LABEL: template["name"]}
    if owner:
        labels[OWNER_LABEL] = owner
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": template.get("service") or rs["metadata"]["name"], "namespace": namespace, "labels": labels},
        "spec": {"selector": dict(((rs.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}), "ports": ports},
    }
