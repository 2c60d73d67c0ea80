"""Real HTTP servers on 127.0.0.1 for the notification tests: a webhook sink, a fake Slack API and a
fake GitHub API, each recording the requests it got. `stop()` closes the socket (the sink is down:
connections are refused) and `start()` opens it again on the same port."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body.decode())


class RecordingServer:
    """`answer(request) -> (status, body dict|bytes)` decides each reply (default: 200 {})."""

    def __init__(self, answer=None, port: int = 0):
        self.requests: list[Recorded] = []
        self.answer = answer or (lambda request: (200, {}))
        self.port = port
        self._server = None
        self._thread = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                owner.requests.append(request)
                status, reply = owner.answer(request)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def slack_api() -> RecordingServer:
    """chat.postMessage answering Slack's {"ok": true} (or {"ok": false} for channel `refused`)."""

    def answer(request):
        if not request.path.endswith("/chat.postMessage"):
            return 404, {"ok": False, "error": "unknown_method"}
        if request.json().get("channel") == "refused":
            return 200, {"ok": False, "error": "channel_not_found"}
        return 200, {"ok": True, "channel": request.json().get("channel"), "ts": "1.2"}

    return RecordingServer(answer)


def github_api() -> RecordingServer:
    def answer(request):
        if request.path.endswith("/deployments"):
            return 201, {"id": 42}
        return 201, {"id": 7}

    return RecordingServer(answer)
