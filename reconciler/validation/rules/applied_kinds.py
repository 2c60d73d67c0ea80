"""What a run does with each kind in its source (reconciler.kinds.handling), said at the object's
`kind:` line when it is not simply applied:

- the objects the reconciler makes itself (ReplicaSets, AnalysisRuns), a kind its built-in group
  does not have (a typo in `kind:`) and a `kind:` that is no kind name at all are errors, and are skipped;
- a Secret is a warning (its values are in Git), applied only with --allow-secrets;
- a cluster-scoped object is a warning, skipped unless --apply-cluster-scoped.
Every other namespaced kind (a Gateway, an HPA, a custom resource, ...) is applied as it is.
"""

from __future__ import annotations

from reconciler.findings import Finding, Severity
from reconciler.kinds import BUILT_IN_KINDS, SourcePolicy, handling, namespaced
from reconciler.manifests.model import Manifest

SECRET_HINT = ("anyone who can read the repository can read it: rotate the values, commit a SealedSecret (Sealed Secrets) or an "
               "ExternalSecret (External Secrets Operator) instead, and let that controller create the Secret")


def check(manifest: Manifest, ctx=None) -> list[Finding]:
    kind = manifest.kind
    if not isinstance(kind, str) or not kind:
        return []  # the loader already reported a document without a kind
    how = handling(kind, manifest.api_version)
    if how not in ("refused", "invalid", "unknown", "secret", "cluster-scoped"):
        return []
    policy = getattr(ctx, "policy", None) or SourcePolicy()
    where = f"{kind} {_where(manifest)}"
    if how == "refused":
        return [manifest.finding(("kind",), f"{where}: {kind} objects are created and deleted by the reconciler itself, not applied from the source",
                                 hint="remove it: Rollouts own their ReplicaSets; AnalysisTemplates produce the AnalysisRuns", rule="kind-not-applied")]
    if how == "invalid":
        return [manifest.finding(("kind",), f"kind {kind!r} is not a Kubernetes kind name; not applied",
                                 hint="a kind is one CamelCase word of letters and digits, such as Rollout or Service", rule="kind-not-applied")]
    if how == "unknown":
        from reconciler.suggest import did_you_mean

        known = BUILT_IN_KINDS[str(manifest.api_version)]
        close = did_you_mean(kind, sorted(known))
        hint = f"{close} " if close else ""
        return [manifest.finding(("kind",), f"{where}: {manifest.api_version} has no kind {kind!r}; not applied",
                                 hint=hint + "fix `kind:` (or `apiVersion:` for a custom resource)", rule="kind-not-applied")]
    if how == "secret":
        if policy.allow_secrets:
            message = f"{where}: a Secret's values are committed to Git; applied because of --allow-secrets"
        else:
            message = f"{where}: a Secret's values are committed to Git; not applied (pass --allow-secrets to apply it anyway)"
        return [manifest.finding(("kind",), message, hint=SECRET_HINT, rule="secret-in-source", severity=Severity.WARNING)]
    if how == "cluster-scoped" and not policy.apply_cluster_scoped:
        return [manifest.finding(
            ("kind",),
            f"{where}: {kind} is cluster-scoped; skipped: the reconciler's least-privilege ServiceAccount (deploy/rbac.yaml) "
            "cannot create cluster-scoped objects",
            hint="apply it once with kubectl or your cluster bootstrap, or pass --apply-cluster-scoped to a run whose credentials "
                 "may create it",
            rule="cluster-scoped", severity=Severity.WARNING)]
    return []


def _where(manifest: Manifest) -> str:
    return f"{manifest.namespace}/{manifest.name}" if namespaced(manifest.kind) else manifest.name
