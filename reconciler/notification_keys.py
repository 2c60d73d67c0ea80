"""The names by which a source asks for notifications: the notification ConfigMap and the Rollouts'
subscription annotations. Their one home, outside reconciler/notifications/, so that validation can
tell that a source asks for nothing (most do) without importing the notification machinery
(templates, services, YAML): a warm, cached `validate` would spend a tenth of its time on that."""

from __future__ import annotations

CONFIGMAP_NAME = "argo-rollouts-notification-configmap"
ANNOTATION_PREFIX = "notifications.argoproj.io/"
SUBSCRIBE_PREFIX = ANNOTATION_PREFIX + "subscribe."
SUBSCRIPTIONS_ANNOTATION = ANNOTATION_PREFIX + "subscriptions"


def annotations_of(obj: dict) -> dict:
    """The object's annotations, or {} when metadata or annotations are not mappings (a bad manifest
    is reported by validation; nothing here may crash on it)."""
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return annotations if isinstance(annotations, dict) else {}


def has_subscriptions(annotations: dict) -> bool:
    return any(str(k).startswith(SUBSCRIBE_PREFIX) or k == SUBSCRIPTIONS_ANNOTATION for k in (annotations or {}))


def asks_for_notifications(manifests) -> bool:
    """Does the source hold the notification ConfigMap, or a Rollout that subscribes? (Manifests.)"""
    for manifest in manifests:
        kind = manifest.kind
        if kind == "ConfigMap" and manifest.name == CONFIGMAP_NAME:
            return True
        if kind == "Rollout" and has_subscriptions(annotations_of(manifest.obj)):
            return True
    return False
