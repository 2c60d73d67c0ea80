"""Ephemeral pod metadata: labels and annotations a ReplicaSet's pods carry only while it holds a
role. canary: `canaryMetadata` / `stableMetadata`; blue-green: `previewMetadata` /
`activeMetadata`.

The rules (Argo rollout/ephemeralmetadata.go reconcileEphemeralMetadata and
utils/replicaset SyncEphemeralPodMetadata; tests TestSyncCanaryEphemeralMetadataInitialRevision,
TestSyncCanaryEphemeralMetadataSecondRevision, TestSyncBlueGreenEphemeralMetadataInitialRevision,
TestSyncBlueGreenEphemeralMetadataSecondRevision, TestSyncEphemeralPodMetadata):
- fully rolled out (no stable yet, or the current revision is the stable one): the current
  ReplicaSet gets the stable (canary) / active (blue-green) metadata;
- during an update: the current ReplicaSet gets the canary / preview metadata, the stable one the
  stable / active metadata;
- every other ReplicaSet loses what was injected;
- only what the engine injected is removed (recorded on the ReplicaSet in the annotation
  EPHEMERAL_ANNOTATION, as Argo records it), never labels the pod template itself has; a key the
  template also sets is overridden while the role holds (as Argo) and gets the template's own value
  back after (recorded as "shadowed"; Argo would drop the key).

Where it lands: the ReplicaSet's pod template (spec.template.metadata). Argo also patches the live
pods of the ReplicaSet; on the embedded cluster (and the API emulator) pods are derived from their
ReplicaSet's template, so the template is all there is and the pods show the change at once. On a
real cluster the pods created from then on carry it; the engine does not patch pods that are
already running (its RBAC has no write access to pods), so those keep their labels until replaced.

Keys the engine relies on are never overwritten: `rollouts-pod-template-hash` and the selector's
matchLabels (a template whose labels stop matching the selector is refused by the API server). Pure.
"""

from __future__ import annotations

import json

from reconciler import POD_TEMPLATE_HASH_LABEL, PREFIX
from reconciler.engine.state import plain_copy

EPHEMERAL_ANNOTATION = f"{PREFIX}/ephemeral-metadata"
ROLE_FIELDS = {
    "Canary": {"new": "canaryMetadata", "stable": "stableMetadata"},
    "BlueGreen": {"new": "previewMetadata", "stable": "activeMetadata"},
}


def _clean(value) -> dict:
    value = value if isinstance(value, dict) else {}
    out = {}
    for key in ("labels", "annotations"):
        items = value.get(key)
        if isinstance(items, dict) and items:
            out[key] = {str(k): str(v) for k, v in items.items()}
    return out


def role_metadata(strategy: dict, role: str) -> dict:
    """{"labels", "annotations"} the strategy asks for a role ("new" or "stable"); {} for none."""
    for name, fields in ROLE_FIELDS.items():
        body = strategy.get("canary" if name == "Canary" else "blueGreen")
        if isinstance(body, dict):
            return _clean(body.get(fields[role]))
    return {}


def configured(strategy: dict) -> bool:
    return bool(role_metadata(strategy, "new") or role_metadata(strategy, "stable")) or any(
        isinstance(strategy.get(k), dict) and any(f in strategy[k] for f in fields.values())
        for k, fields in (("canary", ROLE_FIELDS["Canary"]), ("blueGreen", ROLE_FIELDS["BlueGreen"]))
    )


def roles(current_hash: str, stable_hash: str) -> dict[str, str]:
    """pod hash -> role ("new" | "stable") for the ReplicaSets that hold one; others hold none."""
    if not stable_hash or stable_hash == current_hash:
        return {current_hash: "stable"} if current_hash else {}
    return {current_hash: "new", stable_hash: "stable"}


def record(rs: dict) -> dict:
    """What the engine injected into this ReplicaSet's pod template, from its annotation:
    {"labels", "annotations", "shadowed": {the template's own values those keys replaced}}."""
    raw = ((rs.get("metadata") or {}).get("annotations") or {}).get(EPHEMERAL_ANNOTATION)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    if not isinstance(value, dict):
        return {}
    out = _clean(value)
    shadowed = _clean(value.get("shadowed"))
    if shadowed:
        out["shadowed"] = shadowed
    return out


def injected(rs: dict) -> dict:
    """{"labels", "annotations"} the engine injected into this ReplicaSet's pods."""
    return {k: v for k, v in record(rs).items() if k != "shadowed"}


def sync_template(template: dict, before: dict, wanted: dict, protected: set[str]) -> tuple[dict, dict]:
    """(pod template with `wanted` injected and what `before` injected removed, the new record).
    A key the template had itself is shadowed while injected and gets its value back after."""
    out = plain_copy(template or {})
    meta = out.setdefault("metadata", {})
    now: dict = {}
    shadowed_now: dict = {}
    for key in ("labels", "annotations"):
        current = dict(meta.get(key) or {})
        shadowed = dict((before.get("shadowed") or {}).get(key) or {})
        injected_before = dict(before.get(key) or {})
        want = {k: v for k, v in (wanted.get(key) or {}).items() if not (key == "labels" and k in protected)}
        for k in injected_before:
            if k not in want:
                if k in shadowed:
                    current[k] = shadowed.pop(k)
                else:
                    current.pop(k, None)
        for k, v in want.items():
            if k in current and k not in injected_before and current[k] != v:
                shadowed[k] = current[k]  # the template's own value, back when the role goes
            current[k] = v
        shadowed = {k: v for k, v in shadowed.items() if k in want}
        if want:
            now[key] = want
        if shadowed:
            shadowed_now[key] = shadowed
        if current:
            meta[key] = current
        else:
            meta.pop(key, None)
    if not meta:
        out.pop("metadata", None)
    if shadowed_now:
        now["shadowed"] = shadowed_now
    return out, now


def apply(rs: dict, wanted: dict, selector: dict) -> dict:
    """The ReplicaSet with its role's metadata (and the record of what was injected)."""
    protected = {POD_TEMPLATE_HASH_LABEL, *((selector or {}).get("matchLabels") or {}).keys()}
    out = plain_copy(rs)
    spec = out.setdefault("spec", {})
    spec["template"], now = sync_template(spec.get("template") or {}, record(rs), wanted, protected)
    annotations = out.setdefault("metadata", {}).setdefault("annotations", {})
    if now:
        annotations[EPHEMERAL_ANNOTATION] = json.dumps(now, sort_keys=True, separators=(",", ":"))
    else:
        annotations.pop(EPHEMERAL_ANNOTATION, None)
    return out


def strip(template: dict, rs: dict) -> dict:
    """The pod template without what the engine injected (undo restores the manifest's own)."""
    before = record(rs)
    if not before:
        return template
    stripped, _ = sync_template(template, before, {}, set())
    return stripped
