"""`list rollouts`: the table of seed 000, as `kubectl argo rollouts list rollouts` prints it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.render.columns import align

HEADER = ["NAME", "STRATEGY", "STATUS", "STEP", "SET-WEIGHT", "READY", "DESIRED", "UP-TO-DATE", "AVAILABLE"]
NAMESPACE_HEADER = "NAMESPACE"
# Argo pads each value to about its header's width before aligning, so short tables still line up.
_MIN_WIDTHS = (10, 9, 12, 4, 10, 5, 7, 10, 9)


def rollout_row(view: Mapping[str, Any]) -> list[str]:
    canary = view.get("strategy") == "Canary"
    step, total = view.get("step"), view.get("totalSteps")
    replicas = view.get("replicas") or {}
    cells = [
        str(view.get("name", "")),
        str(view.get("strategy") or "unknown"),
        str(view.get("status", "")),
        f"{step}/{total}" if canary and step is not None and total else "-",
        # the desired weight of the current step, not the measured one (as Argo does)
        str(view.get("setWeight")) if canary and view.get("setWeight") is not None else "-",
        f"{replicas.get('ready', 0)}/{replicas.get('current', 0)}",
        str(replicas.get("desired", 0)),
        str(replicas.get("updated", 0)),
        str(replicas.get("available", 0)),
    ]
    return [cell.ljust(width) for cell, width in zip(cells, _MIN_WIDTHS)]


def render_rollout_list(views: Iterable[Mapping[str, Any]], *, all_namespaces: bool = False) -> str:
    """The table, one row per rollout in the order given; "No resources found." when empty."""
    views = list(views)
    if not views:
        return "No resources found.\n"
    header = ([NAMESPACE_HEADER] if all_namespaces else []) + HEADER
    rows = [header]
    for view in views:
        row = rollout_row(view)
        if all_namespaces:
            row = [str(view.get("namespace", "")).ljust(9)] + row
        rows.append(row)
    return "\n".join(align(rows)) + "\n"
