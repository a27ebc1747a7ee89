"""`bluesky:HANDLE` against a real local HTTP server speaking the public AppView's XRPC,
an AppView naming a hostile handle, and answers of any shape (fuzzed)."""

import socket
import time

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.checks import one_line, snapshot
from tests.fakes.fuzz import FUZZ, TEXT, assert_valid_or_our_error, field
from tests.fakes.social import (
    Reply,
    bluesky_post,
    bluesky_profile,
    link_facet,
    repost_item,
    tid,
)
from tests.fakes.stages import scrape_source
from tweetbots import __version__
from tweetbots.sources import RAW_COLUMNS, SourceError, client, read_source
from tweetbots.sources import bluesky as bluesky_source
from tweetbots.sources.bluesky import read_bluesky, tid_from_time

HANDLE = "alice.bsky.social"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
PROFILE = "/xrpc/app.bsky.actor.getProfile"


def test_pages_through_the_whole_feed(bluesky, server):
    bluesky.add_profile(HANDLE, DID, count=250)
    batch = read_bluesky(HANDLE)
    posts = batch.posts
    assert list(posts.columns) == RAW_COLUMNS and len(posts) == 250
    assert posts["id"].is_unique and posts["id"].is_monotonic_decreasing  # TIDs sort by time
    assert posts["created_at"].is_monotonic_decreasing
    assert set(posts["user"]) == {HANDLE} and set(posts["platform"]) == {"bluesky"}
    assert posts["text"].iloc[0] == "skeet number 249"
    assert posts["url"].iloc[0] == f"https://bsky.app/profile/{HANDLE}/post/{posts['id'].iloc[0]}"
    pages = server.seen(FEED)
    # 100 + 100 + 50, then the AppView's last cursor gives an empty page.
    assert len(pages) == 4 and all(r.query["limit"] == "100" for r in pages)
    assert all(r.query["actor"] == DID for r in pages) and "cursor" not in pages[0].query
    assert all(r.headers["User-Agent"] == f"tweetbots/{__version__}" for r in server.requests)


def test_profile_by_did_or_handle(bluesky):
    profile = bluesky.add_profile(HANDLE, DID, count=1)
    for argument in (f"@{HANDLE.upper()}", DID, f"  {HANDLE}  "):
        batch = read_bluesky(argument)
        assert batch.profiles[0].user == HANDLE and batch.posts["user"].tolist() == [HANDLE]
        assert batch.profiles[0].display_name == "Alice A."
        assert batch.profiles[0].avatar_url == profile["avatar"]
        assert batch.profiles[0].profile_url == f"https://bsky.app/profile/{HANDLE}"


def test_unverified_handle_falls_back_to_the_did(bluesky):
    profile = bluesky.add_profile(HANDLE, DID, count=1)
    profile.update(handle="handle.invalid", displayName="")
    batch = read_bluesky(DID)
    assert batch.profiles[0].user == DID and batch.profiles[0].display_name == DID


def test_newer_than_returns_only_newer_posts_and_stops_paging(bluesky, server):
    bluesky.add_profile(HANDLE, DID, count=250)
    everything = read_bluesky(HANDLE).posts
    stored = everything["id"].iloc[30]
    server.requests.clear()

    posts = read_bluesky(HANDLE, newer_than=stored).posts

    assert posts["id"].tolist() == everything["id"].iloc[:30].tolist()
    assert len(server.seen(FEED)) == 1


def test_a_page_of_only_malformed_items_does_not_end_the_feed(bluesky, server):
    alice = bluesky.add_profile(HANDLE, DID, count=3)
    for number in range(100, 200):  # newer than the 3 real posts: the whole first page
        broken = bluesky_post(alice, number)
        del broken["uri"]  # no usable id: not a post
        bluesky.add_item(alice, {"post": broken})
    posts = read_bluesky(HANDLE).posts
    assert len(posts) == 3 and len(server.seen(FEED)) == 3  # 100 broken, 3 real, empty


def test_stops_at_max_posts(bluesky, server, monkeypatch):
    monkeypatch.setattr(bluesky_source, "MAX_POSTS", 150)
    bluesky.add_profile(HANDLE, DID, count=250)
    assert len(read_bluesky(HANDLE).posts) == 150
    assert len(server.seen(FEED)) == 2


def test_reposts_replies_and_text(bluesky):
    alice = bluesky.add_profile(HANDLE, DID)
    bob = bluesky_profile("bob.example.com", "did:plc:bob", displayName="Bob")
    original = bluesky_post(bob, 1, "bob says <hi> & bye")
    text = "see example.com/a/lon... & more 🎉 tinyurl.com/x"
    reply = bluesky_post(
        alice,
        10,
        text,
        reply={
            "root": {"uri": original["uri"], "cid": original["cid"]},
            "parent": {"uri": original["uri"], "cid": original["cid"]},
        },
        facets=[
            link_facet(text, "example.com/a/lon...", "https://example.com/a/long"),
            link_facet(text, "tinyurl.com/x", "https://tinyurl.com/x"),
        ],
    )
    bluesky.add_item(alice, {"post": reply})
    bluesky.add_item(alice, repost_item(alice, original, minutes=20))
    bluesky.add_item(alice, repost_item(alice, bluesky_post(bob, 2), minutes=30, with_uri=False))
    posts = read_bluesky(HANDLE).posts

    old_repost, repost, mine = (posts.iloc[i] for i in range(3))
    assert mine["is_reply"] and not mine["is_retweet"]
    assert mine["text"] == "see https://example.com/a/long &amp; more 🎉 https://tinyurl.com/x"
    assert repost["is_retweet"] and not repost["is_reply"]
    assert repost["text"] == "bob says &lt;hi&gt; &amp; bye" and repost["user"] == HANDLE
    assert repost["created_at"] == pd.Timestamp("2024-11-01 08:20", tz="UTC")
    assert repost["id"] == tid(pd.Timestamp("2024-11-01 08:20", tz="UTC"), 3)  # repost rkey
    original_rkey = original["uri"].rsplit("/", 1)[-1]
    assert repost["url"] == f"https://bsky.app/profile/bob.example.com/post/{original_rkey}"
    # Without reason.uri, the id is a TID of the repost time: it still sorts by time.
    assert (
        old_repost["is_retweet"]
        and old_repost["id"] == tid_from_time("2024-11-01T08:30:00.000Z")
        and old_repost["id"] > repost["id"] > mine["id"]
    )


@pytest.mark.parametrize(
    "text, shown, uri, expected",
    [
        # The official app shows a link as its address, cut short and without the scheme.
        (
            "see bsky.app/profile/ada.bsky.soc... now",
            "bsky.app/profile/ada.bsky.soc...",
            "https://bsky.app/profile/ada.bsky.social/post/3kx",
            "see https://bsky.app/profile/ada.bsky.social/post/3kx now",
        ),
        # Some clients write the facet's URL without its scheme.
        (
            "see example.com/x now",
            "example.com/x",
            "example.com/x",
            "see https://example.com/x now",
        ),
        # A facet is a link whatever it shows: its URL replaces the text, as before.
        ("read the article now", "article", "https://e.org/a", "read the https://e.org/a now"),
    ],
)
def test_a_link_facet_becomes_its_full_url(bluesky, text, shown, uri, expected):
    alice = bluesky.add_profile(HANDLE, DID)
    post = bluesky_post(alice, 1, text, facets=[link_facet(text, shown, uri)])
    bluesky.add_item(alice, {"post": post})
    assert list(read_bluesky(HANDLE).posts["text"]) == [expected]


def test_newer_than_counts_reposts_by_when_they_were_made(bluesky):
    alice = bluesky.add_profile(HANDLE, DID, count=3)
    stored = read_bluesky(HANDLE).posts["id"].iloc[0]
    old_post = bluesky_post(bluesky_profile("bob.example.com", "did:plc:bob"), -500)
    bluesky.add_item(alice, repost_item(alice, old_post, minutes=60))
    posts = read_bluesky(HANDLE, newer_than=stored).posts
    assert posts["is_retweet"].tolist() == [True]


def test_unknown_handle(bluesky):
    with pytest.raises(SourceError) as error:
        read_bluesky("nobody.bsky.social")
    one_line(error, "bluesky:nobody.bsky.social", "no such Bluesky account", "check the handle")


@pytest.mark.parametrize(
    "error_name, words", [("AccountTakedown", "taken down"), ("AccountDeactivated", "deactivated")]
)
def test_taken_down_or_deactivated_profile(bluesky, error_name, words):
    bluesky.add_profile(HANDLE, DID)
    bluesky.errors[HANDLE] = Reply(400, {"error": error_name, "message": "Account is gone"})
    with pytest.raises(SourceError) as error:
        read_bluesky(HANDLE)
    one_line(error, HANDLE, words, error_name)


def test_blocked_feed(bluesky, server):
    bluesky.add_profile(HANDLE, DID, count=2)
    server.queue(FEED, Reply(400, {"error": "BlockedActor", "message": "Requester blocked"}))
    with pytest.raises(SourceError) as error:
        read_bluesky(HANDLE)
    one_line(error, HANDLE, "BlockedActor")


@pytest.mark.parametrize(
    "argument",
    [
        "",
        "@",
        "alice",
        "alice..bsky.social",
        "-a.bsky.social",
        "alice.bsky.social/post",
        "al ice.bsky.social",
        "did:PLC:abc",
        "did:plc:",
        "https://bsky.app/alice",
    ],
)
def test_bad_arguments_are_refused_before_any_request(argument, server, monkeypatch):
    monkeypatch.setenv("TWEETBOTS_BLUESKY_BASE_URL", server.url)
    with pytest.raises(SourceError) as error:
        read_bluesky(argument)
    one_line(error, repr(argument), "handle or DID")
    assert server.requests == []


def test_retries_a_503_then_succeeds(bluesky, server):
    bluesky.add_profile(HANDLE, DID, count=2)
    server.queue(FEED, Reply(503, {"error": "UpstreamFailure"}))
    assert len(read_bluesky(HANDLE).posts) == 2
    assert len(server.seen(FEED)) == 3  # the 503, the page, the empty last page


def test_honours_ratelimit_reset_on_429(bluesky, server):
    bluesky.add_profile(HANDLE, DID, count=2)
    # Bluesky's RateLimit-Reset: epoch seconds, 1.5 s from now (a loaded machine may take
    # a few tenths of a second to send the first request).
    reset = time.time() + 1.5
    server.queue(
        PROFILE, Reply(429, {"error": "RateLimitExceeded"}, {"RateLimit-Reset": f"{reset:.3f}"})
    )
    assert len(read_bluesky(HANDLE).posts) == 2
    first, second = server.seen(PROFILE)
    assert second.at - first.at >= 0.8


def test_unreachable_appview_fails_after_bounded_retries(fast_retries, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TWEETBOTS_BLUESKY_BASE_URL", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        read_bluesky(HANDLE)
    assert time.monotonic() - started < 2
    one_line(error, HANDLE, f"failed {client.POLICY.attempts} attempts")


def test_read_source_dispatches_with_the_env_base_url(bluesky):
    bluesky.add_profile(HANDLE, DID, count=3)
    for spec in (f"bluesky:{HANDLE}", f"bluesky:{DID}"):
        batch = read_source(spec)
        assert list(batch.posts.columns) == RAW_COLUMNS and len(batch.posts) == 3
        assert batch.posts.dtypes["created_at"] == "datetime64[us, UTC]"


def test_tid_from_time_matches_the_spec_layout():
    when = pd.Timestamp("2024-11-20T10:00:00.123456Z")
    assert tid_from_time("2024-11-20T10:00:00.123456Z") == tid(when, clock=0)
    assert len(tid(when)) == 13 and tid(when) < tid(when + pd.Timedelta(microseconds=1))


# -- a hostile handle from the AppView --------------------------------------------------


def test_a_hostile_handle_from_the_appview_is_stored_under_the_did(bluesky, data_root, tmp_path):
    did = "did:plc:z72i7hdynmk6r22z27h6tvur"
    bluesky.add_profile("alice.bsky.social", did, count=3)
    hostile = bluesky_profile("../../../outside", did)
    bluesky.profiles["alice.bsky.social"] = bluesky.profiles[did] = hostile
    before = snapshot(tmp_path, data_root)

    scrape = scrape_source(f"bluesky:{did}", "bot")

    assert [u["user"] for u in scrape.summary["users"]] == [did]
    assert (data_root / "raw" / "bluesky" / did).is_dir()
    assert snapshot(tmp_path, data_root) == before
    for path in data_root.rglob("*"):
        assert path.resolve().is_relative_to(data_root.resolve()), path


# -- fuzzing: answers of any shape ------------------------------------------------------


RECORD_FACET = st.fixed_dictionaries(
    {},
    optional={
        "index": field(
            st.fixed_dictionaries(
                {"byteStart": st.integers(-5, 40), "byteEnd": st.integers(-5, 40)}
            )
        ),
        "features": field(
            st.lists(
                field(
                    st.fixed_dictionaries(
                        {"$type": st.just("app.bsky.richtext.facet#link"), "uri": field(TEXT)}
                    )
                ),
                max_size=2,
            )
        ),
    },
)
FEED_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "post": field(
            st.fixed_dictionaries(
                {},
                optional={
                    "uri": field(st.just(f"at://{DID}/app.bsky.feed.post/3kabc") | TEXT),
                    "author": field(st.fixed_dictionaries({"handle": field(TEXT)})),
                    "record": field(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "text": field(TEXT),
                                "createdAt": field(st.just("2024-11-01T08:00:00.000Z") | TEXT),
                                "facets": field(st.lists(field(RECORD_FACET), max_size=3)),
                                "reply": field(st.none() | st.just({})),
                            },
                        )
                    ),
                    "indexedAt": field(TEXT),
                },
            )
        ),
        "reason": field(
            st.fixed_dictionaries(
                {},
                optional={
                    "$type": field(st.just("app.bsky.feed.defs#reasonRepost")),
                    "uri": field(TEXT),
                    "indexedAt": field(st.just("2024-11-01T08:00:00.000Z") | TEXT),
                },
            )
        ),
    },
)
PROFILE_ANSWER = st.fixed_dictionaries(
    {"did": field(st.just(DID))},
    optional={
        "handle": field(st.just(HANDLE) | TEXT),
        "displayName": field(TEXT),
        "avatar": field(TEXT),
    },
)


@FUZZ
@given(
    feed=field(st.lists(field(FEED_ITEM), max_size=4)),
    cursor=field(st.none()),
    profile=field(PROFILE_ANSWER),
)
def test_bluesky_answers_of_any_shape(bluesky, server, feed, cursor, profile):
    server.queued.clear()
    alice = bluesky_profile(HANDLE, DID)
    server.queue("/xrpc/app.bsky.actor.getProfile", Reply(200, profile))
    good = {"post": bluesky_post(alice, 1)}  # a real post next to the fuzzed ones
    answer = {"feed": [good, *feed] if isinstance(feed, list) else feed}
    if cursor is not None:
        answer["cursor"] = cursor
    server.queue("/xrpc/app.bsky.feed.getAuthorFeed", Reply(200, answer), Reply(200, {"feed": []}))
    assert_valid_or_our_error(lambda: read_bluesky(HANDLE))
