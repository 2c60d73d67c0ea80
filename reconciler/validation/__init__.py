"""Validation: strict schemas for the CRD kinds, then the rules Argo Rollouts enforces itself.

    validate(manifests, live=None, period_seconds=None, policy=None) -> list[Finding]

`live` is optional: a callable `(kind, namespace, name) -> object | None`, or a mapping keyed by
`(kind, namespace, name)` (namespace None for cluster-scoped kinds). When given, a referenced
object missing from the repository is looked up there before it is reported.
`period_seconds` is how often the reconciler runs (the CronJob schedule, `--period`), when known:
analysis measurements cannot be closer together than that, which the analysis rules warn about.
Each finding's `object` is the `Manifest.ref` it is about, so callers can skip exactly the
rollouts that have errors. A Rollout that names an analysis template with errors gets an error
of its own (`analysis-template`), so it is skipped too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from reconciler.findings import Finding, Severity
from reconciler.manifests.model import Manifest

Live = Callable[[str, "str | None", str], "dict | None"] | Mapping

_CLUSTER_SCOPED = {"ClusterAnalysisTemplate", "Namespace"}


class Context:
    """Answers "does KIND ns/name exist?" from the repository, then from the live cluster."""

    def __init__(self, manifests: Iterable[Manifest], live: Live | None = None, period_seconds: float | None = None, policy=None):
        self.period_seconds = period_seconds
        self.policy = policy  # reconciler.kinds.SourcePolicy: --allow-secrets, --apply-cluster-scoped
        self.index: dict[tuple, dict] = {}
        for m in manifests:
            key = (m.kind, None if m.kind in _CLUSTER_SCOPED else m.namespace, m.name)
            self.index[key] = m.obj
        self.live = live

    def find(self, kind: str, namespace: str | None, name: str) -> dict | None:
        namespace = None if kind in _CLUSTER_SCOPED else namespace
        obj = self.index.get((kind, namespace, name))
        if obj is not None or self.live is None:
            return obj
        if callable(self.live):
            return self.live(kind, namespace, name)
        return self.live.get((kind, namespace, name))

    def missing(self, manifest: Manifest, kind: str, namespace: str | None, name: str, path, *,
                severity: Severity = Severity.ERROR, consequence: str = "") -> Finding:
        where = f"{namespace}/{name}" if namespace else name
        refused = (getattr(self.live, "refused", None) or {}).get((kind, namespace))
        if self.live is None:
            message = f"{kind} {where} is not in the source, and no cluster was given to look it up"
            hint = f"add the {kind} to the repository, or pass --cluster (local[:DIR] or kube) to look it up live; plan and run always do"
        elif refused:
            message = f"{kind} {where} is not in the source, and the cluster could not be asked: {refused}"
            hint = f"add the {kind} to the repository, or let the reconciler list {kind} objects in {namespace or 'the cluster'}"
        else:
            backend = getattr(self.live, "name", "")
            message = f"{kind} {where} is neither in the source nor in the cluster" + (f" ({backend})" if backend else "")
            hint = f"create the {kind} (in the repository or in the cluster) first; " + (consequence or "Argo would mark this rollout Degraded (InvalidSpec)")
        candidates = [n for (k, ns, n) in self.index if k == kind and ns == namespace]
        if candidates:
            from reconciler.suggest import did_you_mean

            close = did_you_mean(name, candidates)
            if close:
                hint = close + " " + hint
        if consequence and self.live is None:
            hint = f"{hint} ({consequence})"
        return manifest.finding(path, message, hint=hint, rule="reference", severity=severity)


def validate(manifests: Iterable[Manifest], live: Live | None = None, period_seconds: float | None = None, policy=None) -> list[Finding]:
    from reconciler.validation.rules.analysis import invalid_template_references
    from reconciler.validation.rules.duplicates import duplicate_objects

    manifests = list(manifests)
    ctx = Context(manifests, live, period_seconds, policy)
    findings: list[Finding] = []
    from reconciler.validation import rules

    for manifest in manifests:
        # What depends on the manifest alone may come from the source cache (Manifest.checked).
        local = manifest.checked if manifest.checked is not None else local_checks(manifest)
        findings.extend(_checked(manifest, ctx, local, rules))
    # Rules across objects run every time, on the manifests however they were loaded.
    findings.extend(invalid_template_references(manifests, findings))
    findings.extend(duplicate_objects(manifests))
    from reconciler.notification_keys import asks_for_notifications

    if asks_for_notifications(manifests):  # else nothing to check, and the notification modules stay unloaded
        from reconciler.notifications import validation_findings  # the notification ConfigMap and subscriptions

        findings.extend(validation_findings(manifests))
    return findings


SHAPE = "shape"  # local_checks' key for the names and schema findings


def local_checks(manifest: Manifest) -> dict[str, list[Finding]]:
    """The findings that depend on this manifest alone, by rule (`rule_id`): names and schema, and
    every rule that does not read the context (rules.CONTEXTUAL lists those that do). The source
    cache keeps them beside the parsed file; `validate` assembles them with the context's rules in
    the same order and with the same gates as if it had run them itself."""
    from reconciler.validation.rules import CONTEXTUAL, MANIFEST_RULES, names, rule_id
    from reconciler.validation.schema import schema_findings

    # Names and shapes first: where they found a problem, the schema's word on the same field is dropped.
    problems = names.check(manifest)
    owned = {f.path for f in problems}
    problems += [f for f in schema_findings(manifest) if f.path not in owned]
    out = {SHAPE: problems}
    if problems and not isinstance(manifest.obj.get("metadata"), dict):
        return out  # the other rules need a metadata mapping
    for rule in MANIFEST_RULES:
        if rule not in CONTEXTUAL:
            out[rule_id(rule)] = rule(manifest, None)
    rules = _rules_for(manifest)
    if rules and not any(f.rule == "api-version" for found in out.values() for f in found):
        for rule in rules:
            if rule not in CONTEXTUAL:
                out[rule_id(rule)] = rule(manifest, None)
    return out


def _rules_for(manifest: Manifest) -> tuple:
    from reconciler.validation.rules import ROLLOUT_RULES, TEMPLATE_RULES

    return ROLLOUT_RULES if manifest.kind == "Rollout" else TEMPLATE_RULES.get(manifest.kind, ())


def _checked(manifest: Manifest, ctx: Context, local: dict[str, list[Finding]], rules) -> list[Finding]:
    """`local` assembled with the findings of the rules that read the context (module `rules`)."""
    problems = list(local.get(SHAPE, ()))
    if problems and not isinstance(manifest.obj.get("metadata"), dict):
        return problems  # the other rules need a metadata mapping
    for rule in rules.MANIFEST_RULES:
        problems.extend(_findings_of(rule, manifest, ctx, local, rules))
    own_rules = rules.ROLLOUT_RULES if manifest.kind == "Rollout" else rules.TEMPLATE_RULES.get(manifest.kind, ())
    if own_rules and not any(f.rule == "api-version" for f in problems):
        seen = _reported_fields(problems)
        for rule in own_rules:
            for finding in _findings_of(rule, manifest, ctx, local, rules):
                if (finding.path, finding.line) not in seen and finding.path not in seen:
                    problems.append(finding)
    return problems


def _findings_of(rule, manifest: Manifest, ctx: Context, local: dict[str, list[Finding]], rules) -> list[Finding]:
    """A rule's findings: run now when it reads the context, else as local_checks found them."""
    if rule in rules.CONTEXTUAL:
        return rule(manifest, ctx)
    found = local.get(rules.RULE_IDS[rule])
    return found if found is not None else rule(manifest, None)


_REQUIRED = re.compile(r"`([^`]+)` is required here")


def _reported_fields(schema_problems: list[Finding]) -> set:
    """Where the schema already said something: a rule's finding there adds nothing. A missing
    required field is reported at its parent, so the field's own path counts as reported too."""
    seen: set = {(f.path, f.line) for f in schema_problems}
    for f in schema_problems:
        missing = _REQUIRED.fullmatch(f.message) if f.rule == "required" else None
        if missing:
            seen.add(f"{f.path}.{missing.group(1)}" if f.path else missing.group(1))
    return seen


# The warnings that say a field or router is not acted on; `--strict` makes them errors.
NOT_ACTED_ON_RULES = ("field-not-implemented", "traffic-router", "experiment-not-implemented")


def strict(findings: Iterable[Finding]) -> list[Finding]:
    """`--strict`: every "not acted on" warning becomes an error (the object is then skipped)."""
    from dataclasses import replace

    return [replace(f, severity=Severity.ERROR, message=f"{f.message} (an error with --strict)")
            if f.severity is Severity.WARNING and f.rule in NOT_ACTED_ON_RULES else f for f in findings]


def errors_by_object(findings: Iterable[Finding]) -> set[str]:
    """The `Manifest.ref`s that have at least one error (the engine skips those rollouts)."""
    return {f.object for f in findings if f.severity is Severity.ERROR and f.object}


__all__ = ["validate", "local_checks", "errors_by_object", "strict", "Context", "NOT_ACTED_ON_RULES"]
