"""The outbox: notifications recorded in the rollout's own state, so each is delivered once.

    RolloutState.notifications = {
      "pending": [entry, ...],   # to deliver (with attempts and the time of the next one)
      "sent":    [id, ...],      # delivered (the newest SENT_KEPT ids)
      "dropped": [id, ...],      # given up after the maximum age (the newest DROPPED_KEPT)
      "fired":   [key, ...],     # condition triggers already fired / oncePer values already sent
    }

`enqueue` is pure (the planner's inputs plus the run's `now`): it turns the plan's Events and the
subscribed condition triggers into pending entries, rendered from the templates at that moment, as
Argo renders at the moment of the Event. The entries are part of the next state, so they are
recorded by the same compare-and-swap that records the step: a plan that loses the race is
re-planned from the winner's state, and its entries with it. Delivery (reconciler.notifications.
deliver) comes after the apply and marks each entry sent right after the service answered 2xx.

An entry holds the rendered notification, never a secret: service options (tokens, URLs with
credentials, headers) are resolved only when sending.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from reconciler.engine.context import iso, parse_iso
from reconciler.notifications.model import Condition, NotificationConfig
from reconciler.notifications.subscriptions import Subscription, annotations_of, expand_defaults, parse_subscriptions
from reconciler.notifications.template_values import TemplateError
from reconciler.notifications.triggers import (
    BUILTIN_TRIGGERS,
    EVENT_TRIGGERS,
    compiled_builtin_templates,
    completed_step_index,
    event_trigger,
)

SENT_KEPT = 200
DROPPED_KEPT = 50
FIRED_KEPT = 500
MAX_PENDING = 100  # per rollout; beyond it the oldest are dropped by the next delivery (with a warning)
MAX_NOTIFICATION_CHARS = 64 * 1024
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
DEFAULT_MAX_AGE_SECONDS = 24 * 3600


def empty() -> dict:
    return {"pending": [], "sent": [], "dropped": [], "fired": []}


def normalized(book: dict | None) -> dict:
    out = empty()
    for key in out:
        out[key] = list((book or {}).get(key) or [])
    return out


# -- what the templates see ------------------------------------------------------------------------


def rollout_object(rollout: dict, plan, *, step_index: int | None = None) -> dict:
    """The Rollout as Argo's templates and `when` conditions see it: the manifest with a `status`
    written from the plan (phase, message, step, hashes, replica counts)."""
    from reconciler.engine.state import plain_copy

    obj = plain_copy(rollout)
    state = plan.state
    view = plan.view or {}
    counts = view.get("replicas") or {}
    status = {
        "phase": plan.status,
        "message": plan.message,
        "currentStepIndex": state.step_index if step_index is None else step_index,
        "currentPodHash": state.current_hash,
        "stableRS": state.stable_hash,
        "abort": bool(state.aborted),
        "replicas": counts.get("current", 0),
        "updatedReplicas": counts.get("updated", 0),
        "readyReplicas": counts.get("ready", 0),
        "availableReplicas": counts.get("available", 0),
    }
    if state.pause_started_at:
        status["pauseConditions"] = [{"reason": state.pause_reason, "startTime": state.pause_started_at}]
    if view.get("setWeight") is not None:
        status.setdefault("canary", {})["weights"] = {"canary": {"weight": view.get("setWeight")}}
    status["revision"] = state.revision
    obj["status"] = status
    return obj


def app_object(rollout: dict, source: dict) -> dict:
    """`.app`, shaped like an Argo CD Application for the source the Rollout came from, so Argo's
    GitHub templates (`.app.spec.source.repoURL`, `...syncResult.revision`) work unchanged."""
    meta = rollout.get("metadata") or {}
    commit = source.get("commit", "")
    return {
        "metadata": {"name": meta.get("name", ""), "namespace": meta.get("namespace") or "default"},
        "spec": {"source": {"repoURL": source.get("repoURL", ""), "path": source.get("path", ""), "targetRevision": source.get("ref", "")}},
        "status": {"sync": {"revision": commit, "status": "Synced"},
                   "operationState": {"phase": "Succeeded", "syncResult": {"revision": commit}, "operation": {"sync": {"revision": commit}}}},
    }


# -- enqueue (pure) --------------------------------------------------------------------------------


def _render(config: NotificationConfig, template_names: list[str], data: dict) -> dict:
    """The notification the templates make (several templates merge, later ones win), every
    string rendered. Raises TemplateError."""
    builtin = compiled_builtin_templates()
    out: dict = {}
    for name in template_names:
        spec = config.templates.get(name) or builtin.get(name)
        if spec is None:
            raise TemplateError(f"template {name!r} is not defined")
        rendered = _render_tree(spec.raw, spec.compiled, data, ())
        _merge(out, rendered)
    return out


def _render_tree(raw, compiled: dict, data: dict, path: tuple):
    if isinstance(raw, str):
        return compiled[path].render(data)
    if isinstance(raw, dict):
        return {str(k): _render_tree(v, compiled, data, path + (str(k),)) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_render_tree(v, compiled, data, path + (i,)) for i, v in enumerate(raw)]
    return raw


def _merge(into: dict, more: dict) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _conditions(config: NotificationConfig, trigger: str) -> list[Condition] | None:
    return config.triggers.get(trigger) or BUILTIN_TRIGGERS.get(trigger)


def _holds(condition: Condition, obj: dict) -> bool:
    if not condition.when:
        return True
    from reconciler.analysis.expr import ExprError, evaluate

    try:
        return evaluate(condition.when, {"rollout": obj}) is True
    except ExprError:
        return False  # e.g. a field the rollout does not have yet: the condition does not hold


def _once_per_value(condition: Condition, obj: dict) -> str | None:
    if not condition.once_per:
        return None
    from reconciler.analysis.expr import ExprError, evaluate

    try:
        value = evaluate(condition.once_per, {"rollout": obj})
    except ExprError:
        value = None
    return "" if value is None else str(value)


def _entry_id(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def subscriptions_for(rollout: dict, config: NotificationConfig) -> list[Subscription]:
    annotations = annotations_of(rollout)
    subs, _ = parse_subscriptions(annotations)
    return expand_defaults(subs, config.default_triggers, config.service_default_triggers)


def enqueue(rollout: dict, plan, config: NotificationConfig, now: datetime, source=None) -> list[dict]:
    """Add this plan's notifications to `plan.state.notifications` (pending). Returns the new entries.
    `source`: the repository URL and commit for `.app` (a dict, or a callable giving it when needed)."""
    subs = subscriptions_for(rollout, config)
    book = normalized(plan.state.notifications)
    if not subs:
        if book != normalized(None):
            plan.state.notifications = book
        return []
    meta = rollout.get("metadata") or {}
    ns, name = meta.get("namespace") or "default", meta.get("name", "")
    revision = plan.state.revision
    fired = list(book["fired"])
    added: list[dict] = []
    app: dict = {}

    def add(sub: Subscription, trigger: str, index: int, condition: Condition, obj: dict, event: str, occurrence: str) -> None:
        if not app:
            app.update(app_object(rollout, (source() if callable(source) else source) or {}))
        data = {"rollout": obj, "recipient": sub.recipient, "context": config.context, "app": app, "notificationType": sub.service}
        entry = {
            "id": _entry_id(ns, name, revision, trigger, index, sub.service, sub.recipient, occurrence),
            "trigger": trigger,
            "service": sub.service,
            "recipient": sub.recipient,
            "revision": revision,
            "event": event,
            "createdAt": iso(now),
            "attempts": 0,
            "nextAttemptAt": iso(now),
            "lastError": "",
        }
        try:
            notification = _render(config, condition.send, data)
            if len(str(notification)) > MAX_NOTIFICATION_CHARS:
                raise TemplateError(f"the notification is larger than {MAX_NOTIFICATION_CHARS} characters")
            entry["notification"] = notification
        except TemplateError as err:
            entry["renderError"] = f"template {', '.join(condition.send)}: {err.message}"
        if entry["id"] in book["sent"] or any(p.get("id") == entry["id"] for p in book["pending"]):
            return
        added.append(entry)

    by_trigger: dict[str, list[Subscription]] = {}
    for sub in subs:
        by_trigger.setdefault(sub.trigger, []).append(sub)

    # Event triggers: Argo's way, one notification per Event the plan records.
    for position, event in enumerate(plan.events):
        trigger = event_trigger(event.reason, event.message)
        wanted = by_trigger.get(trigger)
        conditions = _conditions(config, trigger) if wanted else None
        if not conditions:
            continue
        step = completed_step_index(event.message) if event.reason == "RolloutStepCompleted" else None
        obj = rollout_object(rollout, plan, step_index=step)
        for index, condition in enumerate(conditions):
            if not _holds(condition, obj):
                continue
            once = _once_per_value(condition, obj)
            for sub in wanted:
                if once is not None:
                    key = f"{trigger}:{index}:{sub.service}:{sub.recipient}:{once}"
                    if key in fired:
                        continue
                    fired.append(key)
                add(sub, trigger, index, condition, obj, event.reason, f"{iso(now)}#{position}:{event.message}")

    # Condition triggers (a trigger no Event names): fire when `when` becomes true, as the
    # notifications engine does; with oncePer, once per value of that expression.
    obj = None
    for trigger, wanted in by_trigger.items():
        if trigger in EVENT_TRIGGERS:
            continue
        conditions = _conditions(config, trigger)
        if not conditions:
            continue
        obj = obj or rollout_object(rollout, plan)
        for index, condition in enumerate(conditions):
            holds = _holds(condition, obj)
            once = _once_per_value(condition, obj)
            for sub in wanted:
                base = f"{trigger}:{index}:{sub.service}:{sub.recipient}"
                key = base if once is None else f"{base}:{once}"
                if not holds:
                    if once is None and key in fired:
                        fired.remove(key)
                    continue
                if key in fired:
                    continue
                fired.append(key)
                add(sub, trigger, index, condition, obj, "condition", f"{iso(now)}:{key}")

    book["pending"].extend(added)
    book["fired"] = fired[-FIRED_KEPT:]
    for entry in book["pending"][:-MAX_PENDING]:  # the delivery stage drops these with a warning
        entry["renderError"] = f"more than {MAX_PENDING} notifications pending for this rollout; the oldest are dropped"
    plan.state.notifications = book
    return added


# -- delivery bookkeeping --------------------------------------------------------------------------


def due(book: dict, now: datetime) -> list[dict]:
    out = []
    for entry in book.get("pending") or []:
        at = parse_iso(entry.get("nextAttemptAt"))
        if at is None or at <= now:
            out.append(entry)
    return out


def mark_sent(book: dict, entry_id: str) -> None:
    book["pending"] = [e for e in book["pending"] if e.get("id") != entry_id]
    if entry_id not in book["sent"]:
        book["sent"] = (book["sent"] + [entry_id])[-SENT_KEPT:]


def mark_failed(book: dict, entry_id: str, error: str, now: datetime) -> dict | None:
    for entry in book["pending"]:
        if entry.get("id") == entry_id:
            entry["attempts"] = int(entry.get("attempts") or 0) + 1
            wait = min(FIRST_RETRY_SECONDS * (2 ** (entry["attempts"] - 1)), MAX_RETRY_SECONDS)
            entry["nextAttemptAt"] = iso(now + timedelta(seconds=wait))
            entry["lastError"] = error[:300]
            return entry
    return None


def mark_dropped(book: dict, entry_id: str) -> None:
    book["pending"] = [e for e in book["pending"] if e.get("id") != entry_id]
    if entry_id not in book["dropped"]:
        book["dropped"] = (book["dropped"] + [entry_id])[-DROPPED_KEPT:]


def too_old(entry: dict, now: datetime, max_age_seconds: float) -> bool:
    created = parse_iso(entry.get("createdAt"))
    return created is not None and (now - created).total_seconds() > max_age_seconds
