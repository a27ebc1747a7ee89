"""Fixtures for the network sources: local fake servers and short retry waits, a server
that keeps failing, and a DNS that answers what a test says.

A pytest plugin (registered in tests/conftest.py) rather than a conftest of one folder:
the source readers' tests, the tasks' and the CLI's all run against these servers.
"""

import socket
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler

import pytest

from tests.fakes.loopback import LoopbackServer
from tests.fakes.social import FakeBluesky, FakeMastodon, FakeServer
from tweetbots.sources import client


@pytest.fixture
def fast_retries(monkeypatch):
    """Backoff of centiseconds and rate-limit waits of at most 2 s; no proxy in the way."""
    monkeypatch.setattr(
        client,
        "POLICY",
        client.RetryPolicy(attempts=4, backoff_s=0.01, max_wait_s=2.0, timeout_s=5.0),
    )
    for name in (
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "https_proxy",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(fast_retries):
    fake = FakeServer().start()
    yield fake
    fake.stop()


@pytest.fixture
def mastodon(server, monkeypatch):
    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", server.url)
    return FakeMastodon(server)


@pytest.fixture
def bluesky(server, monkeypatch):
    monkeypatch.setenv("TWEETBOTS_BLUESKY_BASE_URL", server.url)
    return FakeBluesky(server)


class FailingServer:
    """127.0.0.1, answering every GET with `status` (after `delay` seconds), counting paths."""

    def __init__(self, status: int, delay: float = 0.0):
        self.paths: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server.paths[self.path.split("?")[0]] += 1
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = LoopbackServer(Handler).start()
        self.url = self._server.url

    def stop(self):
        self._server.stop()


@pytest.fixture
def failing_server():
    """A server answering every request with a 503."""
    server = FailingServer(503)
    yield server
    server.stop()


def fake_dns(monkeypatch, answers: dict[str, list[list[str]]]) -> list[str]:
    """socket.getaddrinfo answering the given names in turn (the last answer repeats);
    returns the list of names asked, as they are asked."""
    real, asked = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        turn = answers[host][min(len(asked), len(answers[host])) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in turn]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked
