"""The demo's sample archives: deterministic, readable as X archives, and rich enough to
exercise every cleaning rule while leaving each user more than 40,000 kept characters."""

import html
import re
import zipfile

import pytest

from tweetbots.demo_data import write_sample_archives
from tweetbots.sources import read_source

_LINK = re.compile(r"https?:\S+")


def reference_clean(text: str) -> str:
    """The original's cleaning (shared/reference/huggingtweets.md), written plainly."""
    return " ".join(_LINK.sub(" ", html.unescape(text)).split())


def is_kept(text: str) -> bool:
    words = [w for w in text.split() if not any(m in w.lower() for m in ("http", "@", "#"))]
    return len(words) >= 3


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    return write_sample_archives(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def batches(archives):
    return {path.stem: read_source(f"archive:{path}") for path in archives}


def test_two_writes_are_byte_identical(archives, tmp_path):
    again = write_sample_archives(tmp_path)
    assert [p.name for p in again] == [p.name for p in archives]
    for first, second in zip(archives, again, strict=True):
        assert first.read_bytes() == second.read_bytes()


def test_three_fictional_users_with_profiles(archives, batches):
    assert [p.stem for p in archives] == ["maya_bakes", "ollie_stargazes", "priya_pedals"]
    for user, batch in batches.items():
        [profile] = batch.profiles
        assert profile.user == user and profile.platform == "twitter"
        assert profile.avatar_url == f"https://example.org/avatars/{user}.png"
        assert set(batch.posts["user"]) == {user}
    assert batches["maya_bakes"].profiles[0].display_name == "Maya 🍞 Okafor"


def test_archive_layout_exercises_multi_part_and_note_tweets(archives):
    names = {p.stem: set(zipfile.ZipFile(p).namelist()) for p in archives}
    assert all(
        {"data/account.js", "data/profile.js", "data/tweets.js"} <= n for n in names.values()
    )
    assert "data/tweets-part1.js" in names["ollie_stargazes"]
    assert "data/note-tweet.js" in names["maya_bakes"]


def test_the_note_tweet_is_read_in_full(batches):
    texts = batches["maya_bakes"].posts["text"]
    long = texts[texts.str.len() > 280]
    assert len(long) == 1
    assert "…" not in long.iloc[0] and long.iloc[0].endswith("No shame, just toast.")


@pytest.mark.parametrize("user", ["maya_bakes", "ollie_stargazes", "priya_pedals"])
def test_each_user_exercises_every_cleaning_rule(batches, user):
    posts = batches[user].posts
    text = posts["text"]
    assert 650 <= len(posts) <= 750 and posts["id"].is_unique
    assert posts["created_at"].notna().all()
    assert 30 <= posts["is_retweet"].sum() <= 100
    assert posts["is_reply"].sum() >= 60
    for needle in (
        "&amp;",
        "&lt;",
        "&gt;",
        "&quot;",
        "https://t.co/",
        "(https://t.co/",
        "\n",
        "#",
        " @",
    ):
        assert text.str.contains(needle, regex=False).any(), needle
    assert text.str.contains(r"[\U0001F300-\U0001FAFF]").any()  # emoji

    rest = text[~posts["is_retweet"].astype(bool)].map(reference_clean)
    kept = rest[rest.map(is_kept)]
    short = len(rest) - len(kept)
    assert 20 <= short <= 100
    assert len(" ".join(kept)) > 40_000  # no low-data warning in the demo


def test_kept_text_has_a_recognisable_voice(batches):
    voices = {"maya_bakes": "sourdough", "ollie_stargazes": "Jupiter", "priya_pedals": "bike lane"}
    for user, word in voices.items():
        for other, batch in batches.items():
            found = batch.posts["text"].str.contains(word, regex=False).sum()
            assert (found > 20) if other == user else (found == 0), (user, other)
