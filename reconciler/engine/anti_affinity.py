"""`antiAffinity` (canary and blue-green): the new revision's pods avoid the nodes of the stable
revision's pods, so a bad node does not take both down.

The rules (Argo utils/replicaset GenerateReplicaSetAffinity, CreateInjectedAntiAffinityRule,
HasInjectedAntiAffinityRule, IfInjectedAntiAffinityRuleNeedsUpdate; tests
TestGenerateReplicaSetAffinity, TestIfInjectedAntiAffinityRuleNeedsUpdate):
- injected only while a stable revision exists that is not this ReplicaSet's own;
- the rule: pods labelled `rollouts-pod-template-hash In [stable hash]`, in the rollout's
  namespace, topologyKey `kubernetes.io/hostname`;
- `preferredDuringSchedulingIgnoredDuringExecution: {weight: W}` appends a weighted term (weight W)
  to the template's preferred anti-affinity terms; `requiredDuringSchedulingIgnoredDuringExecution: {}`
  appends the term to the required ones; the template's own affinity is kept;
- the injected term is the one whose selector names `rollouts-pod-template-hash`; when the stable
  revision moves, the current ReplicaSet's term is pointed at the new stable hash.
Pure.
"""

from __future__ import annotations

from reconciler import POD_TEMPLATE_HASH_LABEL
from reconciler.engine.state import plain_copy

TOPOLOGY_KEY = "kubernetes.io/hostname"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def strategy_anti_affinity(strategy: dict) -> dict | None:
    for key in ("canary", "blueGreen"):
        body = strategy.get(key)
        if isinstance(body, dict) and isinstance(body.get("antiAffinity"), dict):
            value = body["antiAffinity"]
            if isinstance(value.get(PREFERRED), dict) or isinstance(value.get(REQUIRED), dict):
                return value
    return None


def rule(stable_hash: str, namespace: str) -> dict:
    return {
        "labelSelector": {"matchExpressions": [{"key": POD_TEMPLATE_HASH_LABEL, "operator": "In", "values": [stable_hash]}]},
        "namespaces": [namespace],
        "topologyKey": TOPOLOGY_KEY,
    }


def _is_injected(term: dict) -> bool:
    selector = (term or {}).get("labelSelector") or {}
    return any(e.get("key") == POD_TEMPLATE_HASH_LABEL for e in selector.get("matchExpressions") or [])


def injected_stable(affinity: dict | None) -> str | None:
    """The stable hash the injected term names, or None when there is no injected term."""
    anti = (affinity or {}).get("podAntiAffinity") or {}
    terms = [t.get("podAffinityTerm") or {} for t in anti.get(PREFERRED) or []] + list(anti.get(REQUIRED) or [])
    for term in terms:
        for expr in ((term.get("labelSelector") or {}).get("matchExpressions")) or []:
            if expr.get("key") == POD_TEMPLATE_HASH_LABEL:
                values = expr.get("values") or []
                return values[0] if values else ""
    return None


def remove_injected(affinity: dict | None) -> dict | None:
    """The affinity without the injected term (None when nothing is left)."""
    if not affinity:
        return affinity
    out = plain_copy(affinity)
    anti = out.get("podAntiAffinity") or {}
    if PREFERRED in anti:
        anti[PREFERRED] = [t for t in anti[PREFERRED] or [] if not _is_injected(t.get("podAffinityTerm") or {})]
        if not anti[PREFERRED]:
            anti.pop(PREFERRED)
    if REQUIRED in anti:
        anti[REQUIRED] = [t for t in anti[REQUIRED] or [] if not _is_injected(t)]
        if not anti[REQUIRED]:
            anti.pop(REQUIRED)
    if "podAntiAffinity" in out and not anti:
        out.pop("podAntiAffinity")
    return out or None


def generate(own_affinity: dict | None, strategy: dict, pod_hash: str, stable_hash: str, namespace: str) -> dict | None:
    """The affinity for the ReplicaSet `pod_hash`: the template's own, plus the injected term
    against the stable revision when antiAffinity is set and `pod_hash` is not the stable one."""
    wanted = strategy_anti_affinity(strategy)
    base = remove_injected(own_affinity)
    if wanted is None or not stable_hash or stable_hash == pod_hash:
        return base
    out = plain_copy(base or {})
    anti = out.setdefault("podAntiAffinity", {})
    term = rule(stable_hash, namespace)
    if isinstance(wanted.get(PREFERRED), dict):
        weight = int(wanted[PREFERRED].get("weight") or 1)
        anti[PREFERRED] = list(anti.get(PREFERRED) or []) + [{"weight": weight, "podAffinityTerm": term}]
    else:
        anti[REQUIRED] = list(anti.get(REQUIRED) or []) + [term]
    return out


def needs_update(affinity: dict | None, pod_hash: str, stable_hash: str) -> bool:
    """The injected term names a stable revision that is no longer the stable one."""
    named = injected_stable(affinity)
    return named is not None and bool(stable_hash) and stable_hash != pod_hash and named != stable_hash
