"""Fuzzing the source parsers: whatever a file or a server holds, a reader either returns
posts the raw store accepts or raises our own one-line `SourceError`, never anything else.

Inputs are both arbitrary (bytes, text, JSON of any shape) and near-valid (the real
structure with fields of the wrong type, missing or hostile), since a parser's weak spots
are usually one field deep.
"""

import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.social import Reply, bluesky_post, bluesky_profile, mastodon_status
from tweetbots import rawstore
from tweetbots.sources import RAW_COLUMNS, SourceError, read_source
from tweetbots.sources.bluesky import read_bluesky
from tweetbots.sources.mastodon import html_to_text, read_mastodon

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HOST = "example.social"
HANDLE = "alice.bsky.social"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"

# Text with the characters parsers trip on: NUL, lone surrogates, RTL marks, quotes.
TEXT = st.text(
    st.characters(codec=None, exclude_categories=()) | st.sampled_from("\x00\ud800\u202e\"'<>&")
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)


def field(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """A field's value: usually a plausible one, sometimes any JSON at all."""
    return st.one_of(plausible, plausible, JSON)


def assert_valid_or_our_error(read) -> None:
    """`read()` gives posts the raw store takes and gives back, or a one-line SourceError."""
    try:
        batch = read()
    except SourceError as error:
        assert "\n" not in str(error)
        return
    posts = batch.posts
    assert list(posts.columns) == RAW_COLUMNS
    assert posts["id"].notna().all() and posts["user"].notna().all()
    assert posts["text"].notna().all()
    with tempfile.TemporaryDirectory() as root:
        try:
            users = rawstore.append_posts(posts, Path(root))
        except SourceError as error:  # a hostile user name, refused by the store
            assert "\n" not in str(error)
            return
        stored = rawstore.read_posts(users, Path(root))
    assert set(stored["id"]) == set(posts["id"])


# -- X archive ------------------------------------------------------------------------

ACCOUNT_JS = 'window.YTD.account.part0 = [{"account": {"username": "ada", "accountId": "1"}}]'
TWEET = st.fixed_dictionaries(
    {},
    optional={
        "id_str": field(st.integers(0, 2**63).map(str)),
        "full_text": field(TEXT),
        "created_at": field(st.just("Wed Oct 10 20:19:24 +0000 2018") | TEXT),
        "in_reply_to_status_id_str": field(st.integers(0, 2**63).map(str)),
    },
)
NOTE = st.fixed_dictionaries(
    {},
    optional={
        "createdAt": field(st.just("2018-10-10T20:19:00.000Z") | TEXT),
        "core": field(st.fixed_dictionaries({}, optional={"text": field(TEXT)})),
    },
)
ACCOUNT = st.fixed_dictionaries(
    {},
    optional={
        "username": field(st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True) | TEXT),
        "accountDisplayName": field(TEXT),
    },
)


def ytd(name: str, items: list) -> str:
    return f"window.YTD.{name}.part0 = " + json.dumps(items)


def read_archive_files(files: dict[str, str | bytes]):
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            data = (
                content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
            )
            (Path(folder) / name).write_bytes(data)
        assert_valid_or_our_error(lambda: read_source(f"archive:{folder}"))


@FUZZ
@given(st.binary() | TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_archive_any_bytes_as_tweets_js(content):
    read_archive_files({"account.js": ACCOUNT_JS, "tweets.js": content})


@FUZZ
@given(st.lists(field(st.fixed_dictionaries({"tweet": TWEET}) | TWEET), max_size=5))
def test_archive_tweets_with_fields_of_any_type(tweets):
    read_archive_files({"account.js": ACCOUNT_JS, "tweets.js": ytd("tweets", tweets)})


@FUZZ
@given(
    st.lists(field(st.fixed_dictionaries({"account": ACCOUNT})), max_size=2),
    st.lists(field(st.fixed_dictionaries({"noteTweet": NOTE})), max_size=3),
)
def test_archive_account_and_note_tweets_of_any_shape(accounts, notes):
    tweets = [{"tweet": {"id_str": "1", "full_text": "a long post…", "created_at": "x"}}]
    read_archive_files(
        {
            "account.js": ytd("account", accounts),
            "tweets.js": ytd("tweets", tweets),
            "note-tweet.js": ytd("note_tweet", notes),
        }
    )


# -- post files -----------------------------------------------------------------------

RECORD = st.fixed_dictionaries(
    {},
    optional={
        "text": field(TEXT),
        "id": field(st.integers() | TEXT),
        "created_at": field(st.integers() | st.just("2023-10-12T08:30:00+00:00") | TEXT),
        "user": field(st.from_regex(r"[a-z_]{1,10}", fullmatch=True) | TEXT),
        "is_retweet": field(st.booleans() | st.sampled_from(["true", "0", "yes"])),
        "in_reply_to_status_id": field(st.integers()),
        "url": field(TEXT),
        "name": field(TEXT),
    },
)


def read_post_file(suffix: str, content: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"posts{suffix}"
        path.write_bytes(content)
        assert_valid_or_our_error(lambda: read_source(f"file:{path}"))


@FUZZ
@given(st.sampled_from([".jsonl", ".csv", ".parquet"]), st.binary())
def test_post_file_of_any_bytes(suffix, content):
    read_post_file(suffix, content)


@FUZZ
@given(st.lists(field(RECORD), min_size=1, max_size=6))
def test_jsonl_records_with_fields_of_any_type(records):
    lines = "\n".join(json.dumps(r) for r in records).encode("utf-8")
    read_post_file(".jsonl", lines)


@FUZZ
@given(
    st.lists(
        st.sampled_from(["text", "id", "user", "created_at", "is_retweet", "x"]),
        min_size=1,
        max_size=5,
        unique=True,
    ),
    st.lists(st.lists(TEXT, min_size=5, max_size=5), min_size=1, max_size=5),
)
def test_csv_with_any_cells(columns, rows):
    # Written with the csv module: a DataFrame of Arrow strings can't even hold a lone
    # surrogate, and the file must be able to carry one (as invalid UTF-8).
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(columns)
    writer.writerows(row[: len(columns)] for row in rows)
    read_post_file(".csv", text.getvalue().encode("utf-8", "surrogatepass"))


# -- Mastodon -------------------------------------------------------------------------


@FUZZ
@given(
    TEXT
    | st.lists(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<br>",
                "<a href='x'>",
                "&amp;",
                "&#0;",
                "&#xd800;",
                "<",
                "&",
                "x",
                "<!--",
                "<![CDATA[",
            ]
        )
    ).map("".join)
)
def test_html_to_text_never_fails_and_keeps_plain_text(content):
    text = html_to_text(content)
    assert isinstance(text, str) and text == text.strip()
    if not set("<&") & set(content):
        assert text == content.strip()


STATUS = st.fixed_dictionaries(
    {},
    optional={
        "id": field(st.integers(1, 2**62).map(str)),
        "created_at": field(st.just("2024-05-01T12:00:00.000Z") | TEXT),
        "content": field(TEXT),
        "reblog": field(st.none() | st.builds(dict, content=TEXT)),
        "in_reply_to_id": field(st.none() | st.just("1")),
        "url": field(TEXT),
    },
)


@pytest.fixture
def ada(mastodon):
    return mastodon.add_account("ada", HOST)


@FUZZ
@given(page=field(st.lists(field(STATUS), max_size=4)), lookup=field(st.just(None)))
def test_mastodon_answers_of_any_shape(mastodon, server, ada, page, lookup):
    server.queued.clear()
    statuses = f"/api/v1/accounts/{ada['id']}/statuses"
    if lookup is not None:  # a lookup answer that is not an account
        server.queue("/api/v1/accounts/lookup", Reply(200, lookup))
    good = mastodon_status(1, ada)  # a real status next to the fuzzed ones
    server.queue(
        statuses, Reply(200, [good, *page] if isinstance(page, list) else page), Reply(200, [])
    )
    assert_valid_or_our_error(lambda: read_mastodon(f"@ada@{HOST}"))


# -- Bluesky --------------------------------------------------------------------------

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
