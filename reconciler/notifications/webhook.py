"""The `webhook` service (Argo's options): url, headers [{name, value}], basicAuth {username,
password}; the template's `webhook.<service name>` gives method (default GET, as Argo), path
(appended to url) and body. A template without a `webhook.<name>` part is sent as a JSON POST of
the notification's message and what it is about (this project's default, so the built-in triggers
reach a webhook too)."""

from __future__ import annotations

import json

from reconciler.notifications.http import DeliveryError, Http, require_2xx

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def send(options: dict, notification: dict, recipient: str, http: Http, *, service: str, about: dict) -> None:
    url = str(options.get("url") or "")
    if not url:
        raise DeliveryError(f"webhook {service!r} has no url")
    part = (notification.get("webhook") or {}).get(service)
    headers = {}
    for header in options.get("headers") or []:
        if isinstance(header, dict) and header.get("name"):
            headers[str(header["name"])] = str(header.get("value", ""))
    if isinstance(part, dict):
        method = str(part.get("method") or "GET").upper()
        path = str(part.get("path") or "")
        body = part.get("body")
        data = None if body in (None, "") else str(body).encode("utf-8")
    else:
        method = "POST"
        path = ""
        data = json.dumps({**about, "message": notification.get("message", ""), "recipient": recipient}, sort_keys=True).encode()
        headers.setdefault("Content-Type", "application/json")
    if method not in METHODS:
        raise DeliveryError(f"webhook {service!r}: method {method!r} is not one of {', '.join(METHODS)}")
    if path:
        url = url.rstrip("/") + "/" + path.lstrip("/")
    auth = None
    basic = options.get("basicAuth")
    if isinstance(basic, dict) and basic.get("username"):
        auth = (str(basic.get("username")), str(basic.get("password", "")))
    response = http.request(method, url, headers=headers, data=data, auth=auth)
    require_2xx(response, method, url)
