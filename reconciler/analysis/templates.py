"""From a Rollout's analysis reference to the resolved metrics of one AnalysisRun. Pure.

A Rollout names templates (`templates: [{templateName, clusterScope}]`) and passes `args`
(`value`, `valueFrom.podTemplateHashValue: Stable|Latest`, `valueFrom.fieldRef.fieldPath`).
Templates declare args (with an optional default `value`, or `valueFrom.secretKeyRef`) and metrics
that use them as `{{args.name}}` in any string: queries, addresses, URLs, headers, job specs.

As in Argo (utils/analysis): a rollout arg overrides the template arg of the same name; an arg
with no value is an error ("args.x was not resolved"); two templates may declare the same arg only
with the same value; metric names must be unique across the templates.

Secret args are never resolved here: their `{{args.x}}` placeholders stay in the metrics and the
Secret is read at measurement time (measure.py), so no secret value lands in the run state that
is written to annotations or committed to Git.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.analysis import metric_rules

Lookup = Callable[[str, "str | None", str], "dict | None"]

_PLACEHOLDER = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")
_FIELD_SEGMENT = re.compile(r"([A-Za-z0-9_-]+)(?:\[['\"]([^'\"]+)['\"]\])?")


class AnalysisResolveError(ValueError):
    """A template is missing, an arg has no value, or a placeholder names an unknown arg."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class ResolvedAnalysis:
    metrics: list[dict]
    dry_run: list[str] = field(default_factory=list)
    measurement_retention: dict[str, int] = field(default_factory=dict)  # metric -> measurements kept
    secret_args: dict[str, dict] = field(default_factory=dict)  # arg name -> {"name", "key"}
    args: dict[str, str] = field(default_factory=dict)  # non-secret values, for display and tests
    templates: list[str] = field(default_factory=list)


# -- run names ---------------------------------------------------------------------------------------------


def run_name(rollout: str, pod_hash: str, revision: int, *, kind: str, step_index: int | None = None, attempt: int = 0) -> str:
    """Argo's AnalysisRun names: step `<ro>-<hash>-<rev>-<step>`, background `<ro>-<hash>-<rev>`,
    blue-green `<ro>-<hash>-<rev>-pre` / `-post`; a retry of the same revision adds `.<n>` (seed 002)."""
    base = f"{rollout}-{pod_hash}-{revision}"
    if kind == "step":
        if step_index is None:
            raise ValueError("a step analysis needs its step index")
        base = f"{base}-{step_index}"
    elif kind in ("pre", "prePromotion"):
        base = f"{base}-pre"
    elif kind in ("post", "postPromotion"):
        base = f"{base}-post"
    elif kind != "background":
        raise ValueError(f"unknown analysis kind {kind!r}")
    return f"{base}.{attempt}" if attempt else base


# -- templates ----------------------------------------------------------------------------------------------


def find_templates(refs: list[dict], namespace: str, lookup: Lookup) -> list[dict]:
    """The AnalysisTemplate / ClusterAnalysisTemplate objects a rollout's `templates` list names."""
    found = []
    for index, ref in enumerate(refs or []):
        name = (ref or {}).get("templateName")
        if not name:
            raise AnalysisResolveError(f"templates[{index}] has no templateName")
        if ref.get("clusterScope"):
            obj = lookup("ClusterAnalysisTemplate", None, name)
            kind = "ClusterAnalysisTemplate"
        else:
            obj = lookup("AnalysisTemplate", namespace, name)
            kind = "AnalysisTemplate"
        if obj is None:
            raise AnalysisResolveError(
                f"{kind} {name!r} not found" + ("" if kind.startswith("Cluster") else f" in namespace {namespace!r}"),
                hint="add it to the repository, or set clusterScope: true for a ClusterAnalysisTemplate",
            )
        found.append(obj)
    if not found:
        raise AnalysisResolveError("the analysis names no templates", hint="add templates: [{templateName: ...}]")
    return found


def _merge_template_args(templates: list[dict]) -> list[dict]:
    merged: dict[str, dict] = {}
    for template in templates:
        for arg in (template.get("spec") or {}).get("args") or []:
            name = arg.get("name")
            if name in merged and merged[name] != arg:
                raise AnalysisResolveError(
                    f"two templates declare arg {name!r} with different values",
                    hint="give the arg the same default in both templates, or rename one",
                )
            merged[name] = dict(arg)
    return list(merged.values())


def _field_value(obj: dict, path: str) -> str:
    """A Rollout field by `fieldRef.fieldPath`: metadata.name, metadata.labels['app'], spec.replicas, ..."""
    value: Any = obj
    for part in path.split("."):
        match = _FIELD_SEGMENT.fullmatch(part)
        if not match or not isinstance(value, dict):
            raise AnalysisResolveError(f"fieldRef {path!r} cannot be read from the Rollout")
        value = value.get(match.group(1))
        if match.group(2) is not None:
            value = (value or {}).get(match.group(2)) if isinstance(value, dict) or value is None else None
    if value is None:
        raise AnalysisResolveError(f"fieldRef {path!r} is not set on the Rollout")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve_args(
    template_args: list[dict],
    rollout_args: list[dict],
    *,
    rollout: dict,
    stable_hash: str,
    latest_hash: str,
) -> tuple[dict[str, str], dict[str, dict]]:
    """(values, secret refs) for every template arg; rollout args override template defaults."""
    merged = {a.get("name"): dict(a) for a in template_args or []}
    for arg in rollout_args or []:
        name = arg.get("name")
        if name in merged:
            target = merged[name]
            if arg.get("value") is not None:
                target["value"] = arg["value"]
                target.pop("valueFrom", None)
            elif arg.get("valueFrom") is not None:
                target["valueFrom"] = arg["valueFrom"]
                target.pop("value", None)
    values: dict[str, str] = {}
    secrets: dict[str, dict] = {}
    for name, arg in merged.items():
        if arg.get("value") is not None:
            value = arg["value"]
            values[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
            continue
        source = arg.get("valueFrom") or {}
        if source.get("podTemplateHashValue") is not None:
            which = source["podTemplateHashValue"]
            if which not in ("Stable", "Latest"):
                raise AnalysisResolveError(f"arg {name!r}: podTemplateHashValue must be Stable or Latest, got {which!r}")
            values[name] = stable_hash if which == "Stable" else latest_hash
        elif source.get("fieldRef") is not None:
            values[name] = _field_value(rollout, str((source["fieldRef"] or {}).get("fieldPath", "")))
        elif source.get("secretKeyRef") is not None:
            ref = source["secretKeyRef"] or {}
            secrets[name] = {"name": ref.get("name"), "key": ref.get("key")}
        else:
            raise AnalysisResolveError(
                f"args.{name} was not resolved",
                hint=f"pass it from the Rollout: args: [{{name: {name}, value: ...}}], or give the template arg a default value",
            )
    return values, secrets


def substitute(obj: Any, values: dict[str, str], keep: set[str] | frozenset = frozenset()) -> Any:
    """A copy of `obj` with `{{args.name}}` replaced in every string; names in `keep` (secret
    args) stay as placeholders; any other unknown name is an error."""
    if isinstance(obj, dict):
        return {k: substitute(v, values, keep) for k, v in obj.items()}
    if isinstance(obj, list):
        return [substitute(v, values, keep) for v in obj]
    if not isinstance(obj, str) or "{{" not in obj:
        return obj

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name in keep:
            return match.group(0)
        raise AnalysisResolveError(f"{{{{args.{name}}}}} names an arg the template does not declare", hint="declare it under spec.args")

    return _PLACEHOLDER.sub(replace, obj)


def placeholders(obj: Any) -> set[str]:
    """The arg names a (metric) object refers to."""
    if isinstance(obj, dict):
        return set().union(*(placeholders(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*(placeholders(v) for v in obj)) if obj else set()
    if isinstance(obj, str):
        return set(_PLACEHOLDER.findall(obj))
    return set()


def resolve_analysis(
    analysis: dict,
    *,
    rollout: dict,
    lookup: Lookup,
    stable_hash: str,
    latest_hash: str,
) -> ResolvedAnalysis:
    """Resolve one analysis reference (a canary `analysis` step, `strategy.canary.analysis`,
    `blueGreen.prePromotionAnalysis` / `postPromotionAnalysis`) into run-ready metrics."""
    namespace = (rollout.get("metadata") or {}).get("namespace") or "default"
    templates = find_templates(list(analysis.get("templates") or []), namespace, lookup)
    template_args = _merge_template_args(templates)
    values, secrets = resolve_args(template_args, list(analysis.get("args") or []), rollout=rollout, stable_hash=stable_hash, latest_hash=latest_hash)
    metrics: list[dict] = []
    seen: set[str] = set()
    dry_run_rules: list[dict] = []
    retention_rules: list[dict] = []
    for template in templates:
        spec = template.get("spec") or {}
        for metric in spec.get("metrics") or []:
            name = metric.get("name")
            if name in seen:
                raise AnalysisResolveError(f"two metrics have the same name {name!r}", hint="metric names must be unique across the templates of one analysis")
            seen.add(name)
            metrics.append(substitute(copy.deepcopy(metric), values, set(secrets)))
        dry_run_rules += [d for d in spec.get("dryRun") or [] if isinstance(d, dict)]
        retention_rules += [d for d in spec.get("measurementRetention") or [] if isinstance(d, dict)]
    dry_run_rules += [d for d in analysis.get("dryRun") or [] if isinstance(d, dict)]
    retention_rules += [d for d in analysis.get("measurementRetention") or [] if isinstance(d, dict)]
    names = [str(m.get("name")) for m in metrics]
    try:
        dry_run = metric_rules.dry_run_metrics(dry_run_rules, names)
        retention = metric_rules.retention_limits(retention_rules, names)
    except metric_rules.RuleError as err:
        raise AnalysisResolveError(str(err), hint="metricName is a regular expression searched in each metric's name") from None
    return ResolvedAnalysis(
        metrics=metrics,
        dry_run=dry_run,
        measurement_retention=retention,
        secret_args=secrets,
        args=values,
        templates=[(t.get("metadata") or {}).get("name", "") for t in templates],
    )
