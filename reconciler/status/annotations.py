"""`--status annotations`: each rollout's state on a ConfigMap the reconciler owns, in its namespace.

    ConfigMap <rollout>-rollout-state, labels {reconciler.rollouts.io/state-of: <rollout>,
    reconciler.rollouts.io/managed-by: reconciler}, annotation reconciler.rollouts.io/state: <JSON>

Loaded with one list call per namespace of the rollouts in the run, narrowed by label, so a
namespaced Role in each of those namespaces is enough (no ClusterRole). Only `list rollouts -A`
lists across all namespaces. Saved with the resourceVersion it was read with, so a concurrent
writer makes `save` raise Conflict instead of both runs advancing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from reconciler import PREFIX
from reconciler.errors import Conflict
from reconciler.plain_data import shared_strings
from reconciler.status.base import RolloutKey

STATE_LABEL = f"{PREFIX}/state-of"
STATE_ANNOTATION = f"{PREFIX}/state"
NAME_SUFFIX = "-rollout-state"
MANAGED_LABEL = f"{PREFIX}/managed-by"


class AnnotationsStatusStore:
    mode = "annotations"

    def __init__(self, cluster, namespaces: Iterable[str] | None = None):
        self.cluster = cluster
        # The namespaces `load()` reads when not told; None: one list across all namespaces.
        self.namespaces = None if namespaces is None else sorted(set(namespaces))
        self._seen: dict[RolloutKey, dict] = {}
        # States that could not be read (key -> why): the engine rebuilds them from the cluster.
        self.unreadable: dict[RolloutKey, str] = {}

    @staticmethod
    def configmap_name(name: str) -> str:
        return f"{name}{NAME_SUFFIX}"

    def load(self, namespaces: Iterable[str] | None = None) -> dict[RolloutKey, dict]:
        scopes = sorted(set(namespaces)) if namespaces is not None else self.namespaces
        states: dict[RolloutKey, dict] = {}
        self._seen = {}
        self.unreadable = {}
        selector = {MANAGED_LABEL: "reconciler"}
        found = [cm for ns in scopes for cm in self.cluster.list("ConfigMap", ns, selector=selector)] if scopes is not None else (
            self.cluster.list("ConfigMap", None, selector=selector))
        for cm in found:
            meta = cm.get("metadata") or {}
            labels = meta.get("labels") or {}
            if STATE_LABEL not in labels:
                continue
            raw = (meta.get("annotations") or {}).get(STATE_ANNOTATION)
            key = (meta.get("namespace") or "default", labels[STATE_LABEL])
            self._seen[key] = _version_of(cm)
            try:
                state = shared_strings(json.loads(raw)) if raw else None  # held to the end of the run
            except ValueError as err:
                self.unreadable[key] = f"ConfigMap {meta.get('name')}: annotation {STATE_ANNOTATION} is not JSON: {err}"
                continue
            if not isinstance(state, dict):
                self.unreadable[key] = f"ConfigMap {meta.get('name')}: annotation {STATE_ANNOTATION} holds no state"
                continue
            states[key] = state
        return states

    def save(self, changed: Mapping[RolloutKey, dict | None], *, message: str) -> None:
        for (namespace, name), state in sorted(changed.items(), key=lambda item: item[0]):
            previous = self._seen.get((namespace, name))
            if state is None:
                if previous is not None:
                    self.cluster.delete("ConfigMap", namespace, previous["metadata"]["name"], previous["metadata"].get("resourceVersion"))
                    self._seen.pop((namespace, name), None)
                continue
            body = json.dumps(state, sort_keys=True, separators=(",", ":"), default=str)
            cm = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": self.configmap_name(name),
                    "namespace": namespace,
                    "labels": {STATE_LABEL: name, MANAGED_LABEL: "reconciler"},
                    "annotations": {STATE_ANNOTATION: body, f"{PREFIX}/last-change": message[:200]},
                },
            }
            if previous is None:
                stored = self.cluster.create(cm)  # an existing one (another run) raises Conflict
            else:
                cm["metadata"]["resourceVersion"] = previous["metadata"].get("resourceVersion")
                stored = self.cluster.replace(cm)
            self._seen[(namespace, name)] = _version_of(stored)


def _version_of(cm: dict) -> dict:
    """What a later save or delete needs of a ConfigMap it read or wrote: its name and resourceVersion
    (not the state's JSON again: one per rollout, held to the end of the run)."""
    meta = cm.get("metadata") or {}
    return {"metadata": {"name": meta.get("name"), "resourceVersion": meta.get("resourceVersion")}}


__all__ = ["AnnotationsStatusStore", "Conflict"]
