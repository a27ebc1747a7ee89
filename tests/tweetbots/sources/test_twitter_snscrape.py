"""`twitter:HANDLE`: handle validation, and the blocked-scraping message on a real failure."""

import time
from dataclasses import fields
from datetime import UTC, datetime

import pytest
from snscrape.modules.twitter import Tweet, User

from tweetbots.sources import SourceError, read_source
from tweetbots.sources.twitter_snscrape import posts_from_tweets, read_twitter


@pytest.fixture
def unreachable_network(monkeypatch):
    """Every HTTP(S) request goes to a proxy on a closed local port: fails at once.

    requests (which snscrape uses) honours these variables, so no DNS lookup or remote
    connect can hang the test, and snscrape's retries back off for about one second.
    """
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    "handle", ["", "@", "has space", "way_too_long_handle_x", "a-b", "ümlaut", "@@double"]
)
def test_invalid_handles_are_refused_before_any_request(handle, unreachable_network):
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        read_twitter(handle)
    message = str(error.value)
    assert "\n" not in message and repr(handle) in message and "1-15" in message
    assert time.monotonic() - started < 1


def test_a_failed_scrape_points_to_the_archive_export(unreachable_network):
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        read_source("twitter:@Valid_Handle1")
    message = str(error.value)
    assert "\n" not in message
    assert "Valid_Handle1" in message
    assert "blocked since 2023" in message
    assert "https://x.com/settings/download_your_data" in message and "archive:PATH" in message
    assert time.monotonic() - started < 30


def _tweet(**values) -> Tweet:
    blank = {f.name: None for f in fields(Tweet)}
    return Tweet(**{**blank, **values})


def test_snscrape_tweets_map_to_the_raw_columns():
    user = User(username="ada", id=1, displayname="Ada")
    when = datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    original = _tweet(
        id=11,
        date=when,
        rawContent="hello &amp; welcome",
        user=user,
        url="https://x.com/ada/status/11",
    )
    retweet = _tweet(
        id=12,
        date=when,
        rawContent="RT @bob: hi",
        user=user,
        url="https://x.com/ada/status/12",
        retweetedTweet=original,
    )
    reply = _tweet(
        id=13,
        date=when,
        rawContent="@bob yes",
        user=user,
        url="https://x.com/ada/status/13",
        inReplyToTweetId=9,
    )
    posts = posts_from_tweets([original, retweet, reply], "ada")
    assert list(posts["id"]) == ["11", "12", "13"]
    assert list(posts["is_retweet"]) == [False, True, False]
    assert list(posts["is_reply"]) == [False, False, True]
    assert list(posts["text"])[0] == "hello &amp; welcome"
    assert set(posts["user"]) == {"ada"} and set(posts["platform"]) == {"twitter"}
