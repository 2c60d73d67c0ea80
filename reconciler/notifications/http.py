"""One bounded HTTP request for a notification service: a connect/read timeout, a bound on the
whole attempt's time and on how much of the answer is read, and errors that never carry a secret
(no URL query, no user info, no header values)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 10.0
ATTEMPT_SECONDS = 15.0  # the whole attempt, a slowly dripping answer included
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "reconciler-notifications"


class DeliveryError(Exception):
    """A delivery that did not succeed; the message is safe to print and to store."""


@dataclass
class Response:
    status: int
    body: bytes
    truncated: bool

    def json(self):
        import json

        try:
            return json.loads(self.body.decode("utf-8", "replace"))
        except ValueError:
            return None


def where(url: str) -> str:
    """scheme://host of a URL, for messages: no user info, path or query, which may hold a secret
    (a Slack incoming-webhook URL is a secret in its path)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<bad URL>"
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}"


class Http:
    """Bounded requests over one session. `timeouts` can be narrowed by tests or the caller."""

    def __init__(self, *, connect_timeout: float = CONNECT_TIMEOUT_SECONDS, read_timeout: float = READ_TIMEOUT_SECONDS,
                 attempt_seconds: float = ATTEMPT_SECONDS, max_response_bytes: int = MAX_RESPONSE_BYTES):
        import requests

        self.session = requests.Session()
        self.session.trust_env = False  # no ambient proxies or .netrc credentials sneak into a request
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.attempt_seconds = attempt_seconds
        self.max_response_bytes = max_response_bytes

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, *, headers: dict | None = None, data: bytes | None = None, auth=None) -> Response:
        import requests

        if urlsplit(url).scheme not in ("http", "https"):
            raise DeliveryError(f"{where(url)}: only http and https URLs can be notified")
        started = time.monotonic()
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        try:
            with self.session.request(method, url, headers=all_headers, data=data, auth=auth, stream=True,
                                      timeout=(self.connect_timeout, self.read_timeout), allow_redirects=False) as answer:
                body = bytearray()
                truncated = False
                for chunk in answer.iter_content(chunk_size=8192):
                    body.extend(chunk)
                    if len(body) > self.max_response_bytes:
                        truncated = True
                        del body[self.max_response_bytes:]
                        break
                    if time.monotonic() - started > self.attempt_seconds:
                        raise DeliveryError(f"{method} {where(url)}: the answer took longer than {self.attempt_seconds:g}s")
                return Response(answer.status_code, bytes(body), truncated)
        except DeliveryError:
            raise
        except requests.Timeout:
            raise DeliveryError(f"{method} {where(url)}: timed out") from None
        except requests.ConnectionError:
            raise DeliveryError(f"{method} {where(url)}: cannot connect") from None
        except requests.RequestException as err:
            raise DeliveryError(f"{method} {where(url)}: {type(err).__name__}") from None


def require_2xx(response: Response, method: str, url: str) -> None:
    if not 200 <= response.status < 300:
        raise DeliveryError(f"{method} {where(url)}: HTTP {response.status}")
