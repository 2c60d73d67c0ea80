"""The Kubernetes kinds the reconciler reads or writes, with their REST coordinates.

One table used by every backend (local files, kube API) and by the RBAC manifests' tests,
so the verbs and resources the code uses cannot drift from what deploy/ grants.
"""

from __future__ import annotations

import re
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


# What the engine itself manages from the Git source, on every backend (the Rollouts themselves are
# planned, not applied): it writes these again between Git changes (a Service's selector, a router's
# weights) or plans against them. The kube backend's RBAC (API_CALLS in reconciler/cluster/kube.py,
# deploy/rbac.yaml) grants create/update on exactly these.
APPLIED_FROM_SOURCE = frozenset(
    {"ConfigMap", "Service", "Deployment", "Ingress", "VirtualService", "DestinationRule", "AnalysisTemplate", "ClusterAnalysisTemplate"}
)
PLANNED = frozenset({"Rollout", "Experiment"})
# Objects the reconciler creates itself for its Rollouts: one in the source would fight them.
REFUSED_IN_SOURCE = frozenset({"ReplicaSet", "AnalysisRun"})
# Cluster-scoped kinds a repository may hold, known without asking a cluster (the kube backend also
# asks discovery, for custom resources). Any other kind is taken as namespaced.
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "ComponentStatus", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "APIService", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "PriorityClass", "RuntimeClass", "IngressClass",
    "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration", "PodSecurityPolicy", "GatewayClass", "ClusterIssuer",
    "ClusterSecretStore", "ClusterExternalSecret", "ClusterPolicy", "ClusterAnalysisTemplate",
})
# The kinds of the built-in API groups a repository's objects use most: a kind that is not among its
# group's is a typo (`kind: Servce`), not a custom resource.
BUILT_IN_KINDS = {
    "v1": frozenset({"Binding", "ConfigMap", "Endpoints", "Event", "LimitRange", "Namespace", "Node", "PersistentVolume",
                     "PersistentVolumeClaim", "Pod", "PodTemplate", "ReplicationController", "ResourceQuota", "Secret", "Service",
                     "ServiceAccount", "ComponentStatus", "List"}),
    "apps/v1": frozenset({"ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"}),
    "batch/v1": frozenset({"CronJob", "Job"}),
    "policy/v1": frozenset({"PodDisruptionBudget", "Eviction"}),
}


@dataclass(frozen=True)
class SourcePolicy:
    """What a run may apply beyond the namespaced objects of its source (the flags of plan/run/validate)."""

    allow_secrets: bool = False  # --allow-secrets
    apply_cluster_scoped: bool = False  # --apply-cluster-scoped


def namespaced(kind: str) -> bool:
    info = KINDS.get(kind)
    return info.namespaced if info is not None else kind not in CLUSTER_SCOPED_KINDS


_KIND_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,62}")  # what the API server takes as a kind (CamelCase, alphanumeric)


# The API groups of the kinds above and of the built-in kinds: a known kind name under any other group
# is another kind that happens to share the name (App Mesh's VirtualService, appmesh.k8s.aws).
_OWN_GROUPS = frozenset({k.group for k in _KINDS} | {v.rpartition("/")[0] for v in BUILT_IN_KINDS})


def foreign_group(kind: str, api_version: str = "") -> bool:
    """Is this a kind the reconciler knows by name, but of another API group (a custom resource of
    its own)? `VirtualService` of appmesh.k8s.aws/v1beta2 is; of networking.istio.io/v1alpha3 is not."""
    group, slash, _ = str(api_version or "").rpartition("/")
    return kind in KINDS and bool(slash) and group not in _OWN_GROUPS


def handling(kind: str, api_version: str = "") -> str:
    """How a run treats an object of `kind` found in the source:
    "planned" (Rollout, Experiment), "managed" (APPLIED_FROM_SOURCE), "plain" (applied as it is, by
    server-side apply where the backend has it), "secret", "cluster-scoped" (applied only when allowed),
    "refused" (the reconciler makes these itself), "unknown" (not a kind of its built-in group: a typo),
    "invalid" (not a kind name at all: `[Rollout]`, `../x`)."""
    if not isinstance(kind, str) or not _KIND_NAME.fullmatch(kind):
        return "invalid"
    if foreign_group(kind, api_version):
        return "plain" if namespaced(kind) else "cluster-scoped"
    if kind in PLANNED:
        return "planned"
    if kind in APPLIED_FROM_SOURCE:
        return "managed"
    if kind in REFUSED_IN_SOURCE:
        return "refused"
    known = BUILT_IN_KINDS.get(str(api_version or ""))
    if known is not None and kind not in known:
        return "unknown"
    if kind == "Secret":
        return "secret"
    if not namespaced(kind):
        return "cluster-scoped"
    return "plain"


def applied(kind: str, api_version: str, policy: SourcePolicy) -> bool:
    """Does a run apply an object of this kind from the source (under `policy`)?"""
    how = handling(kind, api_version)
    return (how in ("managed", "plain") or (how == "secret" and policy.allow_secrets)
            or (how == "cluster-scoped" and policy.apply_cluster_scoped))


def kind_info(kind: str) -> KindInfo:
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(f"kind {kind!r} is not one the reconciler knows; add it to reconciler/kinds.py") from None


def object_key(obj: dict[str, Any]) -> tuple[str, str | None, str]:
    """(kind, namespace-or-None, name) of a plain Kubernetes object dict."""
    meta = obj.get("metadata") or {}
    kind = obj.get("kind", "")
    ns = (meta.get("namespace") or "default") if namespaced(kind) else None
    return kind, ns, meta.get("name", "")
