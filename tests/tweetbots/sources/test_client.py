"""The one polite HTTP GET of the network sources (tweetbots/sources/client.py): bounded
retries of timeouts and 5xx answers, the waits a 429 asks for, a deadline over each whole
attempt, redirects only within the server, and connections only to the addresses checked.

Servers we do not control try to keep a scrape running for ever or to steer it elsewhere;
each attempt ends in one line naming the source, within bounds the tests shorten."""

import socket
import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.fakes.checks import one_line
from tests.fakes.network import fake_dns
from tests.fakes.social import FakeServer, Reply, mastodon_account
from tweetbots.sources import SourceError, client, read_source
from tweetbots.sources.hosts import ALLOWED_HOSTS_ENV

HOST = "example.social"
MASTODON = f"mastodon:@ada@{HOST}"
LOOKUP = "/api/v1/accounts/lookup"
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


@pytest.mark.parametrize(
    "headers, wait",
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "Wed, 01 May 2024 12:00:30 GMT"}, 30.0),
        ({"X-RateLimit-Reset": "2024-05-01T12:01:00.000Z"}, 60.0),
        (
            {"ratelimit-reset": str(int(datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC).timestamp()))},
            5.0,
        ),
        ({"Retry-After": "3", "X-RateLimit-Reset": "2024-05-01T12:00:10Z"}, 10.0),
        ({"X-RateLimit-Reset": "2024-05-01T11:59:00Z"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_rate_limit_headers(headers, wait):
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert client.rate_limit_wait(httpx.Headers(headers), now) == wait


# -- redirects, deadlines, checked addresses --------------------------------------------


def test_dns_rebinding_cannot_reach_the_address_it_rebinds_to(mastodon, server, monkeypatch):
    """The name resolves to a public address, then to 127.0.0.1 (a rebinding attack): we
    connect only to the address we checked, so the server on 127.0.0.1 is never reached."""
    mastodon.add_account("ada", HOST, count=3)
    monkeypatch.delenv(ALLOWED_HOSTS_ENV)
    monkeypatch.setattr(client, "POLICY", client.RetryPolicy(attempts=2, backoff_s=0.01))
    public = "93.184.215.14"
    asked = fake_dns(monkeypatch, {"rebind.example": [[public], ["127.0.0.1"]]})
    real_connect, connected = socket.create_connection, []

    def create_connection(address, *args, **kwargs):  # the internet is out of reach here
        host, port = address
        if host not in (public, "127.0.0.1"):  # a name: resolved as the real one would
            host = socket.getaddrinfo(host, port)[0][4][0]
        connected.append(host)
        if host == public:
            raise ConnectionRefusedError(f"{public} refused")
        return real_connect((host, port), *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", f"http://rebind.example:{server.port}")
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    one_line(error, "rebind.example", "resolves to 127.0.0.1", ALLOWED_HOSTS_ENV)
    assert connected == [public] and len(asked) == 2
    assert server.requests == []


@pytest.fixture
def other_server():
    other = FakeServer().start()
    other.route(LOOKUP, lambda request, match: Reply(200, mastodon_account("9", "ada", HOST)))
    yield other
    other.stop()


@pytest.mark.parametrize("other_host", ["localhost", "127.0.0.1"])
def test_a_redirect_to_another_host_or_port_is_not_followed(
    mastodon, server, other_server, monkeypatch, other_host
):
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "127.0.0.1,localhost")  # both could be reached
    target = f"http://{other_host}:{other_server.port}{LOOKUP}?acct=ada"
    server.queue(LOOKUP, Reply(302, None, {"Location": target}))
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    one_line(
        error,
        MASTODON,
        f"http://127.0.0.1:{server.port} redirects to http://{other_host}:{other_server.port}",
        "not followed",
    )
    assert other_server.requests == []


def test_a_redirect_within_the_server_is_followed(mastodon, server):
    mastodon.add_account("ada", HOST, count=3)
    server.queue(LOOKUP, Reply(301, None, {"Location": f"{LOOKUP}?acct=ada&moved=1"}))
    assert len(read_source(MASTODON).posts) == 3
    assert [r.query.get("moved") for r in server.seen(LOOKUP)] == [None, "1"]


def test_a_redirect_loop_ends_in_one_line(mastodon, server):
    server.override(LOOKUP, lambda request, match: Reply(302, None, {"Location": LOOKUP}))
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    one_line(error, MASTODON, f"more than {client.MAX_REDIRECTS} times")
    assert len(server.seen(LOOKUP)) == client.MAX_REDIRECTS + 1


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers and body"])
def test_a_trickling_server_fails_within_the_deadline(mastodon, server, monkeypatch, headers_too):
    """One byte every 50 ms never trips the 1 s read timeout; the 0.4 s deadline ends it."""
    monkeypatch.setattr(
        client,
        "POLICY",
        client.RetryPolicy(attempts=2, backoff_s=0.01, timeout_s=1.0, deadline_s=0.4),
    )
    account = mastodon_account("1000", "ada", HOST, note="x" * 600)  # 30 s at this pace
    trickle = Reply(200, account, trickle_s=0.05, trickle_headers=headers_too)
    server.queue(LOOKUP, trickle, trickle)
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    one_line(error, MASTODON, "failed 2 attempts", "within the 0.4 s deadline")
    assert time.monotonic() - started < 2 * 0.4 + 1.0
    assert len(server.seen(LOOKUP)) == 2  # retried like a timeout
