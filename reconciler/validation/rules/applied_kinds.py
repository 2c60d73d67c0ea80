"""Only the kinds the reconciler applies belong in its source (reconciler.kinds.APPLIED_FROM_SOURCE).

Anything else (a Secret, a ServiceAccount, a PodDisruptionBudget, a typo in `kind:`) is an error at
the object's `kind:` line with a hint, and is skipped; the other objects and Rollouts still progress.
"""

from __future__ import annotations

from reconciler.findings import Finding
from reconciler.kinds import APPLIED_FROM_SOURCE, KINDS, not_applied
from reconciler.manifests.model import Manifest


def check(manifest: Manifest, ctx=None) -> list[Finding]:
    kind = manifest.kind
    if not isinstance(kind, str) or not kind:
        return []  # the loader already reported a document without a kind
    refused = not_applied(kind)
    if refused is None:
        return []
    why, hint = refused
    if kind not in KINDS:
        from reconciler.suggest import did_you_mean

        close = did_you_mean(kind, sorted(APPLIED_FROM_SOURCE | {"Rollout"}))
        if close:
            hint = f"{close} otherwise {hint}"
    return [manifest.finding(("kind",), f"{kind} {_where(manifest)}: {why}", hint=hint, rule="kind-not-applied")]


def _where(manifest: Manifest) -> str:
    info = KINDS.get(manifest.kind)
    return manifest.name if info is not None and not info.namespaced else f"{manifest.namespace}/{manifest.name}"
