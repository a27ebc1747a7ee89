"""`tweetbots stats` on network sources, against local servers speaking the documented APIs.

Every account holds a page-crossing run of plain posts (kept: three words each) plus a few
posts built so that each rule decides their fate; the expected counts are worked out by
hand in the comments, not by the cleaning code under test.
"""

import json
import zipfile

from typer.testing import CliRunner

from flows.cli import app
from tests.fakes.social import (
    bluesky_post,
    bluesky_profile,
    mastodon_account,
    mastodon_status,
    repost_item,
)

runner = CliRunner()

MASTODON_HOST = "example.social"
BLUESKY_HANDLE = "alice.bsky.social"
BLUESKY_DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
PLAIN_POSTS = 50  # "post number n" / "skeet number n": 3 words, kept; more than a page


def _stats_json(*sources: str) -> dict:
    arguments = ["stats", "--json"]
    for source in sources:
        arguments += ["--source", source]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _mastodon_link(url: str) -> str:
    """A link the way Mastodon renders one: the scheme and the overflow in hidden spans."""
    scheme, rest = url.split("://")
    return (
        f'<a href="{url}" rel="nofollow noopener" target="_blank">'
        f'<span class="invisible">{scheme}://</span><span class="">{rest}</span>'
        '<span class="invisible"></span></a>'
    )


def _mastodon_mention(user: str, host: str) -> str:
    return (
        f'<span class="h-card"><a href="https://{host}/@{user}" class="u-url mention">'
        f"@<span>{user}</span></a></span>"
    )


def _add_mastodon_account(mastodon) -> None:
    account = mastodon.add_account("ada", MASTODON_HOST, count=PLAIN_POSTS)
    friend = mastodon_account("77", "bob", "other.social")
    boosted = mastodon_status(900, friend, "<p>a long post by somebody else entirely</p>")
    contents = {
        # kept: tags dropped, 7 words
        "<p>Hello friends, this is a <strong>lovely</strong> morning</p>": {},
        # kept: <br> and paragraphs are whitespace, 6 words
        "<p>line one<br>line two</p><p>line three</p>": {},
        # kept: a reply; the mention does not count, "thanks a lot" does
        f"<p>{_mastodon_mention('bob', 'other.social')} thanks a lot</p>": {
            "in_reply_to_id": "109999999999999999"
        },
        # short: the link is removed, "read this" is 2 words
        f"<p>read this {_mastodon_link('https://example.com/some/article')}</p>": {},
        # short: the hashtag does not count, "so good" is 2 words
        '<p><a href="https://example.social/tags/tbt" class="mention hashtag">#<span>tbt'
        "</span></a> so good</p>": {},
        # short: an image-only status has empty content
        "": {"media_attachments": [{"type": "image", "description": "a cat on a mat"}]},
        # retweets: a boost's own content is empty, the text is the boosted post's
        "<!-- boost 1 -->": {"reblog": boosted},
        "<!-- boost 2 -->": {"reblog": mastodon_status(901, friend, "<p>x</p>")},
    }
    for number, (content, extra) in enumerate(contents.items(), start=PLAIN_POSTS):
        shown = "" if "reblog" in extra else content
        mastodon.add_status(account, mastodon_status(number, account, shown, **extra))


def test_stats_of_a_mastodon_account(mastodon, server):
    _add_mastodon_account(mastodon)
    counts = _stats_json(f"mastodon:@ada@{MASTODON_HOST}")
    # 50 plain + 8 built: 2 boosts, 3 short (link, hashtag, image-only), 3 kept.
    assert counts == {
        f"ada@{MASTODON_HOST}": {"downloaded": 58, "retweets": 2, "short": 3, "kept": 53}
    }
    assert len(server.seen(r"/api/v1/accounts/\w+/statuses")) >= 2  # paged: 40 a page


def _reply_to(parent: dict) -> dict:
    ref = {"uri": parent["uri"], "cid": parent["cid"]}
    return {"reply": {"root": ref, "parent": ref}}


def _link_facet(text: str, shown: str, url: str) -> list[dict]:
    start = text.encode().index(shown.encode())
    return [
        {
            "index": {"byteStart": start, "byteEnd": start + len(shown.encode())},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
        }
    ]


def _add_bluesky_account(bluesky) -> None:
    alice = bluesky.add_profile(BLUESKY_HANDLE, BLUESKY_DID, count=PLAIN_POSTS * 3)
    bob = bluesky_profile("bob.bsky.social", "did:plc:bobbobbobbobbobbobbobbob")
    bobs_post = bluesky_post(bob, 500, "a long post by somebody else entirely")
    n = PLAIN_POSTS * 3
    link_text = "read this example.com/some/art..."
    posts = [
        # kept: 6 words
        bluesky_post(alice, n, "just baked a lovely loaf today"),
        # kept: a reply; the mention does not count, "that is great news" does
        bluesky_post(alice, n + 1, "@bob.bsky.social that is great news", **_reply_to(bobs_post)),
        # short: a reply of 2 counted words
        bluesky_post(alice, n + 2, "@bob.bsky.social yes indeed", **_reply_to(bobs_post)),
        # short: the facet's full URL replaces the shortened one and is removed: 2 words
        bluesky_post(
            alice,
            n + 3,
            link_text,
            facets=_link_facet(link_text, "example.com/some/art...", "https://example.com/a"),
        ),
        # short: 2 words, one of them an emoji
        bluesky_post(alice, n + 4, "ok 👍"),
    ]
    for post in posts:
        bluesky.add_item(alice, {"post": post})
    bluesky.add_item(alice, repost_item(alice, bobs_post, minutes=n + 5))  # a retweet


def test_stats_of_a_bluesky_account(bluesky, server):
    _add_bluesky_account(bluesky)
    counts = _stats_json(f"bluesky:{BLUESKY_HANDLE}")
    # 150 plain + 6 built: 1 repost, 3 short (short reply, link, emoji), 2 kept.
    assert counts == {BLUESKY_HANDLE: {"downloaded": 156, "retweets": 1, "short": 3, "kept": 152}}
    assert len(server.seen("/xrpc/app.bsky.feed.getAuthorFeed")) >= 2  # paged: 100 a page


def test_stats_of_a_cyborg_has_one_column_per_user(mastodon, bluesky, tmp_path):
    _add_mastodon_account(mastodon)
    _add_bluesky_account(bluesky)
    csv = tmp_path / "carol.csv"
    csv.write_text(
        "id,text\n"
        "c1,RT @ada: a retweet with plenty of words\n"  # retweet by prefix
        "c2,three whole words\n"  # kept
        "c3,two words https://t.co/x\n"  # short
    )
    sources = [f"file:{csv}", f"mastodon:@ada@{MASTODON_HOST}", f"bluesky:{BLUESKY_HANDLE}"]
    arguments = ["stats"] + [a for s in sources for a in ("--source", s)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == f"| Data | carol | ada@{MASTODON_HOST} | {BLUESKY_HANDLE} |"
    assert "| Tweets downloaded | 3 | 58 | 156 |" in lines
    assert "| Retweets | 1 | 2 | 1 |" in lines
    assert "| Short tweets | 1 | 3 | 3 |" in lines
    assert "| Tweets kept | 1 | 53 | 152 |" in lines


def test_stats_counts_the_same_ids_of_two_users_for_each(tmp_path):
    for user, texts in (("ann", ["one two three", "four five six"]), ("ben", ["a b c"] * 3)):
        rows = "".join(f"{i},{text}\n" for i, text in enumerate(texts))
        (tmp_path / f"{user}.csv").write_text("id,text\n" + rows)
    counts = _stats_json(f"file:{tmp_path / 'ann.csv'}", f"file:{tmp_path / 'ben.csv'}")
    assert {user: c["downloaded"] for user, c in counts.items()} == {"ann": 2, "ben": 3}


def test_stats_of_glued_links_match_the_original(tmp_path):
    csv = tmp_path / "dana.csv"
    csv.write_text(
        "id,text\n"
        "1,see:https://x.y/z tiny rain\n"  # short: "see:tiny rain", the space goes too
        "2,look:https://t.co/a nice day\n"  # short: "look:nice day"
        "3,see: https://x.y/z tiny rain\n"  # kept: "see: tiny rain", 3 words
        "4,(https://x.y) and more\n"  # short: "(and more", 2 words
    )
    counts = _stats_json(f"file:{csv}")
    assert counts == {"dana": {"downloaded": 4, "retweets": 0, "short": 3, "kept": 1}}


def _archive_js(name: str, items: list) -> str:
    return f"window.YTD.{name}.part0 = " + json.dumps(items, indent=2)


def test_stats_of_an_x_archive_count_an_edited_post_once(tmp_path):
    versions = ["1780000000000000001", "1780000000000000002", "1780000000000000003"]
    control = {"editTweetIds": versions}
    texts = ["I have a typo in this psot", "I have a typo in this post", "fixed the typo, finally"]
    edited = [
        {
            "id_str": version,
            "full_text": text,
            "created_at": f"Fri Mar 01 10:0{n}:00 +0000 2024",
            "edit_info": {"initial": control}
            if n == 0
            else {"edit": {"initialTweetId": versions[0], "editControlInitial": control}},
        }
        for n, (version, text) in enumerate(zip(versions, texts, strict=True))
    ]
    others = [
        {"id_str": "1780000000000000010", "full_text": "RT @bob: words of bob here"},
        {"id_str": "1780000000000000011", "full_text": "ok then"},
        {"id_str": "1780000000000000012", "full_text": "three plain words"},
    ]
    path = tmp_path / "twitter-2024.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "data/account.js", _archive_js("account", [{"account": {"username": "eve"}}])
        )
        archive.writestr(
            "data/tweets.js", _archive_js("tweets", [{"tweet": t} for t in edited + others])
        )
    counts = _stats_json(f"archive:{path}")
    # 3 posts + 1 edited post (3 versions, read once): 1 retweet, 1 short, 2 kept.
    assert counts == {"eve": {"downloaded": 4, "retweets": 1, "short": 1, "kept": 2}}
