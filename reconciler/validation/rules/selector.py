"""The selector must select the pods the template makes; workloadRef replaces selector/template."""

from __future__ import annotations

from reconciler.findings import Finding
from reconciler.manifests.model import Manifest


def check(manifest: Manifest, ctx) -> list[Finding]:
    spec = manifest.obj.get("spec")
    if not isinstance(spec, dict):
        return []
    if spec.get("workloadRef") is not None:
        template = spec.get("template")
        if isinstance(template, dict) and _mapping(template.get("spec")).get("containers"):
            return [
                manifest.finding(
                    ("spec", "template"),
                    "spec.template and spec.workloadRef are both set; workloadRef takes the pod template from its target",
                    hint="remove spec.template (and the selector, if it repeats the target's)",
                    rule="workload-ref",
                )
            ]
        return []
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return [
            manifest.finding(
                ("spec", "selector") if "selector" in spec else ("spec",),
                "spec.selector is missing or empty",
                hint="add `selector: {matchLabels: {app: NAME}}` matching spec.template.metadata.labels",
                rule="selector",
            )
        ]
    labels = _mapping(_mapping(_mapping(spec.get("template")).get("metadata")).get("labels"))
    if not isinstance(labels, dict):
        return []
    out: list[Finding] = []
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, dict) or not isinstance(expressions, list):
        return out  # the schema reports the type
    # (path under spec.selector, message, hint) for each part that does not select the template's pods
    mismatches: list[tuple[tuple, str, str]] = []
    for key, value in match_labels.items():
        if labels.get(key) != value:
            have = f"the template has {key}: {labels[key]}" if key in labels else f"the template has no label {key}"
            mismatches.append((("matchLabels", key), f"selector {key}: {value} does not match the template labels ({have})",
                               "the selector must select the pods spec.template creates; make the two labels equal"))
    for index, expr in enumerate(expressions):
        if isinstance(expr, dict) and not _expression_holds(expr, labels):
            mismatches.append((("matchExpressions", index),
                               f"selector expression {expr.get('key')} {expr.get('operator')} {expr.get('values', [])} does not match the template labels",
                               "the selector must select the pods spec.template creates"))
    out.extend(manifest.finding(("spec", "selector", *where), message, hint=hint, rule="selector") for where, message, hint in mismatches)
    return out


def _expression_holds(expr: dict, labels: dict) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return True  # an unknown operator is the schema's business


def _mapping(value) -> dict:
    """A field that should be a mapping, or {} when it is missing or has another type (the schema
    reports the type; this rule must not crash on it)."""
    return value if isinstance(value, dict) else {}
