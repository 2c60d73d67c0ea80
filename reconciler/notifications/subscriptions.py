"""Who wants which notification: Argo's subscription annotations on the Rollout.

    notifications.argoproj.io/subscribe.<trigger>.<service>: <recipient>;<recipient>
    notifications.argoproj.io/subscribe.<service>: <recipients>        # the default triggers
    notifications.argoproj.io/subscriptions: |
      - trigger: [on-rollout-aborted, on-analysis-run-failed]
        destinations:
          - service: slack
            recipients: [my-channel-21, my-channel-22]

A subscription with no recipient (a webhook, GitHub) is one destination with recipient "".
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.notification_keys import (  # noqa: F401 (the names this module is known for)
    ANNOTATION_PREFIX,
    SUBSCRIBE_PREFIX,
    SUBSCRIPTIONS_ANNOTATION,
    annotations_of,
    has_subscriptions,
)


@dataclass(frozen=True)
class Subscription:
    trigger: str  # "" for the default triggers
    service: str
    recipient: str
    annotation: str  # the annotation it came from (for findings)


class SubscriptionError(Exception):
    def __init__(self, annotation: str, message: str):
        super().__init__(message)
        self.annotation = annotation
        self.message = message


def _recipients(value) -> list[str]:
    if value is None:
        return [""]
    if isinstance(value, list):
        items = [str(v).strip() for v in value if str(v).strip()]
    else:
        items = [part.strip() for part in str(value).split(";") if part.strip()]
    return items or [""]


def parse_subscriptions(annotations: dict) -> tuple[list[Subscription], list[SubscriptionError]]:
    subs: list[Subscription] = []
    errors: list[SubscriptionError] = []
    for key, value in (annotations or {}).items():
        key = str(key)
        if key.startswith(SUBSCRIBE_PREFIX):
            rest = key[len(SUBSCRIBE_PREFIX):]
            trigger, dot, service = rest.partition(".")
            if not dot:
                trigger, service = "", trigger
            if not service:
                errors.append(SubscriptionError(key, f"annotation {key} names no service"))
                continue
            for recipient in _recipients(value):
                subs.append(Subscription(trigger, service, recipient, key))
        elif key == SUBSCRIPTIONS_ANNOTATION:
            import yaml  # here: a source with no subscriptions (a warm, cached run) needs no YAML parser

            try:
                items = yaml.safe_load(value) if isinstance(value, str) else value
            except yaml.YAMLError as err:
                errors.append(SubscriptionError(key, f"{key} is not valid YAML: {getattr(err, 'problem', err)}"))
                continue
            if not isinstance(items, list):
                errors.append(SubscriptionError(key, f"{key} must be a YAML list of {{trigger, destinations}}"))
                continue
            for index, item in enumerate(items):
                if not isinstance(item, dict) or not isinstance(item.get("destinations"), list):
                    errors.append(SubscriptionError(key, f"{key}[{index}] needs `destinations:` (a list of {{service, recipients}})"))
                    continue
                triggers = item.get("trigger")
                triggers = [""] if triggers in (None, "", []) else ([triggers] if isinstance(triggers, str) else [str(t) for t in triggers])
                for dest in item["destinations"]:
                    if not isinstance(dest, dict) or not dest.get("service"):
                        errors.append(SubscriptionError(key, f"{key}[{index}].destinations: each needs `service:`"))
                        continue
                    for trigger in triggers:
                        for recipient in _recipients(dest.get("recipients")):
                            subs.append(Subscription(trigger, str(dest["service"]), recipient, key))
    return subs, errors


def expand_defaults(subs: list[Subscription], default_triggers: list[str], service_defaults: dict[str, list[str]]) -> list[Subscription]:
    """Subscriptions without a trigger stand for the service's default triggers (else the global ones)."""
    out: list[Subscription] = []
    for sub in subs:
        if sub.trigger:
            out.append(sub)
            continue
        for trigger in service_defaults.get(sub.service) or default_triggers:
            out.append(Subscription(trigger, sub.service, sub.recipient, sub.annotation))
    seen = set()
    unique = []
    for sub in out:
        key = (sub.trigger, sub.service, sub.recipient)
        if key not in seen:
            seen.add(key)
            unique.append(sub)
    return unique
