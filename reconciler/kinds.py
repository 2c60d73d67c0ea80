"""The Kubernetes kinds the reconciler reads or writes, with their REST coordinates.

One table used by every backend (local files, kube API) and by the RBAC manifests' tests,
so the verbs and resources the code uses cannot drift from what deploy/ grants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KindInfo:
    kind: str
    group: str  # "" for the core group
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


_KINDS = [
    KindInfo("Namespace", "", "v1", "namespaces", namespaced=False),
    KindInfo("Service", "", "v1", "services"),
    KindInfo("ConfigMap", "", "v1", "configmaps"),
    KindInfo("Secret", "", "v1", "secrets"),
    KindInfo("Pod", "", "v1", "pods"),
    KindInfo("Event", "", "v1", "events"),
    KindInfo("ServiceAccount", "", "v1", "serviceaccounts"),
    KindInfo("ReplicaSet", "apps", "v1", "replicasets"),
    KindInfo("Deployment", "apps", "v1", "deployments"),
    KindInfo("Job", "batch", "v1", "jobs"),
    KindInfo("Lease", "coordination.k8s.io", "v1", "leases"),
    KindInfo("Ingress", "networking.k8s.io", "v1", "ingresses"),
    KindInfo("Rollout", "argoproj.io", "v1alpha1", "rollouts"),
    KindInfo("AnalysisTemplate", "argoproj.io", "v1alpha1", "analysistemplates"),
    KindInfo("ClusterAnalysisTemplate", "argoproj.io", "v1alpha1", "clusteranalysistemplates", namespaced=False),
    KindInfo("AnalysisRun", "argoproj.io", "v1alpha1", "analysisruns"),
    KindInfo("Experiment", "argoproj.io", "v1alpha1", "experiments"),
    KindInfo("VirtualService", "networking.istio.io", "v1beta1", "virtualservices"),
    KindInfo("DestinationRule", "networking.istio.io", "v1beta1", "destinationrules"),
]

KINDS: dict[str, KindInfo] = {k.kind: k for k in _KINDS}


# What the reconciler applies from the Git source, on every backend (the Rollouts themselves are
# planned, not applied). Everything else in the source is a finding at its file:line and is left
# alone; the other objects and Rollouts still progress. The kube backend's RBAC (API_CALLS in
# reconciler/cluster/kube.py, deploy/rbac.yaml) grants create/update on exactly these.
APPLIED_FROM_SOURCE = frozenset(
    {"ConfigMap", "Service", "Deployment", "Ingress", "VirtualService", "DestinationRule", "AnalysisTemplate", "ClusterAnalysisTemplate"}
)
# Kinds the reconciler creates, scales and deletes itself (or that only exist live).
_OWNED_BY_RECONCILER = frozenset({"ReplicaSet", "Pod", "AnalysisRun", "Job", "Event", "Lease"})
# Cluster set-up: whoever may create these can grant themselves more rights, so the reconciler's
# service account never gets them.
_CLUSTER_SETUP = frozenset({
    "Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
})
_ELSEWHERE = "apply it another way (kubectl apply, your cluster's GitOps tool) and keep it out of the folder the reconciler reads (--path)"


def not_applied(kind: str) -> tuple[str, str] | None:
    """(why, hint) when the reconciler will not apply objects of `kind` from the source; None when it will."""
    if kind in ("Rollout", "Experiment") or kind in APPLIED_FROM_SOURCE:  # planned (engine/), not applied
        return None
    if kind == "Secret":
        return (
            "Secrets are not applied by the reconciler, and secret values do not belong in Git",
            "remove it from the repository and rotate the values it exposed; commit a SealedSecret (Sealed Secrets) or an "
            "ExternalSecret (External Secrets Operator) instead, outside the folder the reconciler reads (--path), and let "
            "that controller create the Secret",
        )
    if kind in _CLUSTER_SETUP:
        return (
            f"{kind} objects are cluster set-up, which the reconciler does not apply (its service account must not be able to grant itself rights)",
            "create it once with kubectl or your cluster bootstrap, and keep it out of the folder the reconciler reads (--path)",
        )
    if kind in _OWNED_BY_RECONCILER:
        return (
            f"{kind} objects are created and deleted by the reconciler itself, not applied from the source",
            "remove it: Rollouts own their ReplicaSets and pods; AnalysisTemplates produce the AnalysisRuns and Jobs",
        )
    applied = ", ".join(sorted(APPLIED_FROM_SOURCE))
    return (f"the reconciler does not apply {kind} objects (it applies Rollouts and {applied})", _ELSEWHERE)


def kind_info(kind: str) -> KindInfo:
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(f"kind {kind!r} is not one the reconciler knows; add it to reconciler/kinds.py") from None


def object_key(obj: dict[str, Any]) -> tuple[str, str | None, str]:
    """(kind, namespace-or-None, name) of a plain Kubernetes object dict."""
    meta = obj.get("metadata") or {}
    kind = obj.get("kind", "")
    info = KINDS.get(kind)
    namespaced = info.namespaced if info else True
    ns = (meta.get("namespace") or "default") if namespaced else None
    return kind, ns, meta.get("name", "")
