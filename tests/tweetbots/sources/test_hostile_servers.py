"""Servers we do not control, trying to steer a nightly scrape into the user's network or to
keep it running for ever. Each attempt ends in one line naming the source, within bounds
the tests shorten so that none takes more than a few seconds.

The fake servers listen on 127.0.0.1, which the suite allows through the same opt-in a
self-hosted server needs (TWEETBOTS_ALLOWED_HOSTS, set in conftest.py); the tests of the
refusal remove it.
"""

import socket
import time

import pytest

from tests.fakes.social import FakeServer, Reply, mastodon_account
from tweetbots.sources import SourceError, client, paging, read_source
from tweetbots.sources.hosts import ALLOWED_HOSTS_ENV

HOST = "example.social"
MASTODON = f"mastodon:@ada@{HOST}"
BLUESKY = "bluesky:alice.bsky.social"
LOOKUP = "/api/v1/accounts/lookup"


def _one_line(error: pytest.ExceptionInfo, *parts: str) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    for part in parts:
        assert part in message, (part, message)
    return message


# -- hosts: never the user's own network, unless the user says so ----------------------


@pytest.mark.parametrize(
    "host, shown",
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),  # a name: judged by what it resolves to
        ("10.1.2.3", "10.1.2.3"),
        ("172.16.5.4", "172.16.5.4"),
        ("192.168.1.1", "192.168.1.1"),
        ("169.254.169.254", "169.254.169.254"),  # the cloud metadata service
        ("100.100.100.200", "100.100.100.200"),  # Alibaba's
        ("0.0.0.0", "0.0.0.0"),
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),  # IPv4-mapped IPv6
        ("[fd00:ec2::254]", "fd00:ec2::254"),  # AWS metadata over IPv6
        ("[fe80::1]", "fe80::1"),
    ],
)
def test_non_public_hosts_are_refused_at_once_in_one_line(
    server, monkeypatch, mastodon, host, shown
):
    mastodon.add_account("ada", HOST, count=3)
    monkeypatch.delenv(ALLOWED_HOSTS_ENV)
    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", f"http://{host}:{server.port}")
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    _one_line(error, MASTODON, f"refused to connect to {shown}", ALLOWED_HOSTS_ENV)
    assert time.monotonic() - started < 1.0  # refused, not retried
    assert server.requests == []


def test_a_bluesky_appview_on_a_private_address_is_refused(bluesky, server, monkeypatch):
    bluesky.add_profile("alice.bsky.social", "did:plc:abc", count=3)
    monkeypatch.delenv(ALLOWED_HOSTS_ENV)
    with pytest.raises(SourceError) as error:
        read_source(BLUESKY)
    _one_line(
        error, BLUESKY, "refused to connect to 127.0.0.1: it is a loopback", ALLOWED_HOSTS_ENV
    )
    assert server.requests == []


def _fake_dns(monkeypatch, answers: dict[str, list[list[str]]]) -> list[str]:
    """socket.getaddrinfo answering the given names in turn (the last answer repeats)."""
    real, asked = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        turn = answers[host][min(len(asked), len(answers[host])) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in turn]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_with_any_private_address_is_refused(mastodon, server, monkeypatch):
    mastodon.add_account("ada", HOST, count=3)
    _fake_dns(monkeypatch, {"mixed.example": [["93.184.215.14", "10.0.0.7"]]})
    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", f"http://mixed.example:{server.port}")
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    _one_line(error, "mixed.example", "resolves to 10.0.0.7", "private address")


def test_dns_rebinding_cannot_reach_the_address_it_rebinds_to(mastodon, server, monkeypatch):
    """The name resolves to a public address, then to 127.0.0.1 (a rebinding attack): we
    connect only to the address we checked, so the server on 127.0.0.1 is never reached."""
    mastodon.add_account("ada", HOST, count=3)
    monkeypatch.delenv(ALLOWED_HOSTS_ENV)
    monkeypatch.setattr(client, "POLICY", client.RetryPolicy(attempts=2, backoff_s=0.01))
    public = "93.184.215.14"
    asked = _fake_dns(monkeypatch, {"rebind.example": [[public], ["127.0.0.1"]]})
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
    _one_line(error, "rebind.example", "resolves to 127.0.0.1", ALLOWED_HOSTS_ENV)
    assert connected == [public] and len(asked) == 2
    assert server.requests == []


def test_the_opt_in_allows_exactly_the_listed_host_and_port(mastodon, server, monkeypatch):
    mastodon.add_account("ada", HOST, count=3)
    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", f"http://localhost:{server.port}")
    for listed in (
        "localhost",
        f"localhost:{server.port}",
        f" example.org, LOCALHOST:{server.port}",
    ):
        monkeypatch.setenv(ALLOWED_HOSTS_ENV, listed)
        assert len(read_source(MASTODON).posts) == 3, listed
    # Not by what the name resolves to, nor on another port.
    for listed in ("127.0.0.1", f"localhost:{server.port + 1}"):
        monkeypatch.setenv(ALLOWED_HOSTS_ENV, listed)
        with pytest.raises(SourceError) as error:
            read_source(MASTODON)
        _one_line(error, "refused to connect to localhost", ALLOWED_HOSTS_ENV)


@pytest.mark.parametrize("listed", ["http://mastodon.home.lan", "a b", "host:99999", "u@host"])
def test_an_unreadable_allow_list_is_one_line(mastodon, server, monkeypatch, listed):
    mastodon.add_account("ada", HOST, count=3)
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, f"127.0.0.1,{listed}")
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    _one_line(error, MASTODON, ALLOWED_HOSTS_ENV, repr(listed), "host name or IP address")


# -- redirects: only within the server the source names ---------------------------------


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
    _one_line(
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
    _one_line(error, MASTODON, f"more than {client.MAX_REDIRECTS} times")
    assert len(server.seen(LOOKUP)) == client.MAX_REDIRECTS + 1


# -- a total deadline per request --------------------------------------------------------


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
    _one_line(error, MASTODON, "failed 2 attempts", "within the 0.4 s deadline")
    assert time.monotonic() - started < 2 * 0.4 + 1.0
    assert len(server.seen(LOOKUP)) == 2  # retried like a timeout


# -- paging: bounded pages and time, a cursor that must move ---------------------------


@pytest.fixture
def short_paging(monkeypatch):
    monkeypatch.setattr(paging, "LIMITS", paging.PagingLimits(max_pages=10, max_seconds=30))


FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
STATUSES = r"/api/v1/accounts/\w+/statuses"
FIRST = "110000000000000000"


@pytest.mark.parametrize(
    "step, requests, words",
    [
        (lambda cursor: "same", 2, "cursor 'same' again"),
        (lambda cursor: "b" if cursor == "a" else "a", 3, "cursor 'a' again"),
        (lambda cursor: str(int(cursor or 0) + 1), 10, "more than 10 pages"),
    ],
    ids=["repeated cursor", "cursors in a cycle", "endless pages"],
)
def test_bluesky_paging_that_never_ends_is_stopped(
    bluesky, server, short_paging, step, requests, words
):
    bluesky.page_forever(bluesky.add_profile("alice.bsky.social", "did:plc:abc"), step)
    with pytest.raises(SourceError) as error:
        read_source(BLUESKY)
    _one_line(error, BLUESKY, "paging stopped", words, "try again later")
    assert len(server.seen(FEED)) == requests


@pytest.mark.parametrize(
    "step, requests, words",
    [
        (lambda max_id: FIRST, 2, f"max_id '{FIRST}' again"),
        (lambda max_id: str(int(max_id or FIRST) + 1000), 2, "is not older than"),
        (lambda max_id: str(int(max_id or FIRST) - 1000), 10, "more than 10 pages"),
    ],
    ids=["repeated max_id", "max_id going up", "endless pages"],
)
def test_mastodon_paging_that_never_ends_is_stopped(
    mastodon, server, short_paging, step, requests, words
):
    mastodon.page_forever(mastodon.add_account("ada", HOST), step)
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    _one_line(error, MASTODON, "paging stopped", words, "try again later")
    assert len(server.seen(STATUSES)) == requests


def test_paging_ends_when_the_scrape_takes_too_long(bluesky, server, monkeypatch):
    monkeypatch.setattr(paging, "LIMITS", paging.PagingLimits(max_pages=10**6, max_seconds=0.5))
    bluesky.page_forever(
        bluesky.add_profile("alice.bsky.social", "did:plc:abc"),
        lambda cursor: time.sleep(0.05) or str(int(cursor or 0) + 1),  # slow, endless
    )
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        read_source(BLUESKY)
    _one_line(error, BLUESKY, "paging stopped", "longer than 0.5 s")
    assert time.monotonic() - started < 1.5
