"""Analysis rules: the checks of `reconciler.analysis.checks` on the validation path, and what an
invalid template means for the Rollouts that name it.

- `check(rollout, ctx)`: a Rollout's analysis blocks against the templates they name (args,
  indefinite metrics in steps, timing against progressDeadlineSeconds and `ctx.period_seconds`).
  A template that does not exist is the `references` rule's finding, not repeated here.
- `check_template(template, ctx)`: one AnalysisTemplate / ClusterAnalysisTemplate on its own.
- `invalid_template_references(rollouts, ctx, findings)`: a template with an error is never applied,
  so a Rollout using it would run an analysis that cannot be trusted. Each Rollout that names one
  gets an `analysis-template` error at the reference, which makes the engine skip it (the engine
  skips by `Finding.object`) and says why in that Rollout's own output.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.analysis import checks
from reconciler.findings import Finding, Severity
from reconciler.manifests.model import Manifest

TEMPLATE_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")


def check(manifest: Manifest, ctx) -> list[Finding]:
    return checks.check_rollout(manifest, ctx, getattr(ctx, "period_seconds", None))


def check_template(manifest: Manifest, ctx) -> list[Finding]:
    return checks.check_template(manifest)


def template_refs(spec: dict):
    """(field path, kind, templateName) of every template a Rollout's spec names: canary
    background and step analysis, experiment analyses, blue-green pre/post promotion."""
    strategy = spec.get("strategy") if isinstance(spec.get("strategy"), dict) else {}
    blocks = []
    canary = strategy.get("canary")
    if isinstance(canary, dict):
        base = ("spec", "strategy", "canary")
        blocks.append(((*base, "analysis"), canary.get("analysis")))
        for index, step in enumerate(canary.get("steps") or []):
            if not isinstance(step, dict):
                continue
            blocks.append(((*base, "steps", index, "analysis"), step.get("analysis")))
            experiment = step.get("experiment") if isinstance(step.get("experiment"), dict) else {}
            for a_index, analysis in enumerate(experiment.get("analyses") or []):
                if isinstance(analysis, dict) and analysis.get("templateName"):
                    path = (*base, "steps", index, "experiment", "analyses", a_index, "templateName")
                    yield path, _kind(analysis), str(analysis["templateName"])
    bluegreen = strategy.get("blueGreen")
    if isinstance(bluegreen, dict):
        for field in ("prePromotionAnalysis", "postPromotionAnalysis"):
            blocks.append((("spec", "strategy", "blueGreen", field), bluegreen.get(field)))
    for path, analysis in blocks:
        if not isinstance(analysis, dict):
            continue
        for index, ref in enumerate(analysis.get("templates") or []):
            if isinstance(ref, dict) and ref.get("templateName"):
                yield (*path, "templates", index, "templateName"), _kind(ref), str(ref["templateName"])


def _kind(ref: dict) -> str:
    return "ClusterAnalysisTemplate" if ref.get("clusterScope") else "AnalysisTemplate"


def _key(kind: str, namespace: str | None, name: str) -> tuple:
    return kind, None if kind == "ClusterAnalysisTemplate" else namespace, name


def invalid_template_references(manifests: Iterable[Manifest], findings: Iterable[Finding]) -> list[Finding]:
    errors_by_ref: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.is_error and finding.object:
            errors_by_ref.setdefault(finding.object, []).append(finding)
    manifests = list(manifests)
    broken: dict[tuple, list[Finding]] = {}
    for manifest in manifests:
        if manifest.kind in TEMPLATE_KINDS and manifest.ref in errors_by_ref:
            broken[_key(manifest.kind, manifest.namespace, manifest.name)] = sorted(
                errors_by_ref[manifest.ref], key=lambda f: (f.file, f.line, f.col)
            )
    if not broken:
        return []
    out = []
    for manifest in manifests:
        spec = manifest.obj.get("spec")
        if manifest.kind != "Rollout" or not isinstance(spec, dict):
            continue
        for path, kind, name in template_refs(spec):
            errors = broken.get(_key(kind, manifest.namespace, name))
            if not errors:
                continue
            first = errors[0]
            count = "1 error" if len(errors) == 1 else f"{len(errors)} errors, the first"
            out.append(manifest.finding(
                path,
                f"{kind} {name} is invalid ({count} at {first.location()} {first.path}".rstrip() + "), so this Rollout is skipped: nothing of it is applied",
                hint=f"fix the {kind} in {first.file}; the next run after that moves this Rollout again",
                rule="analysis-template",
                severity=Severity.ERROR,
            ))
    return out
