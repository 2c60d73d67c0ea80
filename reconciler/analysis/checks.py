"""Validation findings for analysis, for the validation stage to call. Pure.

    check_template(manifest) -> [Finding]                      AnalysisTemplate / ClusterAnalysisTemplate
    check_rollout(manifest, ctx, period_seconds=None) -> [Finding]   the Rollout's analysis references

`check_rollout` has the signature of `reconciler.validation.rules` (manifest, ctx) so it can join
ROLLOUT_RULES; `ctx.find(kind, namespace, name)` gives the templates (missing ones are reported by
the `references` rule, not here). `period_seconds` is the reconciler's own schedule (the CronJob
period), when known: measurements cannot be closer together than one run.

Rules:
- analysis-expression  successCondition / failureCondition outside the supported expression set
- analysis-provider    no provider, several, or one the reconciler does not implement; missing
                       address/query/url/job spec; an invalid jsonPath
- analysis-metric      bad count/interval/limits; count > 1 without interval
- analysis-args        an arg without value the Rollout does not supply; `{{args.x}}` not
                       declared; a Rollout arg no template declares (warning)
- analysis-indefinite  a metric without count but with interval in a step / pre / post analysis
                       (it would never finish; Argo rejects it too)
- analysis-duration    (warning) count x interval (stretched to the run period) longer than the
                       Rollout's progressDeadlineSeconds; an interval shorter than the run period
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from reconciler.analysis.expr import check_expression
from reconciler.analysis.templates import _PLACEHOLDER, placeholders
from reconciler.durations import parse_duration
from reconciler.findings import Finding, Severity
from reconciler.manifests.model import Manifest
from reconciler.suggest import did_you_mean

SUPPORTED_PROVIDERS = ("job", "prometheus", "web")
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600
EXPRESSION_HINT = (
    "supported: comparisons, and/or/not (&&/||/!), result[0], result.field, len(), isNaN(), isInf(), "
    "isNil(), asInt(), asFloat(), default(), all()/any()/none()/one() with {# ...}; see docs/analysis.md"
)


def _is_placeholder(value) -> bool:
    return isinstance(value, str) and bool(_PLACEHOLDER.fullmatch(value.strip()))


def _duration(value) -> float | None:
    return None if value is None or _is_placeholder(value) else parse_duration(value)


def _int(value) -> int | None:
    if value is None or _is_placeholder(value) or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _fmt(seconds: float) -> str:
    seconds = int(math.ceil(seconds))
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"


# -- templates ----------------------------------------------------------------------------------------------


def check_template(manifest: Manifest) -> list[Finding]:
    spec = manifest.obj.get("spec")
    if not isinstance(spec, dict):
        return []
    out: list[Finding] = []
    declared = [a.get("name") for a in spec.get("args") or [] if isinstance(a, dict)]
    for index, metric in enumerate(spec.get("metrics") or []):
        if isinstance(metric, dict):
            out.extend(_check_metric(manifest, metric, ("spec", "metrics", index), declared))
    return out


def _check_metric(manifest: Manifest, metric: dict, path: tuple, declared: list) -> list[Finding]:
    out: list[Finding] = []

    def error(sub, message, hint="", rule="analysis-metric", severity=Severity.ERROR):
        out.append(manifest.finding((*path, *sub), message, hint=hint, rule=rule, severity=severity))

    for field in ("successCondition", "failureCondition"):
        text = metric.get(field)
        if text is None:
            continue
        problem = check_expression(_PLACEHOLDER.sub("0", str(text))) if str(text).strip() else "empty expression"
        if problem:
            error((field,), f"{field} {str(text).strip()!r} cannot be evaluated: {problem}", EXPRESSION_HINT, "analysis-expression")

    provider = metric.get("provider") if isinstance(metric.get("provider"), dict) else {}
    keys = [k for k, v in provider.items() if v is not None]
    if len(keys) != 1:
        error(("provider",), f"metric {metric.get('name')!r} needs exactly one provider, found {len(keys)}",
              f"one of: {', '.join(SUPPORTED_PROVIDERS)}", "analysis-provider")
    elif keys[0] not in SUPPORTED_PROVIDERS:
        close = did_you_mean(keys[0], SUPPORTED_PROVIDERS)
        error(("provider", keys[0]), f"metric provider {keys[0]!r} is not supported by the reconciler",
              (close + " " if close else "") + f"supported: {', '.join(SUPPORTED_PROVIDERS)}", "analysis-provider")
    else:
        out.extend(_check_provider(manifest, keys[0], provider[keys[0]] or {}, (*path, "provider", keys[0])))

    count, interval = metric.get("count"), metric.get("interval")
    for field in ("count", "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit"):
        value = metric.get(field)
        if value is not None and not _is_placeholder(value) and (_int(value) is None or _int(value) < 0):
            error((field,), f"{field} must be a non-negative integer, got {value!r}")
    for field in ("interval", "initialDelay"):
        value = metric.get(field)
        if value is not None and not _is_placeholder(value) and (_duration(value) is None or _duration(value) < 0):
            error((field,), f"{field} {value!r} is not a duration", "write it like 30s, 5m or 1h")
    if (_int(count) or 0) > 1 and interval is None:
        error(("count",), f"count {count} without an interval", "add interval: e.g. 30s (the time between measurements)")

    used = placeholders(metric)
    for name in sorted(used - set(declared)):
        close = did_you_mean(name, [d for d in declared if d])
        error(("provider",), f"{{{{args.{name}}}}} is used but not declared in spec.args",
              close or f"add - name: {name} under spec.args", "analysis-args")
    return out


def _check_provider(manifest: Manifest, key: str, config: dict, path: tuple) -> list[Finding]:
    required = {"prometheus": ("address", "query"), "web": ("url",)}.get(key, ())
    out = [
        manifest.finding((*path, field), f"{key} provider needs {field}", rule="analysis-provider")
        for field in required
        if not config.get(field)
    ]
    if key == "job" and not (((config.get("spec") or {}).get("template") or {}).get("spec")):
        out.append(manifest.finding((*path, "spec"), "job provider needs spec.template.spec (the Job's pod)", rule="analysis-provider"))
    if key == "web" and config.get("jsonPath") and not placeholders(config["jsonPath"]):
        from reconciler.analysis.jsonpath import compile_json_path

        try:
            compile_json_path(str(config["jsonPath"]))
        except Exception as err:  # jsonpath-ng's own exceptions
            out.append(manifest.finding((*path, "jsonPath"), f"jsonPath {config['jsonPath']!r} does not parse: {err}", hint="e.g. {$.data.ok}", rule="analysis-provider"))
    return out


# -- rollouts ---------------------------------------------------------------------------------------------------


def analysis_references(spec: dict):
    """(path, analysis, kind) for every analysis block of a Rollout; kind is step/background/pre/post."""
    strategy = spec.get("strategy") if isinstance(spec.get("strategy"), dict) else {}
    canary = strategy.get("canary") if isinstance(strategy.get("canary"), dict) else None
    if canary:
        base = ("spec", "strategy", "canary")
        if isinstance(canary.get("analysis"), dict):
            yield (*base, "analysis"), canary["analysis"], "background"
        for index, step in enumerate(canary.get("steps") or []):
            if isinstance(step, dict) and isinstance(step.get("analysis"), dict):
                yield (*base, "steps", index, "analysis"), step["analysis"], "step"
    bluegreen = strategy.get("blueGreen") if isinstance(strategy.get("blueGreen"), dict) else None
    if bluegreen:
        for field, kind in (("prePromotionAnalysis", "pre"), ("postPromotionAnalysis", "post")):
            if isinstance(bluegreen.get(field), dict):
                yield ("spec", "strategy", "blueGreen", field), bluegreen[field], kind


def metric_duration(metric: dict, period_seconds: float | None = None) -> float | None:
    """The shortest time a metric needs from the run's start to its last measurement, when runs
    happen every `period_seconds` (a measurement is taken at most once per run). None: indefinite
    or not known before the args are resolved."""
    count = _int(metric.get("count"))
    interval = _duration(metric.get("interval"))
    if metric.get("count") is not None and count is None or metric.get("interval") is not None and interval is None:
        return None
    if not count:
        if interval:
            return None
        count = 1
    delay = _duration(metric.get("initialDelay")) or 0.0
    period = float(period_seconds or 0.0)
    if period:
        delay = math.ceil(delay / period) * period
    return delay + (count - 1) * measurement_gap(interval, period_seconds)


def measurement_gap(interval: float | None, period_seconds: float | None = None) -> float:
    """Time between two measurements of a metric: its interval, or with runs every `period_seconds`
    the first run at or after it (a 90s interval under a 60s period is 120s)."""
    interval = interval or 0.0
    if not period_seconds:
        return interval
    return max(1, math.ceil(interval / period_seconds)) * float(period_seconds)


def check_rollout(manifest: Manifest, ctx, period_seconds: float | None = None) -> list[Finding]:
    spec = manifest.obj.get("spec")
    if manifest.kind != "Rollout" or not isinstance(spec, dict):
        return []
    out: list[Finding] = []
    deadline = _int(spec.get("progressDeadlineSeconds")) or DEFAULT_PROGRESS_DEADLINE_SECONDS
    for path, analysis, kind in analysis_references(spec):
        templates = []
        for index, ref in enumerate(analysis.get("templates") or []):
            if not isinstance(ref, dict) or not ref.get("templateName"):
                continue
            scoped = bool(ref.get("clusterScope"))
            found = ctx.find("ClusterAnalysisTemplate" if scoped else "AnalysisTemplate", None if scoped else manifest.namespace, ref["templateName"])
            if isinstance(found, dict):
                templates.append((index, ref["templateName"], found))
        if not templates:
            continue
        out.extend(_check_args(manifest, path, analysis, templates))
        for index, name, template in templates:
            for metric in (template.get("spec") or {}).get("metrics") or []:
                if not isinstance(metric, dict):
                    continue
                out.extend(_check_timing(manifest, path, index, name, metric, kind, deadline, period_seconds))
    return out


def _check_args(manifest: Manifest, path: tuple, analysis: dict, templates: list) -> list[Finding]:
    out = []
    supplied = {a.get("name"): index for index, a in enumerate(analysis.get("args") or []) if isinstance(a, dict)}
    declared: dict[str, dict] = {}
    for _, _, template in templates:
        for arg in (template.get("spec") or {}).get("args") or []:
            if isinstance(arg, dict) and arg.get("name"):
                declared.setdefault(arg["name"], arg)
    for name, arg in declared.items():
        if name not in supplied and arg.get("value") is None and arg.get("valueFrom") is None:
            template_names = ", ".join(t for _, t, tmpl in templates if any(a.get("name") == name for a in (tmpl.get("spec") or {}).get("args") or []))
            out.append(manifest.finding(
                (*path, "args") if analysis.get("args") else path,
                f"analysis arg {name!r} (declared by {template_names}) has no value",
                hint=f"add to the Rollout: args: [{{name: {name}, value: ...}}] (or valueFrom: podTemplateHashValue / fieldRef)",
                rule="analysis-args",
            ))
    for name, index in supplied.items():
        if name not in declared:
            close = did_you_mean(str(name), declared)
            out.append(manifest.finding(
                (*path, "args", index, "name"), f"arg {name!r} is not declared by the analysis templates, so it is ignored",
                hint=close or f"declared: {', '.join(sorted(declared)) or 'none'}", rule="analysis-args", severity=Severity.WARNING,
            ))
        source = ((analysis.get("args") or [])[index] or {}).get("valueFrom") or {}
        which = source.get("podTemplateHashValue")
        if which is not None and which not in ("Stable", "Latest"):
            out.append(manifest.finding((*path, "args", index, "valueFrom", "podTemplateHashValue"),
                                        f"podTemplateHashValue must be Stable or Latest, got {which!r}", rule="analysis-args"))
    return out


def _check_timing(manifest, path, index, template, metric, kind, deadline, period_seconds) -> list[Finding]:
    where = (*path, "templates", index, "templateName")
    name = metric.get("name")
    if kind != "background" and metric.get("count") is None and metric.get("interval") is not None:
        return [manifest.finding(
            where, f"AnalysisTemplate {template} has metric {name!r} which runs indefinitely (interval without count)",
            hint="add count: to the metric, or use it as background analysis (strategy.canary.analysis)", rule="analysis-indefinite",
        )]
    out = []
    interval = _duration(metric.get("interval"))
    count = _int(metric.get("count"))
    repeats = count > 1 if count is not None else metric.get("count") is None  # no count: until terminated
    if period_seconds and interval and interval < period_seconds and repeats:
        needed = metric_duration(metric, period_seconds)
        hint = f"measurements will be {_fmt(period_seconds)} apart"
        hint += f"; the analysis takes about {_fmt(needed)}" if needed is not None else " for as long as the analysis runs"
        out.append(manifest.finding(
            where, f"metric {name!r} of {template} wants a measurement every {_fmt(interval)}, but the reconciler runs every {_fmt(period_seconds)}",
            hint=hint, rule="analysis-duration", severity=Severity.WARNING,
        ))
    if kind == "background":
        return out
    needed = metric_duration(metric, period_seconds)
    if needed is not None and needed > deadline:
        out.append(manifest.finding(
            where, f"metric {name!r} of {template} needs at least {_fmt(needed)} ({metric.get('count')} measurements, "
                   f"{_fmt(measurement_gap(interval, period_seconds))} apart), longer than progressDeadlineSeconds ({deadline}s)",
            hint="waiting on an analysis with every pod available is not a stalled rollout (no ProgressDeadlineExceeded), "
                 "but each update now takes at least that long; lower count or interval if that is not intended",
            rule="analysis-duration", severity=Severity.WARNING,
        ))
    return out


def check_manifests(manifests: Iterable[Manifest], ctx, period_seconds: float | None = None) -> list[Finding]:
    """All analysis findings of a repository: templates and rollouts."""
    out: list[Finding] = []
    for manifest in manifests:
        if manifest.kind in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
            out.extend(check_template(manifest))
        elif manifest.kind == "Rollout":
            out.extend(check_rollout(manifest, ctx, period_seconds))
    return out
