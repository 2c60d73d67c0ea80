"""Every call the kube backend (reconciler/cluster/kube.py) may send, by kind and verb, and the RBAC
rules derived from them: deploy/rbac.yaml grants exactly these (tests/test_deploy.py), the backend
refuses a call outside them, and the realkube audit test names why each grant is used."""

from __future__ import annotations

from reconciler.kinds import kind_info

# A run reads by listing, one namespace at a time; `get` of one object only where the code asks for one
# (the notifications ConfigMap, the Lease). The realkube tests compare these with the audit log.
_READ = ("list",)
_WRITE = ("create", "update", "delete")

# Every call the kube backend may make: kind -> verbs, and (kind, "status") -> verbs on the status
# subresource. deploy/rbac.yaml grants exactly these (tests/test_deploy.py derives the expected rules
# from this table), and a call outside it is refused here with the same message a 403 would give.
# Applied from Git with server-side apply (PATCH; creating an object that way also takes `create`);
# `update` only where the engine also writes the object between Git changes.
_APPLIED = _READ + ("create", "patch")
# `--prune` deletes an object applied from Git once it left Git (pipeline/prune.py PRUNABLE_MANAGED:
# the namespaced kinds above; never a cluster-scoped one).
_PRUNED = ("delete",)
API_CALLS: dict[str | tuple[str, str], tuple[str, ...]] = {
    # Applied from Git. Deliberately not Secrets, ServiceAccounts or Namespaces: keep those out of
    # the reconciler's source (or grant them yourself, knowingly).
    # Also the `annotations` status store (one per rollout, compare-and-swap); `get`: the
    # notifications ConfigMap (argo-rollouts-notification-configmap) is read by name.
    "ConfigMap": _APPLIED + ("get", "update", "delete"),  # delete: also --prune
    "Service": _APPLIED + ("update",) + _PRUNED,  # the engine moves the selector's pod-template-hash (compare-and-swap)
    "Deployment": _APPLIED + _PRUNED,
    "Ingress": _APPLIED + _PRUNED,
    "VirtualService": _APPLIED + ("update",) + _PRUNED,  # the Istio router sets route weights (compare-and-swap)
    "DestinationRule": _APPLIED + ("update",) + _PRUNED,  # ... and subset pod-template-hashes
    "AnalysisTemplate": _APPLIED + _PRUNED,
    "ClusterAnalysisTemplate": _APPLIED,
    # Created, scaled and removed by the steps.
    "ReplicaSet": _READ + _WRITE,
    "AnalysisRun": _READ + _WRITE,
    "Job": _READ + _WRITE,
    # Observed only.
    "Rollout": _READ,
    "Pod": _READ + ("delete",),  # spec.restartAt: one pod older than it per run (engine/restart.py)
    # Records.
    "Event": ("create",),
    "Lease": ("get", "create", "update"),
}
# Objects of the kinds the engine does not manage (a Gateway, an HPA, a PodDisruptionBudget, a custom
# resource, ...) are applied from Git as they are, with server-side apply: these verbs, on the
# resource discovery names for the kind. deploy/rbac.yaml does not grant them (it cannot know a
# repository's kinds): the user grants them for their kinds (docs/kubernetes.md), else each such
# object is a `forbidden` finding at its place and the rest of the run goes on.
PLAIN_OBJECT_VERBS = ("get", "list", "create", "patch")
# `--prune` deletes such an object once it left Git (pipeline/prune.py): grant `delete` too for the
# kinds you want pruned; without it that delete is reported and everything else goes on.
PLAIN_PRUNE_VERBS = ("delete",)

# Namespaced kinds the code may list across all namespaces in one call: only `list rollouts -A`
# (the `annotations` status store's ConfigMaps), a command a person runs with their own credentials
# (the built-in `view` ClusterRole covers it). `reconciler run` lists per namespace, so the RBAC in
# deploy/ has no ClusterRole rule for them.
CLUSTER_WIDE_LISTS = frozenset({"ConfigMap"})

# The run's Lease lives in one namespace (by default the CronJob's own), not in every namespace the
# reconciler manages: its verbs are a Role of their own (deploy/rbac.yaml `reconciler-lease`), bound
# there only.
LEASE_ROLE_KINDS = frozenset({"Lease"})


def rbac_rules() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(role, apiGroup, resource, sorted verbs) for every call in API_CALLS.

    role "Role": namespaced kinds, bound in each namespace the reconciler manages. "LeaseRole": a
    Role bound in the Lease's namespace only. "ClusterRole": cluster-scoped kinds only. resource is
    `plural[/sub]`. (CLUSTER_WIDE_LISTS are not here: a run never sends them.)
    """
    rules = []
    for key, verbs in API_CALLS.items():
        kind, sub = (key, None) if isinstance(key, str) else key
        info = kind_info(kind)
        resource = info.plural + (f"/{sub}" if sub else "")
        role = ("LeaseRole" if kind in LEASE_ROLE_KINDS else "Role") if info.namespaced else "ClusterRole"
        rules.append((role, info.group, resource, tuple(sorted(set(verbs)))))
    return sorted(rules)
