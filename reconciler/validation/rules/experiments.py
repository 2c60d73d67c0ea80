"""Experiment rules (canary `experiment` steps and `kind: Experiment`), as Argo validates them
(pkg/apis/rollouts/validation: ValidateRolloutStrategyCanary's experiment step checks) plus what
the reconciler needs to run one: at least one template, unique template names, `specRef` stable or
canary, a `weight` only with traffic routing, unique analysis names, a duration that parses, and
a warning for an experiment that can never end on its own. Missing analysis templates are
reported by references.py."""

from __future__ import annotations

from reconciler.durations import parse_duration
from reconciler.findings import Severity
from reconciler.manifests.model import Manifest

SPEC_REFS = ("stable", "canary")
# Fields of Argo's experiment the reconciler does not act on: an error where ignoring one would
# change the outcome, a warning where only the timing or metadata differs.
_NOT_ACTED_ON = (
    ("dryRun", Severity.ERROR, "a dry-run metric's failure would still fail the experiment (and abort the rollout)"),
    ("scaleDownDelaySeconds", Severity.WARNING, "the ReplicaSets are scaled to 0 in the run that ends the experiment"),
    ("analysisRunMetadata", Severity.WARNING, "the AnalysisRuns are the reconciler's records, not cluster objects with labels"),
    ("measurementRetention", Severity.WARNING, "measurements are kept as for every analysis run"),
)


def check(manifest: Manifest, ctx) -> list:
    """A Rollout's experiment steps."""
    spec = manifest.obj.get("spec") if isinstance(manifest.obj.get("spec"), dict) else {}
    strategy = spec.get("strategy") if isinstance(spec.get("strategy"), dict) else {}
    canary = strategy.get("canary") if isinstance(strategy.get("canary"), dict) else None
    if canary is None:
        return []
    routing = canary.get("trafficRouting")
    routed = isinstance(routing, dict) and bool(routing)
    out = []
    weight = 0
    steps = canary.get("steps") if isinstance(canary.get("steps"), list) else []
    for index, step in enumerate(steps):
        if isinstance(step, dict) and isinstance(step.get("setWeight"), int):
            weight = step["setWeight"]
        if isinstance(step, dict) and isinstance(step.get("experiment"), dict):
            path = ("spec", "strategy", "canary", "steps", index, "experiment")
            out.extend(_experiment(manifest, step["experiment"], path, step_of_rollout=True, routed=routed))
            out.extend(_weights_fit(manifest, step["experiment"], path, weight, routing if routed else None))
    return out


def _weights_fit(manifest: Manifest, body: dict, path: tuple, canary_weight: int, routing) -> list:
    """The templates' weights and the canary's setWeight in force share the route with the stable:
    together they may not exceed maxTrafficWeight (100)."""
    if routing is None:
        return []
    total = routing.get("maxTrafficWeight") if isinstance(routing.get("maxTrafficWeight"), int) else 100
    weights = [t.get("weight") for t in body.get("templates") or [] if isinstance(t, dict) and isinstance(t.get("weight"), int)]
    if sum(weights) + canary_weight <= total:
        return []
    return [manifest.finding((*path, "templates"), f"the experiment's template weights ({' + '.join(map(str, weights))}) and the canary's "
                             f"setWeight {canary_weight} add up to {sum(weights) + canary_weight}, more than {total}",
                             hint="lower the template weights or the setWeight before this step; the stable gets what is left",
                             rule="experiment-weight")]


def check_experiment(manifest: Manifest, ctx) -> list:
    """A standalone Experiment: its analyses' templates must exist too."""
    spec = manifest.obj.get("spec")
    if not isinstance(spec, dict):
        return []
    out = _experiment(manifest, spec, ("spec",), step_of_rollout=False, routed=False)
    if ctx.find("Rollout", manifest.namespace, manifest.name) is not None:
        out.append(manifest.finding(("metadata", "name"), f"a Rollout is also named `{manifest.name}` in namespace {manifest.namespace}; "
                                    "the reconciler records the progress of both under that name",
                                    hint="rename the Experiment", rule="experiment-name"))
    for index, analysis in enumerate(spec.get("analyses") or []):
        if not isinstance(analysis, dict) or not isinstance(analysis.get("templateName"), str):
            continue
        kind = "ClusterAnalysisTemplate" if analysis.get("clusterScope") else "AnalysisTemplate"
        namespace = None if kind == "ClusterAnalysisTemplate" else manifest.namespace
        if ctx.find(kind, namespace, analysis["templateName"]) is None:
            out.append(ctx.missing(manifest, kind, namespace, analysis["templateName"], ("spec", "analyses", index, "templateName")))
    return out


def _experiment(manifest: Manifest, body: dict, path: tuple, *, step_of_rollout: bool, routed: bool) -> list:
    out = []
    templates = body.get("templates")
    what = "an experiment step" if step_of_rollout else "an Experiment"
    if not isinstance(templates, list) or not templates:
        if templates is None or isinstance(templates, list):
            out.append(manifest.finding(path if templates is None else (*path, "templates"), f"{what} has no templates",
                                        hint="add templates: [{name: baseline, specRef: stable}, {name: canary, specRef: canary}]"
                                        if step_of_rollout else "add templates: [{name: ..., selector: ..., template: ...}]",
                                        rule="experiment-templates"))
        return out
    seen: dict[str, int] = {}
    for index, template in enumerate(templates):
        if not isinstance(template, dict):
            continue
        where = (*path, "templates", index)
        name = template.get("name")
        if isinstance(name, str) and name:
            if name in seen:
                out.append(manifest.finding((*where, "name"), f"template name `{name}` is used twice (templates[{seen[name]}] and templates[{index}])",
                                            hint="give every template its own name: it names the ReplicaSet <experiment>-<template>",
                                            rule="experiment-templates"))
            seen.setdefault(name, index)
        if step_of_rollout:
            ref = template.get("specRef")
            if ref not in SPEC_REFS:
                from reconciler.suggest import did_you_mean

                close = did_you_mean(str(ref), list(SPEC_REFS)) if isinstance(ref, str) else ""
                out.append(manifest.finding((*where, "specRef") if "specRef" in template else where,
                                            f"specRef must be `stable` or `canary`, not {ref!r}" if ref is not None else "specRef is required (stable or canary)",
                                            hint=(close + " " if close else "") + "the template copies the stable or the canary revision's pod template",
                                            rule="experiment-spec-ref"))
            if template.get("weight") is not None and not routed:
                out.append(manifest.finding((*where, "weight"), "an experiment template `weight` needs traffic routing",
                                            hint="add strategy.canary.trafficRouting (istio), or remove weight (the template then gets pods but no traffic share)",
                                            rule="experiment-weight"))
    names: dict[str, int] = {}
    for index, analysis in enumerate(body.get("analyses") or []):
        if isinstance(analysis, dict) and isinstance(analysis.get("name"), str):
            if analysis["name"] in names:
                out.append(manifest.finding((*path, "analyses", index, "name"), f"analysis name `{analysis['name']}` is used twice",
                                            hint="give every analysis its own name: it names the AnalysisRun <experiment>-<analysis>",
                                            rule="experiment-analyses"))
            names.setdefault(analysis["name"], index)
    for field, severity, why in _NOT_ACTED_ON:
        if body.get(field) is not None:
            out.append(manifest.finding((*path, field), f"`{field}` of {what} is not implemented by the reconciler: {why}",
                                        hint=f"remove `{field}`" + (" (or run this experiment with Argo Rollouts' controller)" if severity is Severity.ERROR else ""),
                                        rule="experiment-not-implemented", severity=severity))
    duration = body.get("duration")
    if duration is not None:
        seconds = parse_duration(duration)
        if seconds is None or seconds <= 0:
            out.append(manifest.finding((*path, "duration"), f"experiment duration {duration!r} is not a positive duration",
                                        hint="write e.g. 30s, 5m, 1h", rule="experiment-duration"))
    elif not any(isinstance(a, dict) and a.get("requiredForCompletion") for a in body.get("analyses") or []):
        out.append(manifest.finding(path, f"{what} without a duration and without a requiredForCompletion analysis never ends on its own",
                                    hint="set duration (e.g. 5m), or mark an analysis requiredForCompletion: true"
                                    + ("; `reconciler promote` skips the step" if step_of_rollout else ""),
                                    rule="experiment-duration", severity=Severity.WARNING))
    return out
