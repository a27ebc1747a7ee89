"""The Prefect API as a busy SQLite server answers it: a proxy on 127.0.0.1 in front of the
test session's real server that answers 503 to the requests a test picks.

A real server answers 503 ("database is locked") when its SQLite is busy: a nightly of
many bots on a small machine gets them for a minute at a time. This proxy makes them
happen on cue.
"""

import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import httpx

from tests.fakes.loopback import LoopbackServer

# Not forwarded: they describe one hop, or a body httpx has already decoded.
_HOP_HEADERS = {"connection", "content-length", "content-encoding", "transfer-encoding", "host"}


class BusyApi:
    """Forwards every request to `upstream`; answers 503 while `busy(method, path)` says so.

    Remembers the flow runs created from a deployment (`created_runs`) for tests to pick.
    """

    def __init__(self, upstream: str):
        upstream_url = httpx.URL(upstream)
        self._origin = f"{upstream_url.scheme}://{upstream_url.host}:{upstream_url.port}"
        self.busy: Callable[[str, str], bool] = lambda method, path: False
        self.refused: list[str] = []
        self.created_runs: list[str] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._handler()).start()
        self.url = self._server.url + upstream_url.path.rstrip("/")

    def stop(self) -> None:
        self._server.stop()

    def _answer(self, method: str, path: str, headers: dict, body: bytes) -> httpx.Response | None:
        with self._lock:
            if self.busy(method, path):
                self.refused.append(f"{method} {path}")
                return None
        sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
        url = self._origin + path
        response = httpx.request(method, url, headers=sent, content=body, timeout=60)
        if method == "POST" and re.search(r"/deployments/[^/]+/create_flow_run$", path):
            with self._lock:
                self.created_runs.append(response.json()["id"])
        return response

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                response = api._answer(self.command, self.path, dict(self.headers), body)
                if response is None:
                    response = httpx.Response(503, json={"exception_message": "busy"})
                self.send_response(response.status_code)
                for key, value in response.headers.items():
                    if key.lower() not in _HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward  # noqa: N815

            def log_message(self, *args):
                pass

        return Handler
