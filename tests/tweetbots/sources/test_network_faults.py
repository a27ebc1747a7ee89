"""Network faults in scraping that tests beside each reader do not cover: a server that
answers too slowly (read timeouts), and a Bluesky AppView that keeps answering 5xx.
Each is retried a bounded number of times, then fails in one line naming the source."""

import time

import pytest

from tests.fakes.social import Reply
from tweetbots.sources import SourceError, client, read_source

HOST = "example.social"
SLOW_S = 0.6


@pytest.fixture
def short_timeouts(fast_retries, monkeypatch):
    monkeypatch.setattr(
        client, "POLICY", client.RetryPolicy(attempts=3, backoff_s=0.01, timeout_s=0.2)
    )


def slow(reply: Reply):
    def handler(request, match):
        time.sleep(SLOW_S)  # longer than the client waits
        return reply

    return handler


@pytest.mark.parametrize(
    "spec, path, base_env",
    [
        (f"mastodon:@ada@{HOST}", "/api/v1/accounts/lookup", "TWEETBOTS_MASTODON_BASE_URL"),
        (
            "bluesky:alice.bsky.social",
            "/xrpc/app.bsky.actor.getProfile",
            "TWEETBOTS_BLUESKY_BASE_URL",
        ),
    ],
)
def test_read_timeouts_are_retried_then_one_line(
    server, short_timeouts, monkeypatch, spec, path, base_env
):
    monkeypatch.setenv(base_env, server.url)
    server.route(path, slow(Reply(200, {})))
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        read_source(spec)
    message = str(error.value)
    assert "\n" not in message
    assert spec.partition(":")[2].removeprefix("@") in message
    assert "failed 3 attempts" in message and "timed out" in message
    assert "try again later" in message
    assert len(server.seen(path)) == 3
    assert time.monotonic() - started < 3 * 0.2 + 1.5  # bounded: no long hang


def test_bluesky_gives_up_after_bounded_5xx(bluesky, server):
    bluesky.add_profile("alice.bsky.social", "did:plc:abc", count=3)
    path = "/xrpc/app.bsky.feed.getAuthorFeed"
    server.queue(path, *[Reply(502, {"error": "UpstreamFailure"})] * 10)
    with pytest.raises(SourceError) as error:
        read_source("bluesky:alice.bsky.social")
    message = str(error.value)
    assert "\n" not in message and "bluesky:alice.bsky.social" in message
    assert "HTTP 502" in message and "try again later" in message
    assert len(server.seen(path)) == client.POLICY.attempts
