"""`plan` output: per rollout where it is and what the next step does, the object changes as unified
diffs, and `-o markdown` for a pull-request comment with the whole canary progression as a table
(step, weight, canary/stable pods, pause), as seed 002's table 1 does by hand.

Inputs are plain values: the rollout view (docs/ARCHITECTURE.md), the desired Rollout manifest
(a dict) and actions as dicts or objects with `verb`, `kind`, `namespace`, `name`, `before`,
`after`, `reason`. Pure: no I/O, no clock.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.replicas import canary_split, surge_and_unavailable
from reconciler.plain_data import plain as _plain
from reconciler.render.tree import status_icon

# Server-managed noise that would hide the real change in a diff.
_NOISY_METADATA = ("resourceVersion", "managedFields", "uid", "creationTimestamp", "generation", "selfLink")


@dataclass
class RolloutPlan:
    """What the plan renderers need about one rollout."""

    view: Mapping
    next_step: str = ""  # one sentence: what the next invocation of `run` will do
    actions: Sequence[Any] = ()  # dicts or objects: verb, kind, namespace, name, before, after, reason
    rollout: Mapping | None = None  # the desired Rollout manifest, for the progression table
    findings: Sequence[Any] = field(default_factory=list)  # reconciler.findings.Finding or str


def _get(item: Any, key: str, default: Any = None) -> Any:
    if isinstance(item, Mapping):
        return item.get(key, default)
    return getattr(item, key, default)


# -- object diffs ---------------------------------------------------------------------------------


def _without_noise(obj: Mapping | None) -> dict | None:
    if obj is None:
        return None
    clean = _plain(obj)
    clean.pop("status", None)
    metadata = clean.get("metadata")
    if isinstance(metadata, dict):
        for key in _NOISY_METADATA:
            metadata.pop(key, None)
    return clean


def _block_str(dumper, value: str):
    # A multi-line value (a ConfigMap's config file) as a literal block, one source line per diff
    # line; the emitter falls back to quoting when a value cannot be a block.
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_DUMPER = None
_DUMP_OPTIONS = {"default_flow_style": False, "allow_unicode": True, "sort_keys": True}


def _dumper():
    """libyaml's emitter (PyYAML's CSafeDumper): the pure-Python emitter spent most of a 1,000-Rollout
    plan rendering diffs. Safe types only; keys sorted, so a diff never shows a reordering."""
    global _DUMPER
    if _DUMPER is None:
        import yaml

        from reconciler.plain_yaml import fast_dumper

        base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        _DUMPER = fast_dumper(type("DiffDumper", (base,), {}))
        _DUMPER.add_representer(str, _block_str)
    return _DUMPER


def to_yaml(obj: Mapping | None) -> str:
    if obj is None:
        return ""
    import yaml

    return yaml.dump(obj, Dumper=_dumper(), **_DUMP_OPTIONS)


# What _without_noise leaves out, in the form plain_yaml.dump_plain takes.
_NOISE = {"status": True, "metadata": {key: True for key in _NOISY_METADATA}}


def _plain_yaml(obj: Mapping | None, *, drop_noise: bool) -> str:
    """to_yaml(_without_noise(obj)) without copying the object first: the nodes are built from it
    directly (reconciler/plain_yaml.py)."""
    if obj is None:
        return ""
    from reconciler.plain_yaml import dump_plain

    return dump_plain(obj, _dumper(), _DUMP_OPTIONS, drop=_NOISE if drop_noise else None)


def object_label(kind: str, namespace: str | None, name: str) -> str:
    return f"{namespace or '_cluster'}/{kind}/{name}"


def object_diff(before: Mapping | None, after: Mapping | None, label: str, *, keep_status: bool = False) -> str:
    """Unified diff of two objects as YAML (`--- a/<label>` / `+++ b/<label>`); "" when equal.
    None on one side is a creation or a deletion. Status and server-managed metadata are left out
    unless keep_status (the planner changes specs; the cluster fills in status)."""
    if keep_status:
        old, new = to_yaml(before), to_yaml(after)
    else:
        old, new = _plain_yaml(before, drop_noise=True), _plain_yaml(after, drop_noise=True)
    if old == new:
        return ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile="/dev/null" if before is None else f"a/{label}",
        tofile="/dev/null" if after is None else f"b/{label}",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text


def action_diff(action: Any) -> str:
    from reconciler.redact import redacted

    label = object_label(_get(action, "kind", "?"), _get(action, "namespace"), _get(action, "name", "?"))
    return object_diff(*redacted(_get(action, "before"), _get(action, "after")), label)  # a Secret's values are never printed


def action_summary(action: Any) -> str:
    verb = _get(action, "verb") or _get(action, "type") or ("create" if _get(action, "before") is None else "delete" if _get(action, "after") is None else "update")
    namespace = _get(action, "namespace")
    text = f"{verb} {_get(action, 'kind', '?')} {namespace + '/' if namespace else ''}{_get(action, 'name', '?')}"
    reason = _get(action, "reason") or _get(action, "description")
    return f"{text}: {reason}" if reason else text


# -- canary progression ----------------------------------------------------------------------------


def _pause_text(pause: Any) -> str:
    if not isinstance(pause, Mapping) or pause.get("duration") in (None, ""):
        return "until promote"
    duration = pause["duration"]
    return f"{duration}s" if isinstance(duration, int) or str(duration).isdigit() else str(duration)


def _step_action(step: Mapping) -> str:
    if "setWeight" in step:
        return f"setWeight: {step['setWeight']}"
    if "pause" in step:
        return f"pause: {_pause_text(step['pause'])}"
    if "analysis" in step:
        templates = [t.get("templateName", "?") for t in (step.get("analysis") or {}).get("templates") or []]
        return f"analysis: {', '.join(templates)}" if templates else "analysis"
    if "experiment" in step:
        return "experiment"
    if "setCanaryScale" in step:
        return f"setCanaryScale: {step['setCanaryScale']}"
    kinds = ", ".join(str(key) for key in step)
    return kinds or "(empty step)"


def progression(rollout: Mapping) -> list[dict]:
    """One row per canary step: the weight in effect after it and the pods it means
    (`canary_split`: without a traffic router the split closest to the weight within maxSurge,
    as Argo picks it; with one the canary gets ceil(replicas × weight) and the stable stays whole), then the final
    promotion. Blue-green and step-less canaries have no progression: []."""
    spec = rollout.get("spec") or {}
    canary = (spec.get("strategy") or {}).get("canary")
    if not isinstance(canary, Mapping) or not canary.get("steps"):
        return []
    replicas = spec.get("replicas", 1)
    replicas = replicas if isinstance(replicas, int) else 1
    routed = bool(canary.get("trafficRouting"))
    weight, rows = 0, []
    for index, step in enumerate(canary["steps"]):
        step = step if isinstance(step, Mapping) else {}
        if isinstance(step.get("setWeight"), int):
            weight = step["setWeight"]
        surge, _ = surge_and_unavailable(replicas, canary.get("maxSurge"), canary.get("maxUnavailable"))
        canary_pods, stable_pods = canary_split(replicas, weight, routed, surge)
        rows.append(
            {
                "step": index,
                "action": _step_action(step),
                "weight": weight,
                "canary": canary_pods,
                "stable": stable_pods,
                "pause": _pause_text(step["pause"]) if "pause" in step else "",
            }
        )
    rows.append({"step": len(canary["steps"]), "action": "promote: the canary becomes stable", "weight": 100, "canary": replicas, "stable": 0, "pause": ""})
    return rows


def progression_markdown(rollout: Mapping, current_step: int | None = None) -> str:
    rows = progression(rollout)
    if not rows:
        return ""
    spec = rollout.get("spec") or {}
    replicas = spec.get("replicas", 1)
    routed = bool(((spec.get("strategy") or {}).get("canary") or {}).get("trafficRouting"))
    formula = (
        f"traffic router splits traffic: canary = ceil({replicas} × weight / 100), stable stays {replicas}"
        if routed
        else "no traffic router, so weight is pod counts: the canary/stable split closest to the weight within maxSurge (Argo's rule)"
    )
    out = [f"Progression ({replicas} replicas; {formula}):", "", "| Step | Action | Weight | Canary pods | Stable pods | Pause |", "|---:|---|---:|---:|---:|---|"]
    for row in rows:
        marker = " ◀ now" if current_step is not None and row["step"] == current_step else ""
        step = f"{row['step']}/{len(rows) - 1}"
        out.append(f"| {step}{marker} | {_md(row['action'])} | {row['weight']}% | {row['canary']} | {row['stable']} | {_md(row['pause'])} |")
    return "\n".join(out) + "\n"


def progression_text(rollout: Mapping, current_step: int | None = None) -> str:
    rows = progression(rollout)
    if not rows:
        return ""
    from reconciler.render.columns import align

    table = [["", "STEP", "ACTION", "WEIGHT", "CANARY", "STABLE", "PAUSE"]]
    for row in rows:
        here = "▶" if current_step is not None and row["step"] == current_step else ""
        table.append([here, f"{row['step']}/{len(rows) - 1}", row["action"], f"{row['weight']}%", str(row["canary"]), str(row["stable"]), row["pause"]])
    return "\n".join(align(table)) + "\n"


def _folded_diffs(diffs: list[str]) -> list[str]:
    """Diffs in a collapsed <details> block, fenced with more backticks than any line holds (a
    ConfigMap may carry a Markdown file)."""
    longest = max((len(run) for diff in diffs for run in re.findall(r"`+", diff)), default=0)
    fence = "`" * max(3, longest + 1)
    return ["", f"<details><summary>Object diffs ({len(diffs)})</summary>", "", f"{fence}diff", *(d.rstrip("\n") for d in diffs), fence, "", "</details>"]


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# -- whole plans ------------------------------------------------------------------------------------


def _where(view: Mapping) -> str:
    status = view.get("status", "")
    parts = [f"{status_icon(status)} {status}"]
    if view.get("strategy") == "Canary" and view.get("totalSteps"):
        parts.append(f"step {view.get('step')}/{view.get('totalSteps')}")
        parts.append(f"weight {view.get('setWeight')} (actual {view.get('actualWeight')})")
    if view.get("revision") is not None:
        parts.append(f"revision {view['revision']}")
    return ", ".join(parts)


def _finding_text(finding: Any) -> str:
    if isinstance(finding, str):
        return finding
    place = ":".join(str(p) for p in (_get(finding, "file"), _get(finding, "line"), _get(finding, "col")) if p)
    path = _get(finding, "path")
    path_text = ".".join(str(p) for p in path) if isinstance(path, (list, tuple)) else (path or "")
    hint = _get(finding, "hint")
    severity = _get(finding, "severity")
    severity = getattr(severity, "value", severity)  # a Finding's enum, or the string of its JSON form
    text = f"{place} {path_text}: {_get(finding, 'message', '')}".strip()
    if severity:
        text = f"{severity}: {text}"
    return f"{text} (hint: {hint})" if hint else text


def render_plan_text(plans: Iterable[RolloutPlan], *, diffs: bool = True, progression_table: bool = False) -> str:
    """`plan` for a terminal: per rollout its state, the next step, the actions, then diffs."""
    out: list[str] = []
    for plan in plans:
        view = plan.view
        # The plan's view is where this run's step leaves the rollout (predicted), not what is live now.
        out.append(f"Rollout {view.get('namespace', '')}/{view.get('name', '')} ({view.get('strategy', '?')}), after this run: {_where(view)}")
        if view.get("message"):
            out.append(f"  message: {view['message']}")
        for finding in plan.findings:
            out.append(f"  finding: {_finding_text(finding)}")
        out.append(f"  next: {plan.next_step or 'nothing to do'}")
        actions = list(plan.actions)
        if actions:
            out.append("  changes:")
            out.extend(f"    {action_summary(action)}" for action in actions)
        if progression_table and plan.rollout is not None:
            table = progression_text(plan.rollout, view.get("step"))
            if table:
                out.append("")
                out.extend("  " + line if line else line for line in table.rstrip("\n").split("\n"))
        if diffs:
            for action in actions:
                diff = action_diff(action)
                if diff:
                    out.append(diff.rstrip("\n"))
        out.append("")
    return "\n".join(out)


def render_plan_markdown(plans: Iterable[RolloutPlan], *, title: str = "Rollout plan", source_label: str = "") -> str:
    """`plan -o markdown`: a pull-request comment. A summary table, then per rollout where it is,
    what happens next, the whole progression and the object diffs (folded)."""
    plans = list(plans)
    out = [f"## {title}" + (f" for `{source_label}`" if source_label else ""), ""]
    if not plans:
        return "\n".join(out + ["No rollouts found.", ""])
    out += ["| Rollout | Strategy | Status | Step | Weight | Next |", "|---|---|---|---|---|---|"]
    for plan in plans:
        view = plan.view
        step = f"{view.get('step')}/{view.get('totalSteps')}" if view.get("strategy") == "Canary" and view.get("totalSteps") else "–"
        weight = f"{view.get('setWeight')}%" if view.get("strategy") == "Canary" and view.get("setWeight") is not None else "–"
        status = view.get("status", "")
        out.append(
            f"| `{view.get('namespace', '')}/{view.get('name', '')}` | {view.get('strategy', '?')} | {status_icon(status)} {status} | {step} | {weight} | {_md(plan.next_step or 'nothing to do')} |"
        )
    for plan in plans:
        view = plan.view
        out += ["", f"### `{view.get('namespace', '')}/{view.get('name', '')}`", ""]
        out.append(f"**After this run:** {_md(_where(view))}" + (f" — {_md(view['message'])}" if view.get("message") else ""))
        out.append("")
        out.append(f"**Next:** {_md(plan.next_step or 'nothing to do')}")
        if plan.findings:
            out += ["", "**Findings:**", ""] + [f"- {_md(_finding_text(f))}" for f in plan.findings]
        if plan.rollout is not None:
            table = progression_markdown(plan.rollout, view.get("step"))
            if table:
                out += ["", table.rstrip("\n")]
        actions = list(plan.actions)
        diffs = [diff for diff in (action_diff(action) for action in actions) if diff]
        if actions:
            out += ["", "**Changes:**", ""] + [f"- {_md(action_summary(action))}" for action in actions]
        if diffs:
            out += _folded_diffs(diffs)
    out.append("")
    return "\n".join(out)


# -- from the runner's RunReport ------------------------------------------------------------------


def plans_from_report(report: Any, rollouts: Mapping[tuple[str, str], Mapping] | None = None) -> list[RolloutPlan]:
    """RolloutPlans from a `reconciler.runner.RunReport` (or its `to_dict()`). The progression
    table needs each desired Rollout: taken from `result.desired` / `result.rollout` when the
    runner provides it, else from `rollouts` keyed by (namespace, name)."""
    results = _get(report, "results")
    if results is None:
        results = _get(report, "rollouts") or []
    plans = []
    for result in results:
        plan = _get(result, "plan")
        namespace, name = _get(result, "namespace", ""), _get(result, "name", "")
        view = _get(result, "view") or (_get(plan, "view") if plan is not None else None) or {"namespace": namespace, "name": name}
        findings = list(_get(result, "findings") or [])
        if _get(result, "error"):
            findings.append(f"error: {_get(result, 'error')}")
        desired = _get(result, "desired") or _get(result, "rollout") or (rollouts or {}).get((namespace, name))
        if desired is not None and not isinstance(desired, Mapping):
            desired = _get(desired, "rollout")  # an engine Desired value
        plans.append(
            RolloutPlan(
                view=view,
                next_step=(_get(plan, "next") or "") if plan is not None else (_get(result, "error") or "invalid: nothing is applied"),
                actions=list(_get(plan, "actions") or []) if plan is not None else [],
                rollout=desired,
                findings=findings,
            )
        )
    return plans


def render_report(report: Any, fmt: str = "text", *, rollouts: Mapping | None = None, source_label: str = "", empty: str = "") -> str:
    """The whole `plan` output for `-o text` (default) or `-o markdown`: plain manifests that would
    change, findings not tied to a rollout, then each rollout."""
    plans = plans_from_report(report, rollouts)
    manifest_actions = list(_get(report, "manifest_actions") or _get(report, "manifestActions") or [])
    general = [_finding_text(f) for f in (_get(report, "findings") or [])]
    if fmt == "markdown":
        text = render_plan_markdown(plans, source_label=source_label)
        if not plans and empty:
            text = text.replace("No rollouts found.", empty)
        extra = []
        if general:
            extra += ["", "### Findings", ""] + [f"- {_md(f)}" for f in general]
        if manifest_actions:
            extra += ["", "### Other objects", ""] + [f"- {_md(action_summary(a))}" for a in manifest_actions]
            diffs = [d for d in (action_diff(a) for a in manifest_actions) if d]
            if diffs:
                extra += _folded_diffs(diffs)
        return text + ("\n".join(extra) + "\n" if extra else "")
    out = []
    for finding in general:
        out.append(f"finding: {finding}")
    if manifest_actions:
        out.append("Other objects:")
        out.extend(f"  {action_summary(a)}" for a in manifest_actions)
        out.extend(d.rstrip("\n") for d in (action_diff(a) for a in manifest_actions) if d)
        out.append("")
    if not plans:
        out.append(empty or "No rollouts found.")
        out.append("")
    return "\n".join(out) + ("\n" if out and out[-1] != "" else "") + render_plan_text(plans)
