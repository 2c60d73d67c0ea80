"""Validation: strict schemas for the CRD kinds, then the rules Argo Rollouts enforces itself.

    validate(manifests, live=None) -> list[Finding]

`live` is optional: a callable `(kind, namespace, name) -> object | None`, or a mapping keyed by
`(kind, namespace, name)` (namespace None for cluster-scoped kinds). When given, a referenced
object missing from the repository is looked up there before it is reported.
Each finding's `object` is the `Manifest.ref` it is about, so callers can skip exactly the
rollouts that have errors.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Union

from reconciler.findings import Finding, Severity
from reconciler.manifests.model import Manifest

Live = Union[Callable[[str, "str | None", str], "dict | None"], Mapping]

_CLUSTER_SCOPED = {"ClusterAnalysisTemplate", "Namespace"}


class Context:
    """Answers "does KIND ns/name exist?" from the repository, then from the live cluster."""

    def __init__(self, manifests: Iterable[Manifest], live: Live | None = None):
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

    def missing(self, manifest: Manifest, kind: str, namespace: str | None, name: str, path) -> Finding:
        where = f"{namespace}/{name}" if namespace else name
        if self.live is None:
            message = f"{kind} {where} is not in the source"
            hint = f"add the {kind} to the repository (or pass --cluster to look it up live)"
        else:
            message = f"{kind} {where} is neither in the source nor in the cluster"
            hint = f"create the {kind} first; Argo would mark this rollout Degraded (InvalidSpec)"
        candidates = [n for (k, ns, n) in self.index if k == kind and ns == namespace]
        if candidates:
            from reconciler.validation.schema import did_you_mean

            close = did_you_mean(name, candidates)
            if close:
                hint = close + " " + hint
        return manifest.finding(path, message, hint=hint, rule="reference")


def validate(manifests: Iterable[Manifest], live: Live | None = None) -> list[Finding]:
    from reconciler.validation.rules import MANIFEST_RULES, ROLLOUT_RULES
    from reconciler.validation.schema import schema_findings

    manifests = list(manifests)
    ctx = Context(manifests, live)
    findings: list[Finding] = []
    for manifest in manifests:
        problems = schema_findings(manifest)
        for rule in MANIFEST_RULES:
            problems.extend(rule(manifest, ctx))
        if manifest.kind == "Rollout" and not any(f.rule == "api-version" for f in problems):
            seen = {(f.path, f.line) for f in problems}
            for rule in ROLLOUT_RULES:
                for finding in rule(manifest, ctx):
                    if (finding.path, finding.line) not in seen:
                        problems.append(finding)
        findings.extend(problems)
    return findings


def errors_by_object(findings: Iterable[Finding]) -> set[str]:
    """The `Manifest.ref`s that have at least one error (the engine skips those rollouts)."""
    return {f.object for f in findings if f.severity is Severity.ERROR and f.object}


__all__ = ["validate", "errors_by_object", "Context"]
