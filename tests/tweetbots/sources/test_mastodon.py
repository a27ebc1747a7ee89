"""`mastodon:@user@instance` against a real local HTTP server speaking the REST API, and
fuzzed: HTML and answers of any shape."""

import socket
import time

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.checks import one_line
from tests.fakes.fuzz import FUZZ, TEXT, assert_valid_or_our_error, field
from tests.fakes.social import Reply, mastodon_link, mastodon_status
from tweetbots import __version__
from tweetbots.sources import RAW_COLUMNS, SourceError, client, read_source
from tweetbots.sources import mastodon as mastodon_source
from tweetbots.sources.mastodon import html_to_text, read_mastodon

HOST = "example.social"
STATUSES = r"/api/v1/accounts/\w+/statuses"


def test_pages_through_every_status_newest_first(mastodon, server):
    mastodon.add_account("ada", HOST, count=95)
    batch = read_mastodon(f"@ada@{HOST}")
    posts = batch.posts
    assert list(posts.columns) == RAW_COLUMNS and len(posts) == 95
    assert posts["id"].is_unique and posts["id"].str.isdigit().all()
    assert posts["created_at"].is_monotonic_decreasing
    assert set(posts["user"]) == {f"ada@{HOST}"} and set(posts["platform"]) == {"mastodon"}
    assert posts["text"].iloc[0] == "post number 94"
    # 40 + 40 + 15, then an empty page ends it; every request asks for the maximum page.
    pages = server.seen(STATUSES)
    assert [r.query.get("limit") for r in pages] == ["40"] * 4
    assert "max_id" not in pages[0].query and pages[1].query["max_id"] == posts["id"].iloc[39]
    assert server.seen("/api/v1/accounts/lookup")[0].query == {"acct": "ada"}


def test_profile_and_user_agent(mastodon, server):
    account = mastodon.add_account("Ada_L", HOST, count=1)
    account["display_name"] = "Ada Lovelace"
    batch = read_mastodon(f"Ada_L@{HOST.upper()}")  # without the leading @, any case
    (profile,) = batch.profiles
    assert profile.user == f"ada_l@{HOST}" and profile.platform == "mastodon"
    assert profile.display_name == "Ada Lovelace" and profile.avatar_url == account["avatar"]
    assert profile.profile_url == f"https://{HOST}/@Ada_L"  # the account's own `url`
    assert batch.posts["user"].tolist() == [f"ada_l@{HOST}"]
    assert all(r.headers["User-Agent"] == f"tweetbots/{__version__}" for r in server.requests)


def test_display_name_falls_back_to_the_user_name(mastodon):
    mastodon.add_account("ada", HOST)["display_name"] = ""
    batch = read_mastodon(f"@ada@{HOST}")
    assert batch.profiles[0].display_name == "ada" and batch.posts.empty
    assert list(batch.posts.columns) == RAW_COLUMNS


def test_newer_than_fetches_only_newer_posts_and_keeps_since_id(mastodon, server):
    mastodon.add_account("ada", HOST, count=95)
    newest = read_mastodon(f"@ada@{HOST}").posts
    stored = newest["id"].iloc[50]  # the nightly run has everything up to this one
    server.requests.clear()

    posts = read_mastodon(f"@ada@{HOST}", newer_than=stored).posts

    assert posts["id"].tolist() == newest["id"].iloc[:50].tolist()
    pages = server.seen(STATUSES)
    # Mastodon's rel="next" link drops since_id: the reader must keep it on every page.
    assert len(pages) == 3 and all(r.query["since_id"] == stored for r in pages)


def test_nothing_new_is_one_request(mastodon, server):
    mastodon.add_account("ada", HOST, count=5)
    newest_id = read_mastodon(f"@ada@{HOST}").posts["id"].iloc[0]
    server.requests.clear()
    assert read_mastodon(f"@ada@{HOST}", newer_than=newest_id).posts.empty
    assert len(server.seen(STATUSES)) == 1


def test_stops_at_max_posts(mastodon, server, monkeypatch):
    monkeypatch.setattr(mastodon_source, "MAX_POSTS", 100)
    mastodon.add_account("ada", HOST, count=150)
    assert len(read_mastodon(f"@ada@{HOST}").posts) == 100
    assert len(server.seen(STATUSES)) == 3


def test_boosts_replies_and_html(mastodon):
    account = mastodon.add_account("ada", HOST)
    other = {**account, "id": "77", "username": "bob", "acct": "bob@else.where"}
    boosted = mastodon_status(1, other, "<p>boosted words &amp; more</p>")
    mastodon.add_status(
        account,
        mastodon_status(
            2,
            account,
            '<p>Hello <span class="h-card"><a href="https://else.where/@bob" '
            'class="u-url mention">@<span>bob</span></a></span> AT&amp;T &lt;3 &quot;q&quot;'
            '<br />second line</p><p>new paragraph <a href="https://example.com/a/long/path" '
            'rel="nofollow noopener" target="_blank"><span class="invisible">https://</span>'
            '<span class="ellipsis">example.com/a/lo</span><span class="invisible">ng/path'
            "</span></a></p>",
            in_reply_to_id="109000",
        ),
    )
    mastodon.add_status(account, mastodon_status(3, account, "", reblog=boosted, url=None))
    posts = read_mastodon(f"@ada@{HOST}").posts.set_index("id")
    reply, boost = posts.iloc[1], posts.iloc[0]

    assert reply["text"] == (
        'Hello @bob AT&amp;T &lt;3 "q"\nsecond line\n\n'
        "new paragraph https://example.com/a/long/path"
    )
    assert reply["is_reply"] and not reply["is_retweet"]
    assert reply["url"] == f"https://{HOST}/@ada/{reply.name}"
    assert boost["is_retweet"] and not boost["is_reply"]
    assert boost["text"] == "boosted words &amp; more" and boost["url"] == boosted["url"]
    assert boost["created_at"] == pd.Timestamp("2024-05-01 12:03", tz="UTC")


def test_read_source_round_trips_the_text_through_cleaning(mastodon, monkeypatch):
    from tweetbots.clean import clean_and_count

    account = mastodon.add_account("ada", HOST)
    mastodon.add_status(
        account, mastodon_status(1, account, "<p>I typed &amp;amp; and &lt;b&gt; literally</p>")
    )
    posts = read_source(f"mastodon:@ada@{HOST}").posts
    assert posts.dtypes["created_at"] == "datetime64[us, UTC]"
    cleaned = clean_and_count(pd.Series(posts["text"].astype(str)))[0]
    assert list(cleaned) == ["I typed &amp; and <b> literally"]


@pytest.mark.parametrize(
    "content, text",
    [
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("<p>a<br>b<br/>c</p>", "a\nb\nc"),
        ("<p>caf&eacute; &#128512; &amp;lt;</p>", "café 😀 &lt;"),
        ("plain text, no tags", "plain text, no tags"),
        ("", ""),
    ],
)
def test_html_to_text(content, text):
    assert html_to_text(content) == text


QUOTED = "https://other.social/@bob/113000000000000000"


@pytest.mark.parametrize(
    "content, text",
    [
        # Mastodon 4.5 prepends this paragraph when the author's text lacks the link.
        (
            '<p class="quote-inline">RE: '
            + mastodon_link(QUOTED, "other.social/@bob/1130", "00000000000000")
            + "</p><p>so true, and well put</p>",
            "so true, and well put",
        ),
        # Akkoma, Pleroma, Misskey and Fedibird append it as a span.
        (
            f'<p>so true<span class="quote-inline"><br/><br/>RE: <a href="{QUOTED}">{QUOTED}'
            "</a></span></p>",
            "so true",
        ),
        ('<p>a <span class="quote-inline">RE: <span>x<br>y</span></span>b</p>', "a b"),
    ],
)
def test_the_quote_post_fallback_is_dropped(content, text):
    assert html_to_text(content) == text


@pytest.mark.parametrize(
    "content, text",
    [
        # A link shown as its address without the scheme, as bridged posts show links.
        (
            '<p>look <a href="https://bsky.app/profile/ada.bsky.social/post/3kx">'
            "bsky.app/profile/ada.bsky.soc…</a> now</p>",
            "look https://bsky.app/profile/ada.bsky.social/post/3kx now",
        ),
        (
            '<p><a href="https://www.example.com/">example.com</a> ok</p>',
            "https://www.example.com/ ok",
        ),
        # A bridged post's short link shows another address: it is a link all the same.
        ('<p><a href="https://t.co/AbC">example.com/some/art…</a></p>', "https://t.co/AbC"),
        # Mentions, hashtags and prose links keep their text.
        (
            '<p><span class="h-card"><a href="https://e.w/@bob" class="u-url mention">@<span>'
            'bob</span></a></span> <a href="https://e.w/tags/tbt" class="mention hashtag" '
            'rel="tag">#<span>tbt</span></a> read the <a href="https://e.w/article">article'
            "</a></p>",
            "@bob #tbt read the article",
        ),
        ('<p><a href="mailto:a@b.org">a@b.org</a></p>', "a@b.org"),
    ],
)
def test_a_link_shown_without_its_scheme_is_still_a_link(content, text):
    assert html_to_text(content) == text


def test_a_quote_post_counts_only_the_authors_words(mastodon):
    from tweetbots.clean import clean_posts

    account = mastodon.add_account("ada", HOST)
    bob = {**account, "id": "77", "username": "bob", "acct": "bob@other.social"}
    quoted = mastodon_status(1, bob, "<p>the original point, well made</p>")
    quote = {"state": "accepted", "quoted_status": quoted}
    contents = [
        # Kept on both counts: three words of the author's own.
        f'<p class="quote-inline">RE: {mastodon_link(QUOTED, "other.social/@bob", "/1")}</p>'
        "<p>exactly my thought</p>",
        # Short: "so true" and nothing else the author wrote; the RE: line counted before.
        f'<p class="quote-inline">RE: {mastodon_link(QUOTED, "other.social/@bob", "/1")}</p>'
        "<p>so true</p>",
        # Short: the link shown without its scheme is removed like any link.
        '<p>see <a href="https://bsky.app/profile/x.bsky.social">bsky.app/profile/x.bsky.so'
        "…</a> here</p>",
    ]
    for number, content in enumerate(contents, start=2):
        mastodon.add_status(account, mastodon_status(number, account, content, quote=quote))
    posts = read_mastodon(f"@ada@{HOST}").posts
    kept, stats = clean_posts(posts)
    assert list(kept["text"]) == ["exactly my thought"]
    assert stats[f"ada@{HOST}"].short == 2


def test_retries_a_503_then_succeeds(mastodon, server):
    mastodon.add_account("ada", HOST, count=3)
    server.queue("/api/v1/accounts/lookup", Reply(503, {"error": "busy"}))
    assert len(read_mastodon(f"@ada@{HOST}").posts) == 3
    assert len(server.seen("/api/v1/accounts/lookup")) == 2


def test_gives_up_after_bounded_5xx(mastodon, server):
    mastodon.add_account("ada", HOST, count=3)
    server.queue("/api/v1/accounts/lookup", *[Reply(502)] * 10)
    with pytest.raises(SourceError) as error:
        read_mastodon(f"@ada@{HOST}")
    assert len(server.seen("/api/v1/accounts/lookup")) == client.POLICY.attempts
    one_line(error, "mastodon:@ada@example.social", "HTTP 502", "try again later")


def test_honours_retry_after_on_429(mastodon, server):
    account = mastodon.add_account("ada", HOST, count=3)
    path = f"/api/v1/accounts/{account['id']}/statuses"
    server.queue(path, Reply(429, {"error": "Too many requests"}, {"Retry-After": "1"}))
    assert len(read_mastodon(f"@ada@{HOST}").posts) == 3
    first, second = server.seen(path)[:2]
    assert second.at - first.at >= 0.95


def test_a_rate_limit_beyond_the_max_wait_fails_at_once(mastodon, server):
    mastodon.add_account("ada", HOST, count=3)
    reset = "2099-01-01T00:00:00.000Z"  # Mastodon's X-RateLimit-Reset is an ISO time
    server.queue(
        "/api/v1/accounts/lookup",
        Reply(429, {"error": "Too many requests"}, {"X-RateLimit-Reset": reset}),
    )
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        read_mastodon(f"@ada@{HOST}")
    assert time.monotonic() - started < 1
    assert len(server.seen("/api/v1/accounts/lookup")) == 1
    one_line(error, "@ada@example.social", "rate limited", "try again later")


def test_missing_account(mastodon):
    with pytest.raises(SourceError) as error:
        read_mastodon(f"@nobody@{HOST}")
    one_line(error, "mastodon:@nobody@example.social", "no such account", "check the user name")


@pytest.mark.parametrize("status", [401, 403])
def test_private_account_or_sign_in_required(mastodon, server, status):
    account = mastodon.add_account("ada", HOST, count=3)
    server.queue(
        f"/api/v1/accounts/{account['id']}/statuses",
        Reply(status, {"error": "This action is not allowed"}),
    )
    with pytest.raises(SourceError) as error:
        read_mastodon(f"@ada@{HOST}")
    one_line(error, "@ada@example.social", "not public", f"HTTP {status}", "file:PATH")


@pytest.mark.parametrize(
    "argument",
    [
        "",
        "ada",
        "@ada",
        "@ada@",
        "ada@localhost",
        "@ad a@example.social",
        "@ada@exa_mple.social",
        "@way_too_long_user_name_for_mastodon@x.social",
        "@ada@example.social@more",
        "@ada@-bad.social",
    ],
)
def test_bad_arguments_are_refused_before_any_request(argument, server, monkeypatch):
    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", server.url)
    with pytest.raises(SourceError) as error:
        read_mastodon(argument)
    one_line(error, repr(argument), "@user@instance")
    assert server.requests == []


def test_unreachable_instance_fails_after_bounded_retries(fast_retries, monkeypatch):
    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    waits: list[float] = []
    monkeypatch.setattr(client, "sleep", waits.append)
    with pytest.raises(SourceError) as error:
        read_mastodon(f"@ada@{HOST}")
    assert len(waits) == client.POLICY.attempts - 1
    assert waits == sorted(waits)  # exponential backoff
    one_line(error, "@ada@example.social", "failed 4 attempts", "network")


def test_read_source_dispatches_with_the_env_base_url(mastodon, server):
    mastodon.add_account("ada", HOST, count=2)
    batch = read_source(f"mastodon:@ada@{HOST}")
    assert list(batch.posts.columns) == RAW_COLUMNS and len(batch.posts) == 2
    assert str(batch.posts.dtypes["is_retweet"]) == "boolean"
    assert batch.profiles[0].user == f"ada@{HOST}"
    assert server.seen(STATUSES)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- fuzzing: any HTML, answers of any shape --------------------------------------------


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
