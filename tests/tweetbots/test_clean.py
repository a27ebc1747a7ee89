"""Cleaning rules, card statistics and text-volume thresholds."""

import html
import re
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tweetbots import clean
from tweetbots.clean import (
    MIN_CHARS,
    WARN_CHARS,
    CleanStats,
    NotEnoughTextError,
    clean_and_count,
    clean_posts,
    text_volume_warnings,
)
from tweetbots.sources import to_raw_frame

# -- the oracle: the rules written the obvious way, one text at a time -------------------


def reference_clean(text: str) -> str:
    """The original's link patterns, literally (shared/reference/huggingtweets.md)."""
    text = html.unescape(text)
    for scheme in ("http:", "https:"):
        text = re.sub(f" {scheme}\\S+", "", text)
        text = re.sub(f"{scheme}\\S+ ", "", text)
        text = re.sub(f"\n{scheme}\\S+ ", "", text)
        text = re.sub(f"\n{scheme}\\S+", "", text)
        text = re.sub(f"{scheme}\\S+", "", text)
    return " ".join(text.split())


def reference_count(text: str) -> int:
    words = [w.lower() for w in text.split()]
    return sum(1 for w in words if "http" not in w and "@" not in w and "#" not in w)


def cleaned(*texts: str) -> list[str]:
    return clean_and_count(pd.Series(texts, dtype="string"))[0].tolist()


def raw_posts(rows: list[tuple[str, str, bool]]) -> pd.DataFrame:
    """Raw-schema frame from (user, text, is_retweet) rows."""
    return to_raw_frame(
        pd.DataFrame(
            {
                "id": [str(i) for i in range(len(rows))],
                "user": [r[0] for r in rows],
                "created_at": pd.Timestamp("2022-01-01", tz="UTC"),
                "text": [r[1] for r in rows],
                "is_retweet": [r[2] for r in rows],
                "is_reply": False,
                "platform": "twitter",
                "url": None,
            }
        )
    )


# -- rule 1: entities ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fish &amp; chips", "fish & chips"),
        ("1 &lt; 2 &gt; 0", "1 < 2 > 0"),
        ("&amp;lt;", "&lt;"),  # one pass, like html.unescape
        ("&quot;hi&quot;", '"hi"'),
        ("it&#39;s", "it's"),
        ("&#x27;x&#X27;", "'x'"),
        ("caf&eacute; &hellip;", "café …"),
        ("AT&T & co", "AT&T & co"),
        ("&amp", "&"),  # html.unescape accepts some entities without the semicolon
        ("a&nbsp;b", "a b"),  # a decoded no-break space is whitespace
        ("x&#10;y", "x y"),
        ("&#0; &#xD800;", "\ufffd \ufffd"),
    ],
)
def test_entities_are_decoded_like_html_unescape(text, expected):
    assert cleaned(text) == [expected]


def test_entity_split_at_row_boundary_is_not_decoded():
    assert cleaned("a &am", "p; b") == ["a &am", "p; b"]


# -- rule 2: links ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://t.co/abc", ""),
        ("https://t.co/abc hello there", "hello there"),
        ("hello there https://t.co/abc", "hello there"),
        ("see https://t.co/abc here", "see here"),
        ("a http://x https://y b", "a b"),
        ("a http://xhttps://y b", "a b"),
        ("look http://x\nnext line", "look next line"),
        ("http://x\n\nnext", "next"),
        ("HTTPS://X.Y stays", "HTTPS://X.Y stays"),
        ("Http://x stays", "Http://x stays"),
        ("http without colon", "http without colon"),
        ("https//no-colon x", "https//no-colon x"),
        ("x https://a?b=&amp;c y", "x y"),
        ("http&#58;//x y", "y"),  # decoded first, then it is a link
        ("tab\thttp://x\tend", "tab end"),
        ("link\u00a0http://x\u3000end", "link end"),
        # `\S+`: a bare scheme with nothing after it is no link, as in the original
        ("http:", "http:"),
        ("a http: b", "a http: b"),
    ],
)
def test_links_are_removed(text, expected):
    assert cleaned(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The original's `LINK ` pattern takes the space after a link glued to the word
        # before it, joining that word to the next (shared/reference/huggingtweets.md).
        ("see:https://x.y/z tiny rain", "see:tiny rain"),
        ("(https://x.y) and more", "(and more"),
        ("foohttp:bar baz", "foobaz"),
        ("a:http://x b:https://y c", "a:b:c"),
        ("日本語https://t.co/x 次の文", "日本語次の文"),
        # Followed by anything but one space, or by nothing, a glued link goes alone.
        ("(https://x.y)", "("),
        ("see:https://x.y\nnext", "see: next"),
        ("see:https://x.y  two spaces", "see: two spaces"),
        ("see:https://x.y\u3000wide", "see: wide"),
        # Where the original's pattern order decides, the text is what its patterns give:
        # a later pattern takes the space first ...
        ("x:https://a http://b c", "x:c"),
        ("x:https://a\nhttp://b", "x:"),
        # ... a link inside a link takes the words after it ...
        ("https://a.org/?u=http://b.org more words", "words"),
        ("x https://w/http://z y z", "x z"),
        # ... and a join that spells a new link: a later pattern removes it, if any is left.
        ("htthttp://a p:x y", "y"),
        ("htthttps://a p:x y", "http:x y"),
    ],
)
def test_glued_links_follow_the_originals_pattern_order(text, expected):
    assert cleaned(text) == [expected] == [reference_clean(text)]


def test_a_glued_link_can_make_a_post_short():
    kept, stats = clean_posts(
        raw_posts([("ann", "see:https://x.y/z tiny rain", False), ("ann", "see: tiny rain", False)])
    )
    assert clean_and_count(pd.Series(["see:tiny rain"], dtype="string"))[1].tolist() == [2]
    assert kept["text"].tolist() == ["see: tiny rain"]
    assert stats["ann"] == CleanStats(downloaded=2, retweets=0, short=1, kept=1)


def test_link_prefix_split_across_rows_is_not_a_link():
    assert cleaned("ends with htt", "p:starts row", "http", ":x") == [
        "ends with htt",
        "p:starts row",
        "http",
        ":x",
    ]


# -- rule 3: whitespace --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  lead and trail  ", "lead and trail"),
        ("many     spaces", "many spaces"),
        ("new\nline\r\nand\ttab", "new line and tab"),
        ("\n\n\n", ""),
        ("", ""),
        ("x\x0by\x0cz\x1cw\x1fv", "x y z w v"),
        ("no\u2003break\u3000space\u2028sep\x85nel", "no break space sep nel"),
        ("emoji 😂🤖 ok", "emoji 😂🤖 ok"),
        ("rtl שלום   עולם مرحبا", "rtl שלום עולם مرحبا"),
        ("nul\x00byte \x01 kept", "nul\x00byte \x01 kept"),
        ("zero\u200bwidth", "zero\u200bwidth"),  # U+200B is not whitespace for str.split
    ],
)
def test_whitespace_is_collapsed(text, expected):
    assert cleaned(text) == [expected]


def test_missing_text_becomes_empty_and_index_is_kept():
    texts = pd.Series(["a  b", None], index=[10, 20], dtype="string")
    result = clean_and_count(texts)[0]
    assert result.tolist() == ["a b", ""]
    assert list(result.index) == [10, 20]
    assert isinstance(result.dtype, pd.StringDtype)


def test_lone_surrogates_do_not_crash():
    texts = pd.Series(["ok \ud800 x", "fine"], dtype=object)
    assert clean_and_count(texts)[0].tolist() == ["ok \ufffd x", "fine"]
    assert clean_and_count(texts)[1].tolist() == [3, 1]


def test_isspace_table_matches_python():
    """Rule 3 splits where `str.split()` does: every non-ASCII character `str.isspace()`
    accepts is a space to the byte rules (a run of two collapses), every other is kept."""
    chars = [chr(c) for c in range(0x80, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    expected = ["a b" if c.isspace() else f"a{c}{c}b" for c in chars]
    assert cleaned(*(f"a{c}{c}b" for c in chars)) == expected


def test_many_rows_cross_chunk_boundaries(monkeypatch):
    monkeypatch.setattr(clean, "CHUNK_ROWS", 7)
    texts = [f"row {i} &amp; https://x/{i} &hellip;  end" for i in range(50)]
    assert cleaned(*texts) == [reference_clean(t) for t in texts]


# -- rule 4: counted words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("one two three", 3),
        ("one two", 2),
        ("@someone #tag one two", 2),
        ("C# e@mail x#y plain", 1),  # `#` and `@` inside a word still disqualify it
        ("HTTPS://X.Y Http xhttpx words here", 2),
        ("htt p tp", 3),
        ("", 0),
        ("a\tb\nc  d", 4),
        ("😂 🤖 🔥", 3),
    ],
)
def test_counted_words(text, expected):
    assert clean_and_count(pd.Series([text], dtype="string"))[1].tolist() == [expected]


def test_counted_words_keeps_index():
    counts = clean_and_count(pd.Series(["a b", "c"], index=[5, 6], dtype="string"))[1]
    assert counts.to_dict() == {5: 2, 6: 1}


# -- clean_posts and its statistics ---------------------------------------------------------


def test_clean_posts_keeps_only_long_enough_non_retweets():
    raw = raw_posts(
        [
            ("ann", "one two three", False),  # exactly 3: kept
            ("ann", "one two @x #y", False),  # 2 counted: short
            ("ann", "RT @bob: one two three four", True),
            ("bob", "hello   world https://t.co/x\nagain", False),
            ("ann", "only https://t.co/x", False),
            ("cat", "RT @ann: nothing kept", True),
        ]
    )
    kept, stats = clean_posts(raw)
    assert kept["text"].tolist() == ["one two three", "hello world again"]
    assert kept["id"].tolist() == ["0", "3"]
    assert list(kept.columns) == list(raw.columns)
    assert list(stats) == ["ann", "bob", "cat"]
    assert stats["ann"] == CleanStats(downloaded=4, retweets=1, short=2, kept=1)
    assert stats["bob"] == CleanStats(downloaded=1, retweets=0, short=0, kept=1)
    assert stats["cat"] == CleanStats(downloaded=1, retweets=1, short=0, kept=0)


def test_clean_posts_empty_frame():
    kept, stats = clean_posts(raw_posts([]))
    assert kept.empty and stats == {}


def test_mentions_and_hashtags_stay_in_the_text():
    kept, _ = clean_posts(raw_posts([("a", "@bob look at #this one here", False)]))
    assert kept["text"].tolist() == ["@bob look at #this one here"]


def test_clean_stats_must_add_up():
    with pytest.raises(ValueError, match="short"):
        CleanStats(downloaded=5, retweets=1, short=1, kept=1)


# -- thresholds ----------------------------------------------------------------------------


def _volume_case(chars_by_user: dict[str, int]):
    rows = []
    for user, chars in chars_by_user.items():
        n_posts = max(1, chars // 100)
        per_post = (chars - (n_posts - 1)) // n_posts
        texts = ["a" * per_post] * n_posts
        texts[-1] = "a" * (chars - (n_posts - 1) - per_post * (n_posts - 1))
        rows += [(user, t, False) for t in texts]
    posts = raw_posts(rows)
    stats = {
        u: CleanStats(downloaded=int(n), retweets=0, short=0, kept=int(n))
        for u, n in posts["user"].value_counts(sort=False).items()
    }
    return posts, stats


def test_enough_text_gives_no_warning():
    posts, stats = _volume_case({"a": WARN_CHARS, "b": WARN_CHARS + 5})
    assert text_volume_warnings(posts, stats) == []


def test_under_warn_threshold_warns_per_user():
    posts, stats = _volume_case({"a": WARN_CHARS - 1, "b": WARN_CHARS, "c": MIN_CHARS})
    warnings = text_volume_warnings(posts, stats)
    assert len(warnings) == 2
    assert warnings[0].startswith("a: 39,999 characters") and "\n" not in warnings[0]
    assert warnings[1].startswith("c: 6,000 characters")


def test_under_min_threshold_fails_with_the_fix():
    posts, stats = _volume_case({"a": WARN_CHARS, "b": MIN_CHARS - 1})
    stats["c"] = CleanStats(downloaded=3, retweets=1, short=2, kept=0)
    with pytest.raises(NotEnoughTextError) as error:
        text_volume_warnings(posts, stats)
    message = str(error.value)
    assert "b: 5,999 characters" in message and "c: 0 characters in 0 of 3" in message
    assert "add more posts or another source" in message and "\n" not in message
    assert isinstance(error.value, ValueError)


# -- properties ----------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        " ",
        "  ",
        "\n",
        "\t",
        "\r\n",
        "\u3000",
        "\xa0",
        "\x1c",
        "http:",
        "https://",
        "HTTP://",
        "http",
        "&amp;",
        "&lt;",
        "&quot;",
        "&#39;",
        "&#x3a;",
        "&nbsp;",
        "&",
        "@",
        "#",
        "x",
        "word",
        "😂",
        "שלום",
        "\x00",
        "(",
        ")",
        ":",
        "t.co/ab",
        "a&b",
        "x:",
        "htt",
        "p:",
        "https://w/http://z",
        " \n",
    ]
)
_TEXTS = st.one_of(st.text(), st.lists(_PIECES, max_size=20).map("".join))
_ROWS = st.lists(
    st.tuples(st.sampled_from(["ann", "bob", "cat"]), _TEXTS, st.booleans()), max_size=30
)
_PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_PROPERTY_SETTINGS
@given(st.lists(_TEXTS, max_size=25))
def test_vectorised_clean_matches_reference(texts):
    assert cleaned(*texts) == [reference_clean(t) for t in texts]


@_PROPERTY_SETTINGS
@given(st.lists(_TEXTS, max_size=25))
def test_counted_words_matches_reference(texts):
    """Rule 4 counts the words of the cleaned text."""
    counts = clean_and_count(pd.Series(texts, dtype="string"))[1].tolist()
    assert counts == [reference_count(reference_clean(t)) for t in texts]


@_PROPERTY_SETTINGS
@given(_ROWS)
def test_clean_posts_properties(rows):
    kept, stats = clean_posts(raw_posts(rows))
    for text in kept["text"]:
        assert not re.search(r"https:\S", text)  # http: may be re-spelt by a join
        assert reference_count(text) >= 3
    for user, counts in stats.items():
        assert counts.downloaded == counts.retweets + counts.short + counts.kept
        assert counts.kept == int((kept["user"] == user).sum())
    assert list(stats) == list(dict.fromkeys(r[0] for r in rows))
    expected = [reference_clean(t) for _, t, rt in rows if not rt]
    assert kept["text"].tolist() == [t for t in expected if reference_count(t) >= 3]


@_PROPERTY_SETTINGS
@given(st.lists(_TEXTS, max_size=25))
def test_clean_is_idempotent(texts):
    once = cleaned(*texts)
    # Cleaning again is a no-op except where the first pass decoded text into a new
    # entity (`&amp;lt;` -> `&lt;`), which a second pass would decode again.
    stable = [t for t in once if "&" not in t]
    assert cleaned(*stable) == stable


def test_counts_are_numpy_ints():
    assert clean_and_count(pd.Series(["a b c"], dtype="string"))[1].dtype == np.int64
