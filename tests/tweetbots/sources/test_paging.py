"""Bounds on a scrape's paging (tweetbots/sources/paging.py): bounded pages and time, and a
cursor that must move, whatever the server answers; each breach is one line."""

import time

import pytest

from tests.fakes.checks import one_line
from tweetbots.sources import SourceError, paging, read_source

HOST = "example.social"
MASTODON = f"mastodon:@ada@{HOST}"
BLUESKY = "bluesky:alice.bsky.social"


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
    one_line(error, BLUESKY, "paging stopped", words, "try again later")
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
    one_line(error, MASTODON, "paging stopped", words, "try again later")
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
    one_line(error, BLUESKY, "paging stopped", "longer than 0.5 s")
    assert time.monotonic() - started < 1.5
