"""Git over authenticated smart HTTP for tests: `git http-backend` (CGI) behind a small Python
HTTP server on 127.0.0.1 that demands HTTP basic auth, started and stopped by the test.

    with git_http_server(base_dir, user="bot", password=token) as server:
        url = f"http://bot:{token}@127.0.0.1:{server.port}/repo.git"   # every bare repo under base_dir
        ...
        server.requests  # (method, path, authenticated) of every request, for the test to check

Pushes are allowed (http-backend enables receive-pack for an authenticated REMOTE_USER).
"""

from __future__ import annotations

import base64
import http.server
import os
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GitHTTPServer:
    port: int
    requests: list = field(default_factory=list)


def _handler(base_dir: Path, user: str, password: str, seen: list):
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: the CGI output is relayed as is

        def _serve(self):
            authenticated = self.headers.get("Authorization") == expected
            path, _, query = self.path.partition("?")
            seen.append((self.command, path, authenticated))
            if not authenticated:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(base_dir),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": user,
                "REMOTE_ADDR": "127.0.0.1",
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60)
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = done.stdout.partition(b"\n\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name.strip(), value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def git_http_server(base_dir: Path, *, user: str, password: str):
    seen: list = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(Path(base_dir), user, password, seen))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield GitHTTPServer(port=httpd.server_port, requests=seen)
    finally:
        httpd.shutdown()
        httpd.server_close()
