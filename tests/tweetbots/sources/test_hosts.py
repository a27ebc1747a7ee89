"""Which hosts a network source may reach (tweetbots/sources/hosts.py): never the user's
own network, unless the user says so (TWEETBOTS_ALLOWED_HOSTS).

The fake servers listen on 127.0.0.1, which the suite allows through the same opt-in a
self-hosted server needs (set in conftest.py); the tests of the refusal remove it."""

import time

import pytest

from tests.fakes.checks import one_line
from tests.fakes.network import fake_dns
from tweetbots.sources import SourceError, read_source
from tweetbots.sources.hosts import ALLOWED_HOSTS_ENV

HOST = "example.social"
MASTODON = f"mastodon:@ada@{HOST}"
BLUESKY = "bluesky:alice.bsky.social"


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
    one_line(error, MASTODON, f"refused to connect to {shown}", ALLOWED_HOSTS_ENV)
    assert time.monotonic() - started < 1.0  # refused, not retried
    assert server.requests == []


def test_a_bluesky_appview_on_a_private_address_is_refused(bluesky, server, monkeypatch):
    bluesky.add_profile("alice.bsky.social", "did:plc:abc", count=3)
    monkeypatch.delenv(ALLOWED_HOSTS_ENV)
    with pytest.raises(SourceError) as error:
        read_source(BLUESKY)
    one_line(error, BLUESKY, "refused to connect to 127.0.0.1: it is a loopback", ALLOWED_HOSTS_ENV)
    assert server.requests == []


def test_a_name_with_any_private_address_is_refused(mastodon, server, monkeypatch):
    mastodon.add_account("ada", HOST, count=3)
    fake_dns(monkeypatch, {"mixed.example": [["93.184.215.14", "10.0.0.7"]]})
    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", f"http://mixed.example:{server.port}")
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    one_line(error, "mixed.example", "resolves to 10.0.0.7", "private address")


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
        one_line(error, "refused to connect to localhost", ALLOWED_HOSTS_ENV)


@pytest.mark.parametrize("listed", ["http://mastodon.home.lan", "a b", "host:99999", "u@host"])
def test_an_unreadable_allow_list_is_one_line(mastodon, server, monkeypatch, listed):
    mastodon.add_account("ada", HOST, count=3)
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, f"127.0.0.1,{listed}")
    with pytest.raises(SourceError) as error:
        read_source(MASTODON)
    one_line(error, MASTODON, ALLOWED_HOSTS_ENV, repr(listed), "host name or IP address")
