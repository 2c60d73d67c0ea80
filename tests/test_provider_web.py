"""The Web provider against an HTTP server the test runs on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import threading
import time
from datetime import datetime, timezone

import pytest

from reconciler.analysis.providers.base import ProviderContext
from reconciler.analysis.providers.web import WebProvider

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class _Handler(http.server.BaseHTTPRequestHandler):
    requests: list = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        _Handler.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        routes = {
            "/health": (200, {"data": {"ok": True, "rate": 0.97, "status": "green", "pods": [{"ready": 1}, {"ready": 0}]}}),
            "/fail": (500, {"error": "boom"}),
            "/text": (200, None),
            "/echo": (200, {"received": json.loads(body) if body else None}),
        }
        status, payload = routes.get(self.path.split("?")[0], (404, {"error": "no such path"}))
        raw = b"not json" if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def measure(**web):
    conditions = {k: web.pop(k) for k in ("successCondition", "failureCondition") if k in web}
    metric = {"name": "web", "provider": {"web": web}, **conditions}
    return WebProvider().run(metric, ProviderContext(run="r", namespace="default", run_uid="u", rollout="ro", index=1, now=T0))


def test_get_json_path_number(server):
    m = measure(url=f"{server}/health", jsonPath="{$.data.rate}", successCondition="result >= 0.95")
    assert (m.phase, m.value) == ("Successful", "0.97")


def test_json_path_bool_and_string(server):
    assert measure(url=f"{server}/health", jsonPath="{$.data.ok}", successCondition="result == true").phase == "Successful"
    assert measure(url=f"{server}/health", jsonPath="$.data.status", successCondition="result == 'green'").phase == "Successful"
    assert measure(url=f"{server}/health", jsonPath="$.data.status", successCondition="result == 'red'").phase == "Failed"


def test_json_path_object_and_many_matches(server):
    m = measure(url=f"{server}/health", jsonPath="{$.data}", successCondition="result.ok && result.rate > 0.9")
    assert m.phase == "Successful"
    many = measure(url=f"{server}/health", jsonPath="$.data.pods[*].ready", successCondition="all(result, {# == 1})")
    assert (many.phase, many.value) == ("Failed", "[1,0]")


def test_post_with_headers_and_json_body(server):
    m = measure(url=f"{server}/echo", method="POST", jsonBody={"service": "canary"},
                headers=[{"key": "Authorization", "value": "Bearer abc"}], jsonPath="$.received.service",
                successCondition="result == 'canary'")
    assert m.phase == "Successful"
    sent = _Handler.requests[-1]
    assert sent["method"] == "POST" and sent["headers"]["Authorization"] == "Bearer abc"
    assert sent["headers"]["Content-Type"] == "application/json"


def test_put_with_a_string_body(server):
    m = measure(url=f"{server}/echo", method="PUT", body='{"n": 3}', jsonPath="$.received.n", successCondition="result == 3")
    assert m.phase == "Successful"


def test_non_2xx_is_an_error(server):
    m = measure(url=f"{server}/fail", jsonPath="$.error")
    assert (m.phase, m.message) == ("Error", "received non 2xx response code: 500")


def test_body_that_is_not_json_is_an_error(server):
    assert measure(url=f"{server}/text", jsonPath="$.x").message == "could not parse JSON body"


def test_path_matching_nothing_is_an_error(server):
    m = measure(url=f"{server}/health", jsonPath="{$.data.missing}")
    assert m.phase == "Error" and "could not find JSONPath" in m.message


def test_timeout_is_an_error(server):
    m = measure(url=f"{server}/slow", timeoutSeconds=0.2, jsonPath="$.x")
    assert m.phase == "Error" and "Timeout" in m.message


def test_inconclusive_when_neither_condition_holds(server):
    m = measure(url=f"{server}/health", jsonPath="$.data.rate", successCondition="result > 0.99", failureCondition="result < 0.5")
    assert m.phase == "Inconclusive"


def test_credentials_in_the_url_are_never_in_messages(server):
    port = server.rsplit(":", 1)[1]
    m = measure(url=f"http://admin:pa55word@127.0.0.1:{port}/fail")
    assert "pa55word" not in m.message


def test_unsupported_method(server):
    assert measure(url=f"{server}/health", method="DELETE").phase == "Error"
