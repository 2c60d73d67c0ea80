"""Argo Rollouts' trigger catalogue as built-ins, and which Event fires which trigger.

Argo Rollouts sends a notification when it records an Event on the Rollout: the trigger's name is
the Event's reason in kebab case with `on-` in front (RolloutCompleted -> on-rollout-completed,
AnalysisRunFailed -> on-analysis-run-failed). The engine here records the same reasons (in
`Plan.events`), except that an analysis run's status change is one reason,
`AnalysisRunStatusChange`, whose message carries the new status; it maps to
`on-analysis-run-<status>` as Argo's `AnalysisRun<Status>` reasons do.

Built-in triggers (Argo's names and meanings; a `trigger.<name>` in the ConfigMap replaces one):

  on-rollout-updated         the Rollout's pod template changed (a new revision starts)
  on-rollout-step-completed  a canary step completed
  on-rollout-paused          the rollout paused (pause step, blue-green pause, inconclusive analysis)
  on-rollout-completed       the update finished: the new revision is stable (Healthy)
  on-rollout-aborted         the update was aborted (analysis failed, `abort`)
  on-analysis-run-running    an analysis run started running
  on-analysis-run-error      an analysis run ended in Error
  on-analysis-run-failed     an analysis run Failed
  on-scaling-replica-set     a ReplicaSet of the rollout was scaled

Their templates' messages are Argo's words; the Slack attachments, the webhook body and the
GitHub commit status are this project's own.
"""

from __future__ import annotations

import re

from reconciler.notifications.model import Condition, TemplateSpec, string_leaves
from reconciler.notifications.templates import parse

_FIRST_CAP = re.compile(r"(.)([A-Z][a-z]+)")
_ALL_CAP = re.compile(r"([a-z0-9])([A-Z])")
_ANALYSIS_STATUS = re.compile(r"Status New: '([A-Za-z]+)'")
_STEP = re.compile(r"step (\d+)/(\d+) completed")


def trigger_for_reason(reason: str) -> str:
    """RolloutStepCompleted -> on-rollout-step-completed (Argo's rule for event reasons)."""
    text = _FIRST_CAP.sub(r"\1-\2", reason)
    text = _ALL_CAP.sub(r"\1-\2", text)
    return "on-" + text.lower()


def event_trigger(reason: str, message: str) -> str:
    if reason == "AnalysisRunStatusChange":
        found = _ANALYSIS_STATUS.search(message or "")
        return trigger_for_reason("AnalysisRun" + (found.group(1) if found else "Unknown"))
    return trigger_for_reason(reason)


def completed_step_index(message: str) -> int | None:
    """The 0-based index of the step a RolloutStepCompleted event is about."""
    found = _STEP.search(message or "")
    return int(found.group(1)) - 1 if found else None


# Every Event reason the engine records, so a trigger can be told apart from a condition-only one.
ENGINE_REASONS = (
    "RolloutUpdated", "RolloutStepCompleted", "RolloutPaused", "RolloutResumed", "RolloutCompleted", "RolloutAborted",
    "RolloutRetried", "ScalingReplicaSet", "NewReplicaSetCreated", "SwitchService", "ProgressDeadlineExceeded",
    "AnalysisRunPending", "AnalysisRunRunning", "AnalysisRunSuccessful", "AnalysisRunFailed", "AnalysisRunError",
    "AnalysisRunInconclusive",
)
EVENT_TRIGGERS = frozenset(trigger_for_reason(r) for r in ENGINE_REASONS)

_STRATEGY = '{{if .rollout.spec.strategy.blueGreen}}BlueGreen{{end}}{{if .rollout.spec.strategy.canary}}Canary{{end}}'


def _slack(color: str, extra_fields: str = "") -> str:
    fields = '{"title": "Strategy", "value": "' + _STRATEGY + '", "short": true}' + extra_fields
    fields += ('{{range $c := .rollout.spec.template.spec.containers}}, {"title": {{$c.name | toJson}}, '
               '"value": {{$c.image | toJson}}, "short": true}{{end}}')
    return '[{"title": {{.rollout.metadata.name | toJson}}, "color": "' + color + '", "fields": [' + fields + ']}]'


def _builtin(message: str, color: str, state: str, extra_fields: str = "") -> dict:
    return {
        "message": message,
        "email": {"subject": message},
        "slack": {"attachments": _slack(color, extra_fields)},
        # Commit status on the commit holding the Rollout's manifest (github service).
        "github": {"status": {"state": state, "label": "continuous-delivery/{{.rollout.metadata.name}}"}},
    }


_GREEN, _RED, _YELLOW = "#18be52", "#E01E5A", "#f4c030"
_STEP_FIELD = (', {"title": "Step completed", "value": "{{add .rollout.status.currentStepIndex 1}}/'
               '{{len .rollout.spec.strategy.canary.steps}}", "short": true}')
_SCALE_FIELDS = (', {"title": "Desired replica", "value": "{{.rollout.spec.replicas}}", "short": true}, '
                 '{"title": "Updated replicas", "value": "{{.rollout.status.updatedReplicas}}", "short": true}')

BUILTIN_TEMPLATES: dict[str, dict] = {
    "rollout-updated": _builtin("Rollout {{.rollout.metadata.name}} has been updated.", _GREEN, "pending"),
    "rollout-step-completed": _builtin(
        "Rollout {{.rollout.metadata.name}} step number {{add .rollout.status.currentStepIndex 1}}/"
        "{{len .rollout.spec.strategy.canary.steps}} has been completed.", _GREEN, "pending", _STEP_FIELD),
    "rollout-paused": _builtin("Rollout {{.rollout.metadata.name}} has been paused.", _YELLOW, "pending"),
    "rollout-completed": _builtin("Rollout {{.rollout.metadata.name}} has been completed.", _GREEN, "success"),
    "rollout-aborted": _builtin("Rollout {{.rollout.metadata.name}} has been aborted.", _RED, "failure"),
    "analysis-run-running": _builtin("Rollout {{.rollout.metadata.name}}'s analysis run is running.", _GREEN, "pending"),
    "analysis-run-error": _builtin("Rollout {{.rollout.metadata.name}}'s analysis run is in error state.", _RED, "error"),
    "analysis-run-failed": _builtin("Rollout {{.rollout.metadata.name}}'s analysis run failed.", _RED, "failure"),
    "scaling-replicaset": _builtin("Scaling Rollout {{.rollout.metadata.name}}'s replicaset to {{.rollout.spec.replicas}}.", _GREEN,
                                   "pending", _SCALE_FIELDS),
}

BUILTIN_TRIGGERS: dict[str, list[Condition]] = {
    "on-rollout-updated": [Condition(send=["rollout-updated"])],
    "on-rollout-step-completed": [Condition(send=["rollout-step-completed"])],
    "on-rollout-paused": [Condition(send=["rollout-paused"])],
    "on-rollout-completed": [Condition(send=["rollout-completed"])],
    "on-rollout-aborted": [Condition(send=["rollout-aborted"])],
    "on-analysis-run-running": [Condition(send=["analysis-run-running"])],
    "on-analysis-run-error": [Condition(send=["analysis-run-error"])],
    "on-analysis-run-failed": [Condition(send=["analysis-run-failed"])],
    "on-scaling-replica-set": [Condition(send=["scaling-replicaset"])],
}


def compiled_builtin_templates():
    """The built-in templates parsed once (they are part of the code: a parse error is a bug)."""
    global _COMPILED
    if _COMPILED is None:
        _COMPILED = {}
        for name, raw in BUILTIN_TEMPLATES.items():
            spec = TemplateSpec(name=name, raw=raw)
            for path, text, _ in string_leaves(raw, None):
                spec.compiled[path] = parse(text)
            _COMPILED[name] = spec
    return _COMPILED


_COMPILED = None
