"""Argo's notification configuration, read unchanged: `argo-rollouts-notification-configmap`.

    data:
      service.<type>[.<name>]: <YAML options>   # webhook, slack, github here
      template.<name>: <YAML: message, slack, webhook, github, ...; every string is a Go template>
      trigger.<name>: <YAML list of {when, send, oncePer}>
      defaultTriggers: <YAML list>               # for subscriptions that name no trigger
      defaultTriggers.<service>: <YAML list>
      context: <YAML map>                        # `.context` in templates

Secret values are written `$key` in service options and resolved from
`argo-rollouts-notification-secret` only when a notification is delivered (never stored, printed
or logged). Everything wrong in the ConfigMap is a Finding at its file:line; the valid parts keep
working.
"""

from __future__ import annotations

import base64
import difflib
from typing import Any

from reconciler.findings import Finding, Severity
from reconciler.notification_keys import CONFIGMAP_NAME  # noqa: F401 (imported from here too)
from reconciler.notifications.model import Condition, NotificationConfig, Service, TemplateSpec, string_leaves
from reconciler.notifications.template_values import TemplateError
from reconciler.notifications.templates import parse
from reconciler.notifications.triggers import BUILTIN_TEMPLATES

SECRET_NAME = "argo-rollouts-notification-secret"

# Service types implemented here, one file each.
IMPLEMENTED_SERVICES = ("webhook", "slack", "github")
# Argo's other notification services: known, not implemented (a finding, never a silent no-op).
ARGO_SERVICES = (
    "alertmanager", "awssqs", "email", "gcppubsub", "googlechat", "grafana", "mattermost", "nats", "newrelic", "opsgenie",
    "pagerduty", "pagerdutyv2", "pushover", "rocketchat", "teams", "teams-workflows", "telegram", "webex",
)
SERVICE_OPTIONS = {
    "webhook": {"url", "headers", "basicAuth", "insecureSkipVerify", "retryWaitMin", "retryWaitMax", "retryMax",
                "maxIdleConns", "maxIdleConnsPerHost", "maxConnsPerHost", "idleConnTimeout"},
    "slack": {"token", "apiURL", "channels", "icon", "username", "insecureSkipVerify", "signingSecret", "disableUnfurl",
              "maxIdleConns", "maxIdleConnsPerHost", "maxConnsPerHost", "idleConnTimeout"},
    "github": {"token", "apiURL", "enterpriseBaseURL", "appID", "installationID", "privateKey"},
}
REQUIRED_OPTIONS = {"webhook": ("url",), "slack": ("token",), "github": ("token",)}
TRIGGER_KEYS = {"when", "send", "oncePer", "description"}


class _Place:
    """Turns a position inside one data value of the ConfigMap into a Finding at file:line."""

    def __init__(self, manifest=None, origin: str = ""):
        self.manifest = manifest
        self.origin = origin

    def finding(self, key: str, message: str, *, hint: str = "", inner_line: int = 0, severity=Severity.ERROR, rule: str = "notifications") -> Finding:
        if self.manifest is None:
            return Finding(file=self.origin, line=1, col=1, path=f"data.{key}", message=message, hint=hint, severity=severity, rule=rule,
                           object=f"ConfigMap/{self.origin}")
        line, col = self.manifest.locate(("data", key))
        if inner_line:
            line, col = line + inner_line, 1  # the data value is a block scalar: its text starts on the next line
        return Finding(file=self.manifest.file, line=line, col=col, path=f"data.{key}", message=message, hint=hint,
                       severity=severity, rule=rule, object=self.manifest.ref)


def _yaml_value(text: str):
    """A data value's YAML and its node tree (for the lines of template strings)."""
    import yaml  # here: validating a source with no notification ConfigMap (a warm, cached run) needs no YAML parser

    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    value = yaml.safe_load(text)
    return value, node


def parse_config(data: dict, *, manifest=None, origin: str = "") -> tuple[NotificationConfig, list[Finding]]:
    """The ConfigMap's `data` as a NotificationConfig, and the findings about it."""
    place = _Place(manifest, origin)
    config = NotificationConfig(origin=manifest.file if manifest is not None else origin)
    findings: list[Finding] = []
    if not isinstance(data, dict):
        return config, findings
    import yaml

    for key, text in data.items():
        key = str(key)
        if not isinstance(text, str):
            findings.append(place.finding(key, f"data.{key} must be a string (YAML text)", hint="write the value as a block: `key: |`"))
            continue
        try:
            value, node = _yaml_value(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            findings.append(place.finding(key, f"data.{key} is not valid YAML: {getattr(err, 'problem', err)}", inner_line=(mark.line + 1) if mark else 0))
            continue
        if key.startswith("service."):
            _service(config, key, value, place, findings)
        elif key.startswith("template."):
            _template(config, key, value, node, place, findings)
        elif key.startswith("trigger."):
            _trigger(config, key, value, place, findings)
        elif key == "defaultTriggers" or key.startswith("defaultTriggers."):
            names = value if isinstance(value, list) else None
            if names is None or not all(isinstance(n, str) for n in names):
                findings.append(place.finding(key, f"{key} must be a list of trigger names"))
                continue
            if key == "defaultTriggers":
                config.default_triggers = list(names)
            else:
                config.service_default_triggers[key.split(".", 1)[1]] = list(names)
        elif key == "context":
            if isinstance(value, dict):
                config.context = value
            else:
                findings.append(place.finding(key, "context must be a map of names to values"))
        elif key in ("subscriptions",):
            findings.append(place.finding(key, "global subscriptions in the ConfigMap are not supported; subscribe with annotations on the Rollout",
                                          severity=Severity.WARNING))
        else:
            close = difflib.get_close_matches(key.split(".")[0], ["service", "template", "trigger", "defaultTriggers", "context"], n=1)
            findings.append(place.finding(key, f"unknown key data.{key} in {CONFIGMAP_NAME}",
                                          hint=(f"did you mean {close[0]}.…? " if close else "") + "keys are service.*, template.*, trigger.*, defaultTriggers, context",
                                          severity=Severity.WARNING))
    _cross_check(config, place, findings)
    return config, findings


def _service(config: NotificationConfig, key: str, value, place: _Place, findings: list) -> None:
    parts = key.split(".", 2)
    kind = parts[1] if len(parts) > 1 else ""
    name = parts[2] if len(parts) > 2 else kind
    if kind not in IMPLEMENTED_SERVICES:
        config.broken_services[name] = f"service type {kind!r} is not implemented"
        if kind in ARGO_SERVICES:
            findings.append(place.finding(key, f"notification service type {kind!r} is not implemented by the reconciler (it implements {', '.join(IMPLEMENTED_SERVICES)})",
                                          hint="use a webhook service to reach it, or remove the entry; subscriptions to it are never delivered"))
        else:
            close = difflib.get_close_matches(kind, list(IMPLEMENTED_SERVICES) + list(ARGO_SERVICES), n=1)
            findings.append(place.finding(key, f"unknown notification service type {kind!r}",
                                          hint=(f"did you mean {close[0]!r}? " if close else "") + f"implemented: {', '.join(IMPLEMENTED_SERVICES)}"))
        return
    if value is None:
        value = {}
    if not isinstance(value, dict):
        config.broken_services[name] = "its options are not a map"
        findings.append(place.finding(key, f"{key} must be a map of options"))
        return
    if kind == "github" and not value.get("token") and any(value.get(k) for k in ("appID", "installationID", "privateKey")):
        config.broken_services[name] = "GitHub App authentication is not implemented"
        findings.append(place.finding(key, "GitHub App authentication (appID/installationID/privateKey) is not implemented by the reconciler",
                                      hint="give `token: $github-token` (a token that may write commit statuses and deployments) instead"))
        return
    for option in REQUIRED_OPTIONS[kind]:
        if not value.get(option):
            config.broken_services[name] = f"`{option}` is missing"
            findings.append(place.finding(key, f"service {name!r} ({kind}) needs `{option}`", hint=f"add `{option}:` (a secret as `$key` from {SECRET_NAME})"))
            return
    for option in value:
        if option not in SERVICE_OPTIONS[kind]:
            close = difflib.get_close_matches(str(option), sorted(SERVICE_OPTIONS[kind]), n=1)
            findings.append(place.finding(key, f"option {option!r} is not a {kind} service option; it is not used",
                                          hint=f"did you mean {close[0]!r}?" if close else f"options: {', '.join(sorted(SERVICE_OPTIONS[kind]))}",
                                          severity=Severity.WARNING))
    if value.get("insecureSkipVerify"):
        findings.append(place.finding(key, "insecureSkipVerify is not honoured: TLS certificates are always verified", severity=Severity.WARNING,
                                      hint="remove it, or give the service a certificate a standard trust store accepts"))
    config.services[name] = Service(name=name, type=kind, options=value)


def _template(config: NotificationConfig, key: str, value, node, place: _Place, findings: list) -> None:
    name = key.split(".", 1)[1]
    if not isinstance(value, dict):
        findings.append(place.finding(key, f"{key} must be a map (message, slack, webhook, github, ...)"))
        return
    spec = TemplateSpec(name=name, raw=value)
    ok = True
    for path, text, line in string_leaves(value, node):
        try:
            spec.compiled[path] = parse(text)
        except TemplateError as err:
            ok = False
            where = ".".join(str(p) for p in path)
            findings.append(place.finding(key, f"template {name!r} {where}: {err.message}", inner_line=line + err.line - 1,
                                          hint="notification templates support the Go-template subset listed in docs/notifications.md"))
    if ok:
        config.templates[name] = spec


def _trigger(config: NotificationConfig, key: str, value, place: _Place, findings: list) -> None:
    from reconciler.analysis.expr import check_expression

    name = key.split(".", 1)[1]
    if not isinstance(value, list) or not value:
        findings.append(place.finding(key, f"{key} must be a list of conditions (- when: ..., send: [template])"))
        return
    conditions = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            findings.append(place.finding(key, f"{key}[{index}] must be a map with `send` (and optionally `when`, `oncePer`)"))
            return
        for extra in set(item) - TRIGGER_KEYS:
            findings.append(place.finding(key, f"{key}[{index}].{extra} is not a trigger field; it is not used", severity=Severity.WARNING,
                                          hint="trigger conditions have when, send, oncePer"))
        send = item.get("send")
        if isinstance(send, str):
            send = [send]
        if not isinstance(send, list) or not send or not all(isinstance(s, str) for s in send):
            findings.append(place.finding(key, f"{key}[{index}].send must list template names"))
            return
        when = item.get("when") or ""
        once_per = item.get("oncePer") or ""
        for field_name, text in (("when", when), ("oncePer", once_per)):
            if not text:
                continue
            problem = check_expression(str(text), names=("rollout",)) if isinstance(text, str) else "must be text"
            if problem:
                findings.append(place.finding(key, f"{key}[{index}].{field_name}: {problem}",
                                              hint="conditions are expr-lang over `rollout`, e.g. rollout.status.phase == 'Healthy'"))
                return
        conditions.append(Condition(send=list(send), when=str(when), once_per=str(once_per)))
    config.triggers[name] = conditions


def _cross_check(config: NotificationConfig, place: _Place, findings: list) -> None:
    for name, conditions in config.triggers.items():
        for condition in conditions:
            for template in condition.send:
                if template not in config.templates and template not in BUILTIN_TEMPLATES:
                    known = sorted(set(config.templates) | set(BUILTIN_TEMPLATES))
                    close = difflib.get_close_matches(template, known, n=1)
                    findings.append(place.finding(f"trigger.{name}", f"trigger {name!r} sends template {template!r}, which is not defined",
                                                  hint=f"did you mean {close[0]!r}?" if close else f"add template.{template}"))


def secret_values(secret: dict | None) -> dict[str, str]:
    """`data` (base64) and `stringData` of a Secret object as plain strings."""
    if not isinstance(secret, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value)).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
    for key, value in (secret.get("stringData") or {}).items():
        out[str(key)] = str(value)
    return out


class MissingSecret(Exception):
    def __init__(self, key: str):
        super().__init__(f"secret key ${key} is not in {SECRET_NAME}")
        self.key = key


def resolve(value: Any, secrets: dict[str, str]) -> Any:
    """Options with `$key` replaced by the secret's value (the whole string or a part of it, as
    Argo does for e.g. `token $github-token`)."""
    import re

    if isinstance(value, dict):
        return {k: resolve(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, secrets) for v in value]
    if not isinstance(value, str) or "$" not in value:
        return value

    def one(match):
        key = match.group(1)
        if key not in secrets:
            raise MissingSecret(key)
        return secrets[key]

    return re.sub(r"\$([A-Za-z0-9][A-Za-z0-9_.-]*)", one, value)
