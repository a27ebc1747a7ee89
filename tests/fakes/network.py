"""Fixtures for the network sources: local fake servers and short retry waits.

A pytest plugin (registered in tests/conftest.py) rather than a conftest of one folder:
the source readers' tests and the CLI's tests both run against these servers.
"""

import pytest

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
