"""The delivery stage: after a run applied its plans, send the pending notifications that are due,
mark each one sent right after its service answered 2xx, and record that with the status store.

Exactly once, and its one bound: an entry is marked sent in memory the moment its 2xx arrives and
the marks are recorded (compare-and-swap, like the step) when the stage ends. A crash, a lost
Lease or a failed save between a 2xx and that record makes a later run send it again: a
notification can be sent twice then, never lost and never sent twice otherwise.

A failed attempt (cannot connect, timeout, non-2xx, Slack's ok:false, a missing secret) is kept
pending with backoff (30 s, doubling, at most 1 h, counted in runs' `now`) and retried by later
runs until it succeeds or is older than the maximum age; then it is dropped, with a warning in the
run's output and a `NotificationDropped` Event on the Rollout. Each attempt is bounded (see
reconciler.notifications.http) and the whole stage has a time budget, so a slow sink delays
nothing but other notifications, which wait for the next run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.errors import Conflict
from reconciler.notifications import ledger
from reconciler.notifications.config import MissingSecret, resolve
from reconciler.notifications.http import DeliveryError, Http
from reconciler.notifications.model import NotificationConfig

log = logging.getLogger("reconciler")

STAGE_BUDGET_SECONDS = 60.0
MAX_SAVE_ATTEMPTS = 3


@dataclass
class Outcome:
    """One notification this run sent, tried, dropped, held or (for `plan`) would send."""

    namespace: str
    rollout: str
    trigger: str
    service: str
    recipient: str
    result: str  # sent | failed | dropped | held | would-send | waiting
    error: str = ""
    next_attempt_at: str = ""
    id: str = ""

    def to_dict(self) -> dict:
        return {"namespace": self.namespace, "rollout": self.rollout, "trigger": self.trigger, "service": self.service,
                "recipient": self.recipient, "result": self.result, "error": self.error, "nextAttemptAt": self.next_attempt_at,
                "id": self.id}

    def line(self) -> str:
        to = f"{self.service}" + (f":{self.recipient}" if self.recipient else "")
        text = f"{self.namespace}/{self.rollout}: notification {self.trigger} -> {to}: {self.result}"
        if self.error:
            text += f" ({self.error})"
        if self.result == "failed" and self.next_attempt_at:
            text += f"; next attempt at or after {self.next_attempt_at}"
        return text


@dataclass
class _Marks:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _services():
    from reconciler.notifications import github, slack, webhook

    return {"webhook": webhook.send, "slack": slack.send, "github": github.send}


def _about(entry: dict, namespace: str, name: str, source: dict) -> dict:
    return {"rollout": name, "namespace": namespace, "trigger": entry.get("trigger"), "revision": entry.get("revision"),
            "event": entry.get("event"), "repoURL": source.get("repoURL", ""), "commit": source.get("commit", "")}


def preview(plans: dict, now: datetime, *, held: bool = False) -> list[Outcome]:
    """What a run would send (for `plan`), or what `run --no-notify` left pending."""
    out = []
    for (namespace, name), plan in sorted(plans.items()):
        book = ledger.normalized(plan.state.notifications)
        for entry in book["pending"]:
            at = ledger.parse_iso(entry.get("nextAttemptAt"))
            result = "held" if held else ("would-send" if at is None or at <= now else "waiting")
            out.append(Outcome(namespace, name, entry.get("trigger", ""), entry.get("service", ""), entry.get("recipient", ""), result,
                               entry.get("renderError", "") or entry.get("lastError", ""), entry.get("nextAttemptAt", "") if result == "waiting" else "",
                               entry.get("id", "")))
    return out


def deliver(plans: dict, config: NotificationConfig, secrets_fn, store, cluster, now: datetime, *, sources: dict,
            max_age_seconds: float = ledger.DEFAULT_MAX_AGE_SECONDS, budget_seconds: float = STAGE_BUDGET_SECONDS,
            http: Http | None = None, keep_lease=lambda: None) -> list[Outcome]:
    """Send what is due for each rollout in `plans` ({(ns, name): Plan}), then record the marks.
    `secrets_fn()` gives the Secret's values (read once, only when something is to be sent)."""
    outcomes: list[Outcome] = []
    marks: dict[tuple[str, str], _Marks] = {}
    senders = _services()
    started = time.monotonic()
    secrets = None
    own_http = http is None
    http = http or Http()
    try:
        for key, plan in sorted(plans.items()):
            namespace, name = key
            book = ledger.normalized(plan.state.notifications)
            if not book["pending"]:
                continue
            due = {id(entry) for entry in ledger.due(book, now)}
            mark = marks.setdefault(key, _Marks())
            for entry in list(book["pending"]):
                expired = entry.get("renderError") or ledger.too_old(entry, now, max_age_seconds)
                if not expired and id(entry) not in due:
                    continue  # waiting for its next attempt
                outcome = Outcome(namespace, name, entry.get("trigger", ""), entry.get("service", ""), entry.get("recipient", ""), "", id=entry.get("id", ""))
                outcomes.append(outcome)
                if expired:
                    why = entry.get("renderError") or f"not delivered within {_age(max_age_seconds)}: {entry.get('lastError') or 'never attempted'}"
                    ledger.mark_dropped(book, entry["id"])
                    mark.dropped.append(entry["id"])
                    outcome.result, outcome.error = "dropped", why
                    log.warning(f"notification {entry.get('trigger')} to {entry.get('service')} dropped: {why}",
                                extra={"rollout": name, "namespace": namespace, "action": "notify", "reason": "dropped"})
                    _event(cluster, namespace, name, f"Notification {entry.get('trigger')} to {entry.get('service')} dropped: {why}", now)
                    continue
                if time.monotonic() - started > budget_seconds:
                    outcome.result, outcome.error = "waiting", "this run's notification time budget is spent; the next run sends it"
                    continue
                keep_lease()
                try:
                    service = config.services.get(entry["service"])
                    if service is None:
                        why = config.broken_services.get(entry["service"])
                        raise DeliveryError(f"service {entry['service']!r} " + (f"cannot deliver: {why}" if why else
                                            f"is not configured (no service.<type>.{entry['service']} in argo-rollouts-notification-configmap)"))
                    if secrets is None:
                        try:
                            secrets = secrets_fn()
                        except DeliveryError as err:
                            secrets = err  # every delivery of this run says why
                    if isinstance(secrets, DeliveryError):
                        raise secrets
                    try:
                        options = resolve(service.options, secrets)
                    except MissingSecret as missing:
                        raise DeliveryError(str(missing)) from None
                    senders[service.type](options, entry.get("notification") or {}, entry.get("recipient", ""), http,
                                          service=service.name, about=_about(entry, namespace, name, sources.get(key, {})))
                except DeliveryError as err:
                    failed = ledger.mark_failed(book, entry["id"], str(err), now)
                    mark.failed.append((entry["id"], str(err)))
                    outcome.result, outcome.error = "failed", str(err)
                    outcome.next_attempt_at = (failed or {}).get("nextAttemptAt", "")
                    log.warning(f"notification {entry.get('trigger')} to {entry.get('service')} failed: {err}",
                                extra={"rollout": name, "namespace": namespace, "action": "notify", "reason": "failed"})
                    continue
                ledger.mark_sent(book, entry["id"])  # right after the 2xx
                mark.sent.append(entry["id"])
                outcome.result = "sent"
                log.info(f"notification {entry.get('trigger')} sent to {entry.get('service')}",
                         extra={"rollout": name, "namespace": namespace, "action": "notify", "reason": "sent"})
            plan.state.notifications = book
    finally:
        if own_http:
            http.close()
    _record(plans, marks, store, now)
    return outcomes


def _age(seconds: float) -> str:
    return f"{seconds / 3600:g}h" if seconds >= 3600 else f"{seconds:g}s"


def _event(cluster, namespace: str, name: str, message: str, now: datetime) -> None:
    involved = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": name, "namespace": namespace}}
    try:
        cluster.emit_event(involved, "NotificationDropped", message, type="Warning", now=now)
    except Exception as err:  # an Event is a courtesy; the warning is in the run's output already
        log.warning(f"could not record the NotificationDropped event: {err}", extra={"rollout": name, "namespace": namespace})


def _record(plans: dict, marks: dict, store, now: datetime) -> None:
    """Save the states whose outbox changed; on a conflict, re-read and apply the same marks."""
    from reconciler.engine.state import RolloutState

    changed = {key: plans[key].state.to_dict() for key, mark in marks.items() if mark.sent or mark.failed or mark.dropped}
    if not changed or store is None:
        return
    names = ", ".join(f"{ns}/{n}" for ns, n in sorted(changed))
    for _attempt in range(MAX_SAVE_ATTEMPTS):
        try:
            store.save(changed, message=f"reconciler: notifications for {names}")
            return
        except Conflict:
            fresh = store.load(namespaces=sorted({ns for ns, _ in changed}))
            for key in list(changed):
                if fresh.get(key) is None:  # removed meanwhile: nothing to mark
                    changed.pop(key)
                    continue
                state = RolloutState.from_dict(fresh.get(key))
                book = ledger.normalized(state.notifications)
                mark = marks[key]
                for entry_id in mark.sent:
                    ledger.mark_sent(book, entry_id)
                for entry_id in mark.dropped:
                    ledger.mark_dropped(book, entry_id)
                for entry_id, error in mark.failed:
                    ledger.mark_failed(book, entry_id, error, now)
                state.notifications = book
                changed[key] = state.to_dict()
            if not changed:
                return
    log.warning(f"could not record the notifications sent for {names}: the state kept changing; a later run may send them again",
                extra={"action": "notify", "reason": "conflict"})
