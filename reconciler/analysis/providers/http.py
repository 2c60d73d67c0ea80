"""One HTTP call of a metric provider, bounded in time and size.

    status, body = bounded_request(session, "GET", url, timeout=10, headers=...)

`requests`' own timeout bounds each socket operation, not the call: a server that answers one
byte every few seconds, or sends an endless body, would hold the run forever (and a huge body
would fill memory). Here the whole call (connect, headers, body) runs in a daemon thread that the
run waits for at most `timeout` seconds, and the body is read in chunks up to `max_bytes`.
Past either limit the caller gets `ProviderHTTPError`, which providers turn into an Error
measurement; the abandoned thread only holds a socket: it closes it when the server gives up, or
dies with the process.
Only HTTP providers use this: they write nothing, so abandoning one mid-call leaves nothing torn.
"""

from __future__ import annotations

import threading

MAX_RESPONSE_BYTES = 1 << 20  # 1 MiB: a metric answer is a few KB
_CHUNK = 64 * 1024


class ProviderHTTPError(Exception):
    """The call failed, took longer than its timeout, or answered more than the size cap."""


def bounded_request(session, method: str, url: str, *, timeout: float, max_bytes: int = MAX_RESPONSE_BYTES, **kwargs) -> tuple[int, bytes]:
    """(status code, body) of one request, or ProviderHTTPError. kwargs go to session.request."""
    outcome: dict = {}
    opened: list = []

    def call() -> None:
        try:
            response = session.request(method, url, timeout=timeout, stream=True, **kwargs)
            opened.append(response)
            declared = str(response.headers.get("Content-Length") or "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ProviderHTTPError(f"response of {int(declared)} bytes is larger than the {max_bytes}-byte limit")
            chunks, size = [], 0
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ProviderHTTPError(f"response is larger than the {max_bytes}-byte limit")
                chunks.append(chunk)
            outcome["answer"] = (response.status_code, b"".join(chunks))
        except BaseException as err:  # handed to the waiting thread as it is
            outcome["error"] = err
        finally:
            for response in opened:
                _close(response)

    worker = threading.Thread(target=call, name="provider-http", daemon=True)
    worker.start()
    worker.join(max(float(timeout), 0.001))
    if worker.is_alive():  # abandoned, not closed: closing here would wait on the lock its blocked read holds
        raise ProviderHTTPError(f"Timeout: no complete answer within {float(timeout):g}s (the limit covers the whole call)")
    if "error" in outcome:
        err = outcome["error"]
        if isinstance(err, ProviderHTTPError):
            raise err
        raise ProviderHTTPError(f"{type(err).__name__}: {err}") from None
    return outcome["answer"]


def _close(response) -> None:
    try:
        response.close()
    except Exception:  # closing is best effort; the socket goes with the thread
        pass
