"""The field registry: every field path of Argo's Rollout, AnalysisTemplate / ClusterAnalysisTemplate
and Experiment specs, as the reconciler ACTS ON it or NOT (with what it does instead).

    entry_for("Rollout", "spec.strategy.canary.trafficRouting.alb.ingress") -> Field (flagged)
    set_fields("Rollout", obj) -> [(Field, concrete path tuple)]   # the flagged fields a manifest sets
    counts() -> {"implemented": n, "flagged": m}

Paths use dots, `[]` for a list's items and `*` for a map's values:
`spec.strategy.canary.steps[].setWeight`, `spec.selector.matchLabels.*`.
An entry with `subtree=True` also covers every path under it (a pod template that Kubernetes
applies as a whole, a router the reconciler does not implement); the most specific entry wins.
tests/test_fields_registry.py walks the CRD schemas and fails on any path no entry covers, and on
any entry that names no path of the schema. docs/fields.md is generated from here
(`python -m reconciler fields -o markdown`), and the test checks it is current.

A flagged field with `reported_by` already has a finding of its own (the traffic-router warning,
the analysis-provider error); validation adds no second one. Every other flagged field a manifest
sets gets one warning (rule `field-not-implemented`) at its line, once per field per manifest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    path: str
    implemented: bool
    text: str  # implemented: what the reconciler does with it; flagged: what it does instead
    subtree: bool = False
    reported_by: str = ""  # flagged fields another rule reports (its rule id)


def _i(path: str, text: str = "", subtree: bool = False) -> Field:
    return Field(path, True, text, subtree)


def _f(path: str, instead: str, subtree: bool = True, reported_by: str = "") -> Field:
    return Field(path, False, instead, subtree, reported_by)


def _structural(*paths: str) -> list[Field]:
    return [_i(p, "structure: its fields are listed one by one") for p in paths]


def _object(kind: str, metadata: str, status: str | None = None) -> list[Field]:
    """The fields every argoproj.io object has: the object, apiVersion, kind, metadata, status."""
    fields = [_i("", "the object"), _i("apiVersion", "must be argoproj.io/v1alpha1"), _i("kind", kind), _i("metadata", metadata, subtree=True)]
    if status is not None:
        fields.append(_i("status", status, subtree=True))
    return fields


def _analysis_ref(base: str, text: str) -> list[Field]:
    """An analysis reference (step, background, pre/post-promotion): templates, args, dryRun,
    measurementRetention, analysisRunMetadata (reconciler/analysis/templates.py, lifecycle.py)."""
    return [
        _i(base, text),
        _i(f"{base}.templates", "the AnalysisTemplates / ClusterAnalysisTemplates (clusterScope) whose metrics the run measures", subtree=True),
        _i(f"{base}.args", "arguments: value, valueFrom.fieldRef (metadata/spec of the Rollout), valueFrom.podTemplateHashValue (Stable/Latest)",
           subtree=True),
        _i(f"{base}.dryRun", "metrics (regular expression) whose failure does not fail the run (reconciler/analysis/metric_rules.py)", subtree=True),
        _i(f"{base}.measurementRetention", "how many measurements of a metric the run keeps (default 10)", subtree=True),
        _i(f"{base}.analysisRunMetadata", "labels and annotations on the AnalysisRun (reconciler/analysis/lifecycle.py)", subtree=True),
    ]


def _role_metadata(path: str, role: str) -> Field:
    return _i(path, f"labels and annotations on the pods of the ReplicaSet while it is the {role}; moved when the role moves "
                    "(reconciler/engine/metadata.py)", subtree=True)


# An experiment's fields that reconciler/validation/rules/experiments.py already reports (rule
# experiment-not-implemented): dryRun as an error (ignoring it would change the outcome), the others as warnings.
_EXPERIMENT_INSTEAD = {
    "dryRun": "refused: validate reports an error, since a dry-run metric's failure would still fail the experiment (and abort the rollout)",
    "scaleDownDelaySeconds": "not read: the experiment's ReplicaSets go to 0 in the run that ends it",
    "analysisRunMetadata": "not read: the experiment's AnalysisRuns get only the reconciler's labels",
    "measurementRetention": "not read: the experiment's AnalysisRuns keep the last 10 measurements of each metric",
}


def _experiment_flags(base: str, names: tuple[str, ...]) -> list[Field]:
    return [_f(f"{base}.{name}", _EXPERIMENT_INSTEAD[name], reported_by="experiment-not-implemented") for name in names]


_ROUTERS = {
    "alb": "AWS Load Balancer Controller Ingress",
    "smi": "SMI TrafficSplit",
    "nginx": "NGINX Ingress canary Ingress",
    "ambassador": "Ambassador Mappings",
    "apisix": "APISIX Route",
    "appMesh": "App Mesh virtual router",
    "traefik": "Traefik TraefikService",
    "plugins": "traffic router plugins",
}

_ROUTER_INSTEAD = ("not implemented: validate warns (rule traffic-router) and run holds the rollout Paused "
                   "(TrafficRoutingNotSupported) before any scale or weight change; never a claimed weight")

_UNSUPPORTED_PROVIDERS = ("cloudWatch", "datadog", "graphite", "influxdb", "kayenta", "newRelic", "plugin", "skywalking", "wavefront")

_METRIC_BASE = "spec.metrics[]"

ROLLOUT: list[Field] = [
    *_object("Rollout", "name, namespace, labels, annotations (ObjectMeta, applied as Kubernetes does)",
             "written by the reconciler (the state ConfigMap and `get rollout`); a status in Git is not read"),
    _i("spec"),
    _i("spec.replicas", "desired pods (default 1)"),
    _i("spec.selector", "the pod selector; must select the template labels", subtree=True),
    _i("spec.template", "the pod template, applied by Kubernetes as a whole to each revision's ReplicaSet; its hash is the revision",
       subtree=True),
    _i("spec.workloadRef", "a Deployment's pod template instead of spec.template; scaleDown (never / onsuccess / progressively) "
                           "scales the Deployment (reconciler/engine/workload.py)", subtree=True),
    _i("spec.minReadySeconds", "on each ReplicaSet; a pod counts as available only after it (reconciler/engine/replicaset_spec.py)"),
    _i("spec.paused", "no step completes and nothing is promoted while true (reconciler/engine/manual_pause.py)"),
    _i("spec.progressDeadlineSeconds", "a revision that makes no progress for this long is Degraded (ProgressDeadlineExceeded)"),
    _i("spec.progressDeadlineAbort", "past the progress deadline the update is aborted (reconciler/engine/progress_abort.py)"),
    _i("spec.revisionHistoryLimit", "old ReplicaSets beyond it are deleted, oldest first (reconciler/engine/history.py)"),
    _i("spec.restartAt", "pods created before it are restarted, one at a time (reconciler/engine/restart.py)"),
    _i("spec.rollbackWindow", "back to a revision whose ReplicaSet predates the stable one, within `revisions`: promoted at once, "
                              "no steps or pause (reconciler/engine/rollback_window.py)", subtree=True),
    _i("spec.analysis"),
    _f("spec.analysis.successfulRunHistoryLimit", "not read: the last 5 successful AnalysisRuns are kept (Argo's default)"),
    _f("spec.analysis.unsuccessfulRunHistoryLimit", "not read: the last 5 unsuccessful AnalysisRuns are kept (Argo's default)"),
    _i("spec.strategy", "canary or blueGreen, exactly one"),
    # -- blue-green ---------------------------------------------------------------------------------
    _i("spec.strategy.blueGreen", "reconciler/engine/bluegreen.py"),
    _i("spec.strategy.blueGreen.activeService", "its selector is switched to the promoted revision"),
    _i("spec.strategy.blueGreen.previewService", "its selector is switched to the new revision before promotion"),
    _i("spec.strategy.blueGreen.autoPromotionEnabled", "false: waits for `reconciler promote`"),
    _i("spec.strategy.blueGreen.autoPromotionSeconds", "promotes this long after the new revision is available"),
    _i("spec.strategy.blueGreen.previewReplicaCount", "pods of the new revision before promotion"),
    _i("spec.strategy.blueGreen.scaleDownDelaySeconds", "the old revision keeps its pods this long after promotion (default 30)"),
    _i("spec.strategy.blueGreen.abortScaleDownDelaySeconds", "the aborted revision keeps its pods this long (default 30)"),
    _i("spec.strategy.blueGreen.scaleDownDelayRevisionLimit",
       "at most this many old revisions keep their pods during scaleDownDelaySeconds, newest first (reconciler/engine/scale_down_limit.py)"),
    _f("spec.strategy.blueGreen.maxUnavailable", "not read: blue-green scales each revision to its count as a whole"),
    _role_metadata("spec.strategy.blueGreen.activeMetadata", "active one"),
    _role_metadata("spec.strategy.blueGreen.previewMetadata", "preview one"),
    _i("spec.strategy.blueGreen.antiAffinity", "pod anti-affinity (preferred with its weight, or required) against the other revision's pods "
                                               "(reconciler/engine/anti_affinity.py)", subtree=True),
    *_analysis_ref("spec.strategy.blueGreen.prePromotionAnalysis", "an AnalysisRun before promotion; promotion waits for it to succeed"),
    *_analysis_ref("spec.strategy.blueGreen.postPromotionAnalysis", "an AnalysisRun after promotion; a failure rolls back"),
    # -- canary -------------------------------------------------------------------------------------
    _i("spec.strategy.canary", "reconciler/engine/canary.py"),
    _i("spec.strategy.canary.canaryService", "its selector follows the canary revision; the router's canary destination"),
    _i("spec.strategy.canary.stableService", "its selector follows the stable revision; the router's stable destination"),
    _i("spec.strategy.canary.maxSurge", "bounds each scale step (default 25%)"),
    _i("spec.strategy.canary.maxUnavailable", "bounds each scale step (default 25%)"),
    _i("spec.strategy.canary.minPodsPerReplicaSet", "the least pods a canary or stable ReplicaSet keeps while traffic-routed"),
    _i("spec.strategy.canary.dynamicStableScale", "the stable shrinks as the weight read back from the router moves away from it"),
    _i("spec.strategy.canary.scaleDownDelaySeconds", "the old stable keeps its pods this long after promotion (routed canaries; default 30)"),
    _i("spec.strategy.canary.abortScaleDownDelaySeconds", "the aborted canary keeps its pods this long (routed canaries; default 30)"),
    _i("spec.strategy.canary.scaleDownDelayRevisionLimit",
       "at most this many old revisions keep their pods during scaleDownDelaySeconds, newest first (reconciler/engine/scale_down_limit.py)"),
    _f("spec.strategy.canary.replicaProgressThreshold",
       "not read: a step's scaling is reached only when every pod of it is available (Argo's default)"),
    _role_metadata("spec.strategy.canary.canaryMetadata", "canary"),
    _role_metadata("spec.strategy.canary.stableMetadata", "stable"),
    _i("spec.strategy.canary.antiAffinity", "pod anti-affinity (preferred with its weight, or required) against the other revision's pods "
                                            "(reconciler/engine/anti_affinity.py)", subtree=True),
    _f("spec.strategy.canary.pingPong", "not implemented: validate warns (rule traffic-router) and run holds the rollout Paused "
                                        "(PingPongNotSupported) before any scale or weight change", reported_by="traffic-router"),
    *_analysis_ref("spec.strategy.canary.analysis", "background analysis from startingStep; a failure aborts, an inconclusive run pauses"),
    _i("spec.strategy.canary.analysis.startingStep", "the step from which the background analysis runs"),
    *_structural("spec.strategy.canary.steps", "spec.strategy.canary.steps[]"),
    _i("spec.strategy.canary.steps[].setWeight", "the canary weight: pods in proportion, and the router's weight once the canary is available"),
    _i("spec.strategy.canary.steps[].pause", "waits duration, or (empty) until `reconciler promote`", subtree=True),
    _i("spec.strategy.canary.steps[].setCanaryScale", "canary pods apart from the weight (replicas, weight, matchTrafficWeight); routed canaries",
       subtree=True),
    _i("spec.strategy.canary.steps[].setHeaderRoute", "an HTTP route matching headers to the canary, ahead of the others (Istio)", subtree=True),
    _i("spec.strategy.canary.steps[].setMirrorRoute", "a route mirroring a percentage of matched requests to the canary (Istio)", subtree=True),
    _f("spec.strategy.canary.steps[].plugin", "not implemented: the rollout pauses at this step (StepNotSupported) until `reconciler promote` "
                                              "skips it"),
    *_analysis_ref("spec.strategy.canary.steps[].analysis", "an AnalysisRun; the step is done when it succeeds, a failure aborts"),
    _i("spec.strategy.canary.steps[].experiment", "an Experiment (reconciler/engine/experiment_step.py); the step is done when it succeeds"),
    _i("spec.strategy.canary.steps[].experiment.duration", "how long the experiment runs"),
    _i("spec.strategy.canary.steps[].experiment.templates", "one ReplicaSet per template (name, replicas, specRef stable/canary, metadata, "
                                                             "selector, service, weight through the router)", subtree=True),
    _i("spec.strategy.canary.steps[].experiment.analyses", "AnalysisRuns of the experiment (templateName, clusterScope, args, "
                                                            "requiredForCompletion)", subtree=True),
    *_experiment_flags("spec.strategy.canary.steps[].experiment", ("analysisRunMetadata", "dryRun", "scaleDownDelaySeconds")),
    _i("spec.strategy.canary.trafficRouting", "the router (reconciler/engine/traffic/)"),
    _i("spec.strategy.canary.trafficRouting.managedRoutes", "the header / mirror routes the steps may add, in this order", subtree=True),
    _i("spec.strategy.canary.trafficRouting.maxTrafficWeight", "the routes' total weight (default 100)"),
    _i("spec.strategy.canary.trafficRouting.istio", "VirtualService weights (reconciler/engine/traffic/istio.py)"),
    _i("spec.strategy.canary.trafficRouting.istio.virtualService", "one VirtualService: name, http routes, tlsRoutes, tcpRoutes", subtree=True),
    _i("spec.strategy.canary.trafficRouting.istio.virtualServices", "several VirtualServices, each like virtualService", subtree=True),
    _i("spec.strategy.canary.trafficRouting.istio.destinationRule", "subset-level routing: the DestinationRule's canary and stable subsets "
                                                                    "get the revisions' pod-template-hash"),
    _i("spec.strategy.canary.trafficRouting.istio.destinationRule.name"),
    _i("spec.strategy.canary.trafficRouting.istio.destinationRule.canarySubsetName"),
    _i("spec.strategy.canary.trafficRouting.istio.destinationRule.stableSubsetName"),
    _f("spec.strategy.canary.trafficRouting.istio.destinationRule.additionalSubsetNames",
       "not read: only the canary and stable subsets are updated; the other subsets are left as they are"),
    *(_f(f"spec.strategy.canary.trafficRouting.{name}", f"{what}: {_ROUTER_INSTEAD}", reported_by="traffic-router")
      for name, what in _ROUTERS.items()),
]

ANALYSIS_TEMPLATE: list[Field] = [
    *_object("AnalysisTemplate or ClusterAnalysisTemplate", "name, namespace (ObjectMeta)"),
    _i("spec"),
    _i("spec.args", "arguments with defaults, value or valueFrom.secretKeyRef (reconciler/analysis/templates.py)", subtree=True),
    _i("spec.dryRun", "metrics whose failure does not fail the run", subtree=True),
    _i("spec.measurementRetention", "how many measurements of a metric a Rollout's AnalysisRun keeps (default 10)", subtree=True),
    _f("spec.templates", "not read: only this template's own metrics run; name the other templates in the Rollout's analysis instead"),
    *_structural("spec.metrics", "spec.metrics[]"),
    _i(f"{_METRIC_BASE}.name"),
    _i(f"{_METRIC_BASE}.interval", "time between measurements (at least the reconciler's period)"),
    _i(f"{_METRIC_BASE}.initialDelay", "wait before the first measurement"),
    _i(f"{_METRIC_BASE}.count", "measurements to take"),
    _i(f"{_METRIC_BASE}.successCondition", "expression judged on each result (reconciler/analysis/expr.py)"),
    _i(f"{_METRIC_BASE}.failureCondition", "expression judged on each result"),
    _i(f"{_METRIC_BASE}.failureLimit", "failed measurements allowed"),
    _i(f"{_METRIC_BASE}.inconclusiveLimit", "inconclusive measurements allowed"),
    _i(f"{_METRIC_BASE}.consecutiveErrorLimit", "consecutive errors allowed (default 4)"),
    _f(f"{_METRIC_BASE}.consecutiveSuccessLimit",
       "not read: the metric takes its count (or runs until the analysis ends) and is judged by failureLimit / inconclusiveLimit"),
    _i(f"{_METRIC_BASE}.provider", "exactly one of job, prometheus, web"),
    _i(f"{_METRIC_BASE}.provider.job", "a Kubernetes Job; metadata and spec are applied as a whole (reconciler/analysis/providers/job.py)",
       subtree=True),
    _i(f"{_METRIC_BASE}.provider.prometheus", "an instant query (reconciler/analysis/providers/prometheus.py)"),
    *(_i(f"{_METRIC_BASE}.provider.prometheus.{name}") for name in ("address", "query", "timeout", "insecure")),
    _i(f"{_METRIC_BASE}.provider.prometheus.headers", "sent with the query", subtree=True),
    _i(f"{_METRIC_BASE}.provider.prometheus.authentication"),
    _i(f"{_METRIC_BASE}.provider.prometheus.authentication.oauth2", "a client-credentials token, sent as a Bearer header", subtree=True),
    _f(f"{_METRIC_BASE}.provider.prometheus.authentication.sigv4", "not implemented: each measurement is an Error "
                                                                   "(\"sigv4 authentication is not supported\"); use headers or oauth2"),
    _f(f"{_METRIC_BASE}.provider.prometheus.authentication.basicAuth", "not read: no Authorization header is sent; put one in headers"),
    _f(f"{_METRIC_BASE}.provider.prometheus.rangeQuery", "not read: the query runs as an instant query"),
    _i(f"{_METRIC_BASE}.provider.web", "an HTTP request (reconciler/analysis/providers/web.py)"),
    *(_i(f"{_METRIC_BASE}.provider.web.{name}") for name in ("url", "method", "body", "jsonBody", "jsonPath", "insecure", "timeoutSeconds")),
    _i(f"{_METRIC_BASE}.provider.web.headers", "sent with the request", subtree=True),
    _f(f"{_METRIC_BASE}.provider.web.authentication", "not read: no Authorization header is sent; put one in headers"),
    *(_f(f"{_METRIC_BASE}.provider.{name}", "not implemented: validate reports an error (rule analysis-provider) and a Rollout using "
                                            "the template is not run", reported_by="analysis-provider") for name in _UNSUPPORTED_PROVIDERS),
]

EXPERIMENT: list[Field] = [
    *_object("Experiment", "name, namespace (ObjectMeta)", "written by the reconciler (its state); a status in Git is not read"),
    _i("spec", "a standalone Experiment (reconciler/engine/experiment_plan.py)"),
    _i("spec.duration", "how long it runs; without one, until its required analyses end"),
    _i("spec.progressDeadlineSeconds", "a template not available in time fails it"),
    _i("spec.terminate", "true ends it (as `reconciler abort`)"),
    _i("spec.templates", "one ReplicaSet per template: name, replicas, minReadySeconds, selector, template (applied whole), service",
       subtree=True),
    _i("spec.analyses", "AnalysisRuns (templateName, clusterScope, args, requiredForCompletion)", subtree=True),
    *_experiment_flags("spec", ("analysisRunMetadata", "dryRun", "measurementRetention", "scaleDownDelaySeconds")),
]

# The kind group each kind's paths are in, and the CRD whose schema they come from.
KINDS = {"Rollout": "Rollout", "AnalysisTemplate": "AnalysisTemplate", "ClusterAnalysisTemplate": "AnalysisTemplate",
         "Experiment": "Experiment"}
REGISTRY: dict[str, list[Field]] = {"Rollout": ROLLOUT, "AnalysisTemplate": ANALYSIS_TEMPLATE, "Experiment": EXPERIMENT}
_BY_PATH = {group: {f.path: f for f in fields} for group, fields in REGISTRY.items()}


def entry_for(kind: str, path: str) -> Field | None:
    """The entry governing `path`: its own, else the nearest ancestor with subtree=True."""
    group = KINDS.get(kind, kind)
    table = _BY_PATH.get(group)
    if table is None:
        return None
    if path in table:
        return table[path]
    probe = path
    while probe:
        probe = _parent(probe)
        found = table.get(probe)
        if found is not None and found.subtree:
            return found
    return None


def _parent(path: str) -> str:
    if path.endswith("[]"):
        return path[:-2]
    cut = path.rfind(".")
    return path[:cut] if cut >= 0 else ""


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return path + "[]"
    return f"{path}.{key}" if path else str(key)


def set_fields(kind: str, obj: dict) -> list[tuple[Field, tuple]]:
    """The flagged fields `obj` sets (each entry once, at its first occurrence), not descending
    under a flagged or whole-applied field. Returns (entry, concrete path) pairs."""
    if KINDS.get(kind) is None or not isinstance(obj, dict):
        return []
    out: list[tuple[Field, tuple]] = []
    seen: set[str] = set()
    for entry, concrete in _walk(kind, obj, (), ""):
        if not entry.implemented and entry.path not in seen:
            seen.add(entry.path)
            out.append((entry, concrete))
    return out


def _walk(kind: str, value, concrete: tuple, path: str) -> Iterator[tuple[Field, tuple]]:
    """(entry, concrete path) of every set field that has one; not under a subtree entry (a flagged
    field is named once, a pod template is not walked), nor under a field the schema does not know."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        if child is None:
            continue
        sub, sub_path = (*concrete, key), _join(path, key)
        entry = entry_for(kind, sub_path)
        if entry is None:
            continue  # unknown to the schema: the schema check reports it
        if not isinstance(key, int):
            yield entry, sub
        if isinstance(child, dict | list) and not entry.subtree:
            yield from _walk(kind, child, sub, sub_path)


def counts(group: str | None = None) -> dict[str, int]:
    groups = [group] if group else list(REGISTRY)
    fields = [f for g in groups for f in REGISTRY[g]]
    return {"implemented": sum(f.implemented for f in fields), "flagged": sum(not f.implemented for f in fields)}
