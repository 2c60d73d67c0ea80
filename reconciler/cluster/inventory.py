"""Where one SOURCE has applied objects: the places `--prune` must look even after SOURCE stopped
holding any object of that kind, or of that namespace (reconciler/pipeline/prune.py).

    ConfigMap reconciler-applied-<digest of the SOURCE>, in the run's Lease namespace,
    label reconciler.rollouts.io/inventory-of: <digest>, data {source: <SOURCE>, scopes: "<apiVersion> <kind> <namespace>" lines; "-" for a kind the engine manages}

Only places are recorded (apiVersion, kind, namespace), never object names: which objects are ours is
read from the objects themselves (their `applied-from` annotation), so a stale or lost inventory can
only make `--prune` look in fewer places, never delete more. A run that applied something adds its
places (compare-and-swap, re-read on a conflict); a `--prune` run that found nothing of ours left in a
place drops it. Reading or writing it never fails a run: a warning is logged instead.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from reconciler import PREFIX
from reconciler.errors import ClusterError, Conflict

log = logging.getLogger("reconciler")

NAME_PREFIX = "reconciler-applied-"
INVENTORY_LABEL = f"{PREFIX}/inventory-of"
_ATTEMPTS = 3

Scope = tuple[str, str, str]  # (apiVersion, kind, namespace)


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def configmap_name(source: str) -> str:
    return NAME_PREFIX + _digest(source)


@dataclass
class Inventory:
    namespace: str
    source: str
    scopes: set[Scope] = field(default_factory=set)
    stored: dict | None = None  # the ConfigMap as read (its resourceVersion is the compare-and-swap)
    problem: str = ""  # why it could not be read (then `scopes` is empty)


def _parse(text: str) -> set[Scope]:
    scopes = set()
    for line in str(text or "").splitlines():
        parts = line.split()
        if len(parts) == 3:  # "-": a kind the engine manages (listed by kind alone)
            scopes.add(("" if parts[0] == "-" else parts[0], parts[1], parts[2]))
    return scopes


def read(cluster, namespace: str, source: str) -> Inventory:
    found = Inventory(namespace=namespace, source=source)
    try:
        # A list narrowed by its label, not a get by name: the Lease stays the only object a run reads by name.
        listed = cluster.list("ConfigMap", namespace, selector={INVENTORY_LABEL: _digest(source)})
        stored = next((cm for cm in listed if (cm.get("metadata") or {}).get("name") == configmap_name(source)), None)
    except ClusterError as err:
        found.problem = err.message
        log.warning("cannot read the inventory of what this SOURCE applied (%s): --prune looks only where SOURCE has objects", err.message)
        return found
    data = (stored or {}).get("data") or {}
    if stored is not None and data.get("source") == source:  # a digest collision reads as "no inventory"
        found.stored, found.scopes = stored, _parse(data.get("scopes", ""))
    elif stored is not None:
        found.stored = stored
    return found


def write(cluster, inventory: Inventory, scopes: set[Scope], *, replace: bool = False) -> None:
    """Record `scopes` (added to what is there; `replace`: instead of it). Re-read and merge on a conflict."""
    for _ in range(_ATTEMPTS):
        wanted = set(scopes) if replace else inventory.scopes | set(scopes)
        if inventory.stored is not None and wanted == inventory.scopes:
            return
        body: dict[str, Any] = {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": configmap_name(inventory.source), "namespace": inventory.namespace,
                         "labels": {INVENTORY_LABEL: _digest(inventory.source)}},
            "data": {"source": inventory.source, "scopes": "".join(f"{a or '-'} {k} {n}\n" for a, k, n in sorted(wanted))},
        }
        try:
            if inventory.stored is None:
                cluster.create(body)
            else:
                body["metadata"]["resourceVersion"] = (inventory.stored.get("metadata") or {}).get("resourceVersion")
                cluster.replace(body)
            return
        except Conflict:
            again = read(cluster, inventory.namespace, inventory.source)
            if again.problem:
                return
            inventory.stored, inventory.scopes = again.stored, again.scopes
        except ClusterError as err:
            log.warning("cannot record where this SOURCE applied objects (%s): a later --prune may not find them", err.message)
            return
    log.warning("the inventory of what this SOURCE applied kept changing under this run; the next run records it")
