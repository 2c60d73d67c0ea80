"""The Kubernetes kinds the reconciler reads or writes, with their REST coordinates.

One table used by every backend (local files, kube API) and by the RBAC manifests' tests,
so the verbs and resources the code uses cannot drift from what deploy/ grants.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def kind_info(kind: str) -> KindInfo:
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(f"kind {kind!r} is not one the reconciler knows; add it to reconciler/kinds.py") from None


def object_key(obj: dict) -> tuple[str, str | None, str]:
    """(kind, namespace-or-None, name) of a plain Kubernetes object dict."""
    meta = obj.get("metadata") or {}
    kind = obj.get("kind", "")
    info = KINDS.get(kind)
    namespaced = info.namespaced if info else True
    ns = (meta.get("namespace") or "default") if namespaced else None
    return kind, ns, meta.get("name", "")
