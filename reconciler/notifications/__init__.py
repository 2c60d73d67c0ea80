"""Notifications: Argo Rollouts' notification configuration, delivered exactly once across runs.

The run's stages call three things here (reconciler/pipeline/notify.py keeps only the hooks):

    notifier = Notifier.prepare(manifests, cluster, root, ...)   # config: SOURCE, else the cluster
    notifier.enqueue(desired, plan, now)      # pure: the plan's events -> pending, in plan.state
    notifier.deliver(plans, store, ...)       # after apply: send what is due, mark, record

`plan` calls only the first two and lists the pending entries (`preview`); nothing is sent.
`validation_findings(manifests)` is the `validate` stage's part (ConfigMap and subscriptions).
Files: model.py (the configuration's values), config.py (the ConfigMap), templates.py (Go
templates; template_*.py its parts), triggers.py (the catalogue),
subscriptions.py (annotations), ledger.py (the outbox in the rollout's state), deliver.py, and
one file per service: webhook.py, slack.py, github.py.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
from datetime import datetime
from pathlib import Path

from reconciler.findings import Finding, Severity
from reconciler.notifications.config import CONFIGMAP_NAME, SECRET_NAME, parse_config, secret_values
from reconciler.notifications.model import NotificationConfig
from reconciler.notifications.subscriptions import (
    SUBSCRIBE_PREFIX,
    annotations_of,
    has_subscriptions,
    parse_subscriptions,
)

log = logging.getLogger("reconciler")

__all__ = ["Notifier", "validation_findings", "CONFIGMAP_NAME", "SECRET_NAME"]


def _config_manifest(manifests):
    found = [m for m in manifests if m.kind == "ConfigMap" and m.name == CONFIGMAP_NAME]
    return found[0] if found else None


def validation_findings(manifests) -> list[Finding]:
    """The notification ConfigMap's problems and the Rollouts' subscription problems, at file:line."""
    from reconciler.notifications.triggers import BUILTIN_TRIGGERS

    manifests = list(manifests)
    findings: list[Finding] = []
    config_manifest = _config_manifest(manifests)
    config = None
    if config_manifest is not None:
        data = config_manifest.obj.get("data")
        config, problems = parse_config(data if isinstance(data, dict) else {}, manifest=config_manifest)
        findings.extend(problems)
        for name, spec in config.templates.items():
            for field, why in _unused_template_fields(spec.raw):
                findings.append(config_manifest.finding(("data", f"template.{name}"), f"template {name!r}: {field} is not implemented; {why}",
                                                        severity=Severity.WARNING, rule="notifications",
                                                        hint="see docs/notifications.md for the fields each service sends"))
    for manifest in manifests:
        if manifest.kind != "Rollout":
            continue
        annotations = annotations_of(manifest.obj)
        if not has_subscriptions(annotations):
            continue
        subs, errors = parse_subscriptions(annotations)
        where = lambda key: ("metadata", "annotations", key)  # noqa: E731
        for error in errors:
            findings.append(manifest.finding(where(error.annotation), error.message, severity=Severity.WARNING, rule="notifications"))
        known_triggers = set(BUILTIN_TRIGGERS) | set(config.triggers if config else ())
        for sub in subs:
            if not sub.trigger:
                defaults = (config.service_default_triggers.get(sub.service) or config.default_triggers) if config else []
                if not defaults:
                    findings.append(manifest.finding(where(sub.annotation), f"{sub.annotation} names no trigger and no defaultTriggers are configured; nothing is sent",
                                                     hint=f"write {SUBSCRIBE_PREFIX}<trigger>.{sub.service}, or set defaultTriggers in {CONFIGMAP_NAME}",
                                                     severity=Severity.WARNING, rule="notifications"))
            elif sub.trigger not in known_triggers:
                close = difflib.get_close_matches(sub.trigger, sorted(known_triggers), n=1)
                findings.append(manifest.finding(where(sub.annotation), f"unknown notification trigger {sub.trigger!r}; nothing is sent for it",
                                                 hint=(f"did you mean {close[0]!r}? " if close else "") + f"built-in: {', '.join(sorted(BUILTIN_TRIGGERS))}",
                                                 severity=Severity.WARNING, rule="notifications"))
            if config is not None and sub.service not in config.services:
                why = config.broken_services.get(sub.service)
                close = difflib.get_close_matches(sub.service, sorted(config.services), n=1)
                findings.append(manifest.finding(where(sub.annotation),
                                                 f"notification service {sub.service!r} " + (f"cannot deliver: {why}" if why else f"is not configured in {config_manifest.file}"),
                                                 hint=(f"did you mean {close[0]!r}? " if close else "") + f"add service.<type>.{sub.service} (or service.{sub.service}) to {CONFIGMAP_NAME}",
                                                 severity=Severity.WARNING, rule="notifications"))
    return findings


# The parts of a template each implemented service sends; other parts of those services are not.
_TEMPLATE_FIELDS = {
    "slack": {"attachments", "blocks", "username", "icon"},
    "github": {"repoURLPath", "revisionPath", "status", "deployment"},
}
_OTHER_SERVICES = ("email", "teams", "telegram", "opsgenie", "pagerduty", "pagerdutyv2", "mattermost", "rocketchat", "googlechat",
                   "alertmanager", "webex", "newrelic", "pushover", "awssqs", "gcppubsub", "nats", "grafana", "teams-workflows")


def _unused_template_fields(raw: dict):
    for service, fields in _TEMPLATE_FIELDS.items():
        part = raw.get(service)
        if isinstance(part, dict):
            for key in part:
                if key not in fields:
                    yield f"{service}.{key}", f"the {service} service sends only {', '.join(sorted(fields))}"
    for name, part in (raw.get("webhook") or {}).items() if isinstance(raw.get("webhook"), dict) else ():
        for key in (part or {}) if isinstance(part, dict) else ():
            if key not in ("method", "path", "body"):
                yield f"webhook.{name}.{key}", "a webhook template part has method, path and body"
    for key in raw:
        if key not in ("message", "webhook", *_TEMPLATE_FIELDS) and key not in _OTHER_SERVICES:
            yield str(key), "a template has message and one part per service (slack, webhook, github, ...)"


_CREDENTIALS_IN_URL = re.compile(r"(\w+://)[^/@\s]+@")


def _repository(root: Path):
    """The Git checkout holding `root` (reconciler/gitrepo.py), or None."""
    from reconciler import gitrepo

    try:
        return gitrepo.find(root, timeout=30)
    except Exception:  # noqa: BLE001 - no git, an unreadable repository: the notification goes without the link
        return None


def _last_commit(repository, file: str) -> str:
    """The last commit that changed `file` (relative to the checkout's folder), else HEAD's; "" when git cannot say."""
    from reconciler import gitrepo

    try:
        return (repository.last_commit(file) if file else "") or repository.head_commit()
    except (gitrepo.GitFailed, gitrepo.GitTimeout):
        return ""


class Notifier:
    """The notification side of one run: the configuration and where the manifests came from."""

    def __init__(self, config: NotificationConfig, *, secrets_fn, root: Path, source_label: str = "", findings=()):
        self.config = config
        self.secrets_fn = secrets_fn
        self.root = Path(root)
        self.source_label = source_label
        self.findings = list(findings)
        self._sources: dict = {}
        self.outcomes: list = []

    @classmethod
    def prepare(cls, manifests, cluster, root: Path, *, namespace: str, source_label: str = "", states: dict | None = None,
                rollouts=()) -> Notifier | None:
        """None when nothing in this run subscribes and nothing is pending (no cluster read then).
        The ConfigMap comes from SOURCE, else from the cluster in `namespace` (the reconciler's)."""
        wanted = any(has_subscriptions(annotations_of(m.obj)) for m in rollouts)
        pending = any(((s or {}).get("notifications") or {}).get("pending") for s in (states or {}).values())
        if not wanted and not pending:
            return None
        manifests = list(manifests)
        findings: list[Finding] = []
        config_manifest = _config_manifest(manifests)
        if config_manifest is not None:
            config, _ = parse_config(config_manifest.obj.get("data") or {}, manifest=config_manifest)  # validate reported its findings
        else:
            origin = f"cluster ConfigMap {namespace}/{CONFIGMAP_NAME}"
            try:
                live = cluster.get("ConfigMap", namespace, CONFIGMAP_NAME)
            except Exception as err:  # noqa: BLE001 - a notification problem never stops the rollouts
                live = None
                findings.append(Finding(file=origin, line=1, col=1, path="", message=f"cannot read {origin}: {err}", severity=Severity.WARNING,
                                        rule="notifications", hint="built-in triggers and templates are used; services need the ConfigMap"))
            config, problems = parse_config((live or {}).get("data") or {}, origin=origin)
            # about a live object, not the run's manifests: reported, never a failed run
            findings.extend(dataclasses.replace(f, severity=Severity.WARNING) for f in problems)

        source_secret = next((m for m in manifests if m.kind == "Secret" and m.name == SECRET_NAME), None)

        def secrets_fn() -> dict:
            if source_secret is not None:
                return secret_values(source_secret.obj)
            from reconciler.notifications.http import DeliveryError

            try:
                secret = cluster.get("Secret", namespace, SECRET_NAME)
            except Exception as err:  # noqa: BLE001 - e.g. the kube backend's RBAC holds no Secret rights
                raise DeliveryError(f"cannot read Secret {namespace}/{SECRET_NAME}: {getattr(err, 'message', None) or type(err).__name__}") from None
            return secret_values(secret)

        return cls(config, secrets_fn=secrets_fn, root=root, source_label=source_label, findings=findings)

    def source_for(self, desired) -> dict:
        """The repository URL (credentials removed) and the last commit that changed the Rollout's file."""
        file = getattr(desired, "file", "") or ""
        if file in self._sources:
            return self._sources[file]
        repository = _repository(self.root)
        url = self.source_label if "://" in self.source_label or self.source_label.startswith("git@") else (repository.remote_url("origin") if repository else "")
        url = _CREDENTIALS_IN_URL.sub(r"\1", url or "")
        commit = _last_commit(repository, file) if repository is not None else ""
        source = {"repoURL": url, "commit": commit, "path": str(Path(file).parent) if file else ""}
        self._sources[file] = source
        return source

    def enqueue(self, desired, plan, now: datetime) -> list[dict]:
        from reconciler.notifications.ledger import enqueue

        return enqueue(desired.rollout, plan, self.config, now, lambda: self.source_for(desired))

    def deliver(self, plans: dict, desired_by_key: dict, store, cluster, now: datetime, *, max_age_seconds: float | None = None,
                keep_lease=lambda: None) -> list:
        from reconciler.notifications.deliver import deliver
        from reconciler.notifications.ledger import DEFAULT_MAX_AGE_SECONDS

        sources = {key: self.source_for(desired_by_key[key]) for key, plan in plans.items()
                   if key in desired_by_key and (plan.state.notifications or {}).get("pending")
                   and any(e.get("service") in self._github_services() for e in plan.state.notifications["pending"])}
        return deliver(plans, self.config, self.secrets_fn, store, cluster, now, sources=sources,
                       max_age_seconds=DEFAULT_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds, keep_lease=keep_lease)

    def _github_services(self) -> set[str]:
        return {s.name for s in self.config.services.values() if s.type == "github"}

    @staticmethod
    def preview(plans: dict, now: datetime, *, held: bool = False) -> list:
        from reconciler.notifications.deliver import preview

        return preview(plans, now, held=held)
