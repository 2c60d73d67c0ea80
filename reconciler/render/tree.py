"""`get rollout NAME`: the header and the tree, as `kubectl argo rollouts get rollout` prints them.

Input is the rollout view (docs/ARCHITECTURE.md, "The rollout view"); `now` drives the AGE column
and the blue-green `delay:` countdown. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from reconciler.render.columns import align
from reconciler.render.timefmt import age, human_duration, parse_time

ICON_ROLLOUT = "⟳"
ICON_REVISION = "#"
ICON_REPLICASET = "⧉"
ICON_POD = "□"
ICON_JOB = "⊞"
ICON_EXPERIMENT = "Σ"
ICON_ANALYSIS = "α"

OK, PROGRESSING, PAUSED, BAD, NEUTRAL, WARNING, UNKNOWN = "✔", "◌", "॥", "✖", "•", "⚠", "?"

_STATUS_ICONS = {
    # rollouts and ReplicaSets
    "Healthy": OK,
    "Progressing": PROGRESSING,
    "Paused": PAUSED,
    "Degraded": BAD,
    "ScaledDown": NEUTRAL,
    # pods (seed 001 shows `⚠ Error` for a crashing container)
    "Running": OK,
    "Completed": OK,
    "Succeeded": OK,
    "Pending": PROGRESSING,
    "ContainerCreating": PROGRESSING,
    "PodInitializing": PROGRESSING,
    "Terminating": PROGRESSING,
    # analysis runs, jobs, experiments
    "Successful": OK,
    "Failed": BAD,
    "Error": BAD,
    "Inconclusive": WARNING,
}
_POD_WARNINGS = {"Error", "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "OOMKilled", "CreateContainerConfigError"}

# Argo lists a ReplicaSet's tags in this order: stable first, then its canary/active/preview role.
_TAG_ORDER = ("stable", "canary", "active", "preview", "ping", "pong")

LABEL_WIDTH = 17  # Go's "%-17s%v" for the header block

# Argo's colours (kubectl-argo-rollouts cmd/get): icons by meaning, role tags by role.
_RED, _GREEN, _YELLOW, _HIBLUE = 31, 32, 33, 94
_COLORS = {
    OK: _GREEN, BAD: _RED, WARNING: _RED, UNKNOWN: _YELLOW, PROGRESSING: _HIBLUE, "◷": _YELLOW,
    "canary": _YELLOW, "stable": _GREEN, "active": _GREEN, "preview": _HIBLUE,
}


def _paint(text: str, color: bool, key: str | None = None) -> str:
    code = _COLORS.get(key if key is not None else text)
    if not color or code is None:
        return text
    return f"\x1b[{code}m{text}\x1b[0m"


def status_icon(status: str, kind: str = "") -> str:
    if kind == "Pod" and status in _POD_WARNINGS:
        return WARNING
    if kind == "Pod" and status.startswith("Init:"):  # init containers still running, e.g. Init:1/2
        return PROGRESSING
    if kind != "Pod" and status == "Running":  # a running analysis or experiment is still in progress
        return PROGRESSING
    return _STATUS_ICONS.get(status, UNKNOWN)


def render_rollout(view: Mapping, now: datetime, *, color: bool = False) -> str:
    """The whole `get rollout` text: header, a blank line, then the tree. Ends with a newline.
    color=True adds Argo's ANSI colours (for a terminal); columns stay aligned."""
    return render_header(view, color=color) + "\n" + render_tree(view, now, color=color)


def render_header(view: Mapping, *, color: bool = False) -> str:
    lines: list[str] = []

    def field(label: str, value: object) -> None:
        lines.append(f"{label:<{LABEL_WIDTH}}{'' if value is None else value}".rstrip())

    field("Name:", view.get("name", ""))
    field("Namespace:", view.get("namespace", ""))
    status = view.get("status", "")
    field("Status:", f"{_paint(status_icon(status), color)} {status}")
    if view.get("message"):
        field("Message:", view["message"])
    field("Strategy:", view.get("strategy", ""))
    if view.get("strategy") == "Canary":
        field("  Step:", step_text(view))
        field("  SetWeight:", view.get("setWeight"))
        field("  ActualWeight:", view.get("actualWeight"))
    images = list(view.get("images") or [])
    for index, image in enumerate(images):
        field("Images:" if index == 0 else "", image_text(image, color=color))
    lines.append("Replicas:")
    replicas = view.get("replicas") or {}
    for key in ("desired", "current", "updated", "ready", "available"):
        field(f"  {key.capitalize()}:", replicas.get(key, 0))
    return "\n".join(lines) + "\n"


def step_text(view: Mapping) -> str:
    """`N/M` as Argo shows it; blank when the canary has no steps or no step index yet."""
    step, total = view.get("step"), view.get("totalSteps")
    if step is None or not total:
        return ""
    return f"{step}/{total}"


def image_text(image: Mapping, *, color: bool = False) -> str:
    tags = [_paint(tag, color) for tag in image.get("tags") or []]
    return f"{image['image']} ({', '.join(tags)})" if tags else str(image["image"])


def render_tree(view: Mapping, now: datetime, *, color: bool = False) -> str:
    rows: list[list[str]] = [["NAME", "KIND", "STATUS", "AGE", "INFO"]]
    status = view.get("status", "")
    rows.append([f"{ICON_ROLLOUT} {view.get('name', '')}", "Rollout", f"{status_icon(status)} {status}", age(view.get("createdAt"), now), ""])
    revisions = _revisions(view)
    for index, revision in enumerate(revisions):
        prefix, subprefix = _prefixes(index == len(revisions) - 1, "")
        rows.extend(_revision_rows(view, revision, prefix, subprefix, now))
    if color:
        rows = [rows[0]] + [_paint_row(row) for row in rows[1:]]
    return "\n".join(align(rows)) + "\n"


def _paint_row(row: list[str]) -> list[str]:
    """Colour the status icon and the role tags of one tree row."""
    name, kind, status, age_text, info = row
    if " " in status and status.strip():
        icon, rest = status.split(" ", 1)
        status = f"{_paint(icon, True)} {rest}"
    info = ",".join(_paint(part, True) if part in _COLORS else part for part in info.split(",")) if info else info
    return [name, kind, status, age_text, info]


def _prefixes(is_last: bool, subprefix: str) -> tuple[str, str]:
    if is_last:
        return subprefix + "└──", subprefix + "   "
    return subprefix + "├──", subprefix + "│  "


def _revisions(view: Mapping) -> list[int]:
    found = {
        int(child["revision"])
        for key in ("replicaSets", "analysisRuns", "experiments")
        for child in view.get(key) or []
        if child.get("revision") is not None
    }
    return sorted(found, reverse=True)


def _of_revision(children: Iterable[Mapping] | None, revision: int) -> list[Mapping]:
    return [child for child in children or [] if child.get("revision") is not None and int(child["revision"]) == revision]


def _revision_rows(view: Mapping, revision: int, prefix: str, subprefix: str, now: datetime) -> list[list[str]]:
    rows = [[f"{prefix}{ICON_REVISION} revision:{revision}", "", " ", "", ""]]
    children: list[tuple[str, Mapping]] = (
        [("rs", rs) for rs in _of_revision(view.get("replicaSets"), revision)]
        + [("experiment", ex) for ex in _of_revision(view.get("experiments"), revision)]
        + [("analysis", run) for run in _of_revision(view.get("analysisRuns"), revision)]
    )
    rows.extend(_children_rows(children, subprefix, now))
    return rows


def _children_rows(children: list[tuple[str, Mapping]], subprefix: str, now: datetime) -> list[list[str]]:
    rows: list[list[str]] = []
    for index, (kind, child) in enumerate(children):
        child_prefix, child_subprefix = _prefixes(index == len(children) - 1, subprefix)
        if kind == "rs":
            rows.extend(_replicaset_rows(child, child_prefix, child_subprefix, now))
        elif kind == "experiment":
            rows.extend(_experiment_rows(child, child_prefix, child_subprefix, now))
        else:
            rows.extend(_analysis_rows(child, child_prefix, child_subprefix, now))
    return rows


def _replicaset_rows(rs: Mapping, prefix: str, subprefix: str, now: datetime) -> list[list[str]]:
    tags = sorted(rs.get("tags") or [], key=lambda tag: _TAG_ORDER.index(tag) if tag in _TAG_ORDER else len(_TAG_ORDER))
    info = list(tags)
    delay = scale_down_delay(rs.get("scaleDownDeadline"), now)
    if delay:
        info.append(f"delay:{delay}")
    status = rs.get("status", "")
    rows = [[f"{prefix}{ICON_REPLICASET} {rs['name']}", "ReplicaSet", f"{status_icon(status)} {status}", age(rs.get("createdAt"), now), ",".join(info)]]
    pods = list(rs.get("pods") or [])
    for index, pod in enumerate(pods):
        pod_prefix, _ = _prefixes(index == len(pods) - 1, subprefix)
        pod_info = [f"ready:{pod.get('ready', '')}"]
        if pod.get("restarts"):
            pod_info.append(f"restarts:{pod['restarts']}")
        pod_status = pod.get("status", "")
        rows.append(
            [f"{pod_prefix}{ICON_POD} {pod['name']}", "Pod", f"{status_icon(pod_status, 'Pod')} {pod_status}", age(pod.get("createdAt"), now), ",".join(pod_info)]
        )
    return rows


def scale_down_delay(deadline: str | None, now: datetime) -> str:
    """Blue-green's `delay:` INFO: time left before the old ReplicaSet is scaled down, or `passed`."""
    when = parse_time(deadline)
    if when is None:
        return ""
    if when < now:
        return "passed"
    return human_duration((when - now).total_seconds())


def _experiment_rows(experiment: Mapping, prefix: str, subprefix: str, now: datetime) -> list[list[str]]:
    status = experiment.get("status", "")
    rows = [[f"{prefix}{ICON_EXPERIMENT} {experiment['name']}", "Experiment", f"{status_icon(status, 'Experiment')} {status}", age(experiment.get("createdAt"), now), ""]]
    children = [("rs", rs) for rs in experiment.get("replicaSets") or []] + [("analysis", run) for run in experiment.get("analysisRuns") or []]
    rows.extend(_children_rows(children, subprefix, now))
    return rows


def analysis_counts(run: Mapping) -> dict[str, int]:
    """Measurement counts of a run: its own fields when the view has them, else summed over metrics."""
    counts = {}
    for key in ("successful", "failed", "inconclusive", "error"):
        if key in run:
            counts[key] = int(run.get(key) or 0)
        else:
            counts[key] = sum(int(metric.get(key) or 0) for metric in run.get("metrics") or [])
    return counts


def _analysis_rows(run: Mapping, prefix: str, subprefix: str, now: datetime) -> list[list[str]]:
    counts = analysis_counts(run)
    info = [f"{icon} {counts[key]}" for key, icon in (("successful", OK), ("failed", BAD), ("inconclusive", UNKNOWN), ("error", WARNING)) if counts[key] > 0]
    status = run.get("status", "")
    rows = [[f"{prefix}{ICON_ANALYSIS} {run['name']}", "AnalysisRun", f"{status_icon(status, 'AnalysisRun')} {status}", age(run.get("createdAt"), now), ",".join(info)]]
    jobs = list(run.get("jobs") or [])
    for index, job in enumerate(jobs):
        job_prefix, _ = _prefixes(index == len(jobs) - 1, subprefix)
        job_status = job.get("status", "")
        rows.append([f"{job_prefix}{ICON_JOB} {job['name']}", "Job", f"{status_icon(job_status, 'Job')} {job_status}", age(job.get("createdAt"), now), ""])
    return rows
