"""The `slack` service (Argo's options): token, apiURL (default https://slack.com/api/), channels,
username, icon, disableUnfurl. Each recipient is a channel; the template's `slack` part gives
attachments / blocks (JSON text), username, icon, groupingKey. Posts chat.postMessage; Slack says
`ok: false` with HTTP 200 when it refuses, which is a failed delivery here."""

from __future__ import annotations

import json

from reconciler.notifications.http import DeliveryError, Http, require_2xx

DEFAULT_API_URL = "https://slack.com/api/"


def _json_field(part: dict, name: str, service: str):
    text = part.get(name)
    if text in (None, ""):
        return None
    if isinstance(text, (list, dict)):
        return text
    try:
        return json.loads(str(text))
    except json.JSONDecodeError as err:
        raise DeliveryError(f"slack {service!r}: the template's slack.{name} is not JSON after rendering ({err.msg} at line {err.lineno})") from None


def send(options: dict, notification: dict, recipient: str, http: Http, *, service: str, about: dict) -> None:
    channel = recipient or ""
    if not channel:
        raise DeliveryError(f"slack {service!r}: a subscription must name the channel (…slack: my-channel)")
    part = notification.get("slack") or {}
    payload: dict = {"channel": channel, "text": notification.get("message", "")}
    for name in ("attachments", "blocks"):
        value = _json_field(part, name, service)
        if value is not None:
            payload[name] = value
    username = part.get("username") or options.get("username")
    icon = part.get("icon") or options.get("icon")
    if username:
        payload["username"] = str(username)
    if icon:
        payload["icon_url" if str(icon).startswith(("http://", "https://")) else "icon_emoji"] = str(icon)
    if options.get("disableUnfurl"):
        payload["unfurl_links"] = payload["unfurl_media"] = False
    url = str(options.get("apiURL") or DEFAULT_API_URL).rstrip("/") + "/chat.postMessage"
    headers = {"Authorization": f"Bearer {options.get('token', '')}", "Content-Type": "application/json; charset=utf-8"}
    response = http.request("POST", url, headers=headers, data=json.dumps(payload).encode("utf-8"))
    require_2xx(response, "POST", url)
    answer = response.json()
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        error = answer.get("error") if isinstance(answer, dict) else "an answer that is not Slack's JSON"
        raise DeliveryError(f"slack {service!r}: chat.postMessage to {channel!r} refused: {error}")
