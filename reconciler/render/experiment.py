"""`get experiment NAME` and `list experiments`, as `kubectl argo rollouts get experiment` / `list
experiments` print them: a header, then the experiment's tree (its ReplicaSets with their pods,
its AnalysisRuns). Input is the experiment view (engine/experiment_summary.py experiment_view). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from reconciler.render.columns import align
from reconciler.render.timefmt import age
from reconciler.render.tree import LABEL_WIDTH, _experiment_rows, status_icon


def render_experiment(view: Mapping[str, Any], now: datetime) -> str:
    lines = []

    def field(label: str, value: object) -> None:
        lines.append(f"{label:<{LABEL_WIDTH}}{'' if value is None else value}".rstrip())

    field("Name:", view.get("name", ""))
    field("Namespace:", view.get("namespace", ""))
    status = view.get("status") or ""
    field("Status:", f"{status_icon(status, 'Experiment')} {status}")
    if view.get("message"):
        field("Message:", view["message"])
    if view.get("rollout"):
        field("Rollout:", f"{view['rollout']} (revision {view.get('revision')}, step {view.get('stepIndex')})")
    if view.get("duration"):
        field("Duration:", view["duration"])
    images = sorted({image for template in view.get("templates") or [] for image in template.get("images") or []})
    for index, image in enumerate(images):
        field("Images:" if index == 0 else "", image)
    header = "\n".join(lines) + "\n"
    rows = [["NAME", "KIND", "STATUS", "AGE", "INFO"]] + _experiment_rows(view, "", "", now)
    return header + "\n" + "\n".join(line.rstrip() for line in align(rows)) + "\n"


def render_experiment_list(views: Iterable[Mapping[str, Any]], now: datetime, *, all_namespaces: bool = False) -> str:
    views = list(views)
    if not views:
        return "No resources found.\n"
    header = (["NAMESPACE"] if all_namespaces else []) + ["NAME", "STATUS", "ROLLOUT", "DURATION", "AGE"]
    rows = [header]
    for view in views:
        row = [str(view.get("name", "")), str(view.get("status") or ""), str(view.get("rollout") or "-"),
               str(view.get("duration") or "-"), age(view.get("createdAt"), now)]
        rows.append(([str(view.get("namespace", ""))] if all_namespaces else []) + row)
    return "\n".join(line.rstrip() for line in align(rows)) + "\n"
