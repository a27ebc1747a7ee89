"""The X archive reader against archives written to disk in X's own layout."""

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tweetbots.sources import SourceError, read_source
from tweetbots.sources.archive import read_archive

ACCOUNT = {
    "account": {"username": "ada_posts", "accountDisplayName": "Ada ✨ Lovelace", "accountId": "42"}
}
PROFILE = {
    "profile": {"description": {"bio": "numbers"}, "avatarMediaUrl": "https://example.org/ada.png"}
}


def tweet(
    tweet_id: str,
    text: str,
    created: str = "Wed Oct 10 20:19:24 +0000 2018",
    reply_to: str | None = None,
) -> dict:
    body = {
        "id_str": tweet_id,
        "id": tweet_id,
        "full_text": text,
        "created_at": created,
        "retweeted": False,
    }
    if reply_to:
        body["in_reply_to_status_id_str"] = reply_to
    return {"tweet": body}


def js(name: str, items: list, part: int = 0) -> str:
    return f"window.YTD.{name}.part{part} = " + json.dumps(items, indent=2, ensure_ascii=False)


TWEETS = [
    tweet("1001", "Analytical engines &amp; looms are cousins"),
    tweet("1002", "RT @charles: the difference engine works"),
    tweet(
        "1003",
        "@charles agreed, the notes are longer than the paper",
        "Thu Oct 11 08:00:00 +0000 2018",
        reply_to="999",
    ),
]


def write_data(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def basic_files(tweets: list | None = None) -> dict[str, str]:
    return {
        "account.js": js("account", [ACCOUNT]),
        "profile.js": js("profile", [PROFILE]),
        "tweets.js": js("tweets", TWEETS if tweets is None else tweets),
    }


def write_zip(path: Path, files: dict[str, str], prefix: str = "data/") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(prefix + name, content)
    return path


def assert_one_line_naming(error: pytest.ExceptionInfo, name: str) -> str:
    message = str(error.value)
    assert "\n" not in message
    assert name in message
    return message


def test_reads_posts_flags_and_profile_from_a_zip(tmp_path):
    path = write_zip(tmp_path / "twitter-2024.zip", basic_files())
    batch = read_source(f"archive:{path}")
    posts = batch.posts
    assert list(posts["id"]) == ["1001", "1002", "1003"]
    assert set(posts["user"]) == {"ada_posts"}
    assert set(posts["platform"]) == {"twitter"}
    assert list(posts["is_retweet"]) == [False, True, False]
    assert list(posts["is_reply"]) == [False, False, True]
    assert posts["text"][0] == "Analytical engines &amp; looms are cousins"  # kept encoded
    assert posts["url"][0] == "https://x.com/ada_posts/status/1001"
    assert posts["created_at"][0] == pd.Timestamp("2018-10-10 20:19:24", tz="UTC")
    assert str(posts["created_at"].dtype) == "datetime64[us, UTC]"
    [profile] = batch.profiles
    assert (profile.user, profile.display_name, profile.avatar_url) == (
        "ada_posts",
        "Ada ✨ Lovelace",
        "https://example.org/ada.png",
    )
    assert profile.profile_url == "https://x.com/ada_posts"


@pytest.mark.parametrize("form", ["extracted folder", "data folder", "bare tweets.js"])
def test_every_form_of_the_archive_reads_the_same(tmp_path, form):
    data = write_data(tmp_path / "archive" / "data", basic_files())
    argument = {
        "extracted folder": data.parent,
        "data folder": data,
        "bare tweets.js": data / "tweets.js",
    }[form]
    batch = read_archive(str(argument))
    assert list(batch.posts["id"]) == ["1001", "1002", "1003"]
    assert batch.profiles[0].user == "ada_posts"


def test_zip_with_an_extra_top_folder(tmp_path):
    path = write_zip(tmp_path / "a.zip", basic_files(), prefix="twitter-2024-01-01/data/")
    assert len(read_archive(str(path)).posts) == 3


def test_multi_part_and_old_file_names(tmp_path):
    files = basic_files()
    files["tweets-part1.js"] = js("tweets", [tweet("2001", "part one post here")], part=1)
    files["tweets-part2.js"] = js("tweets", [tweet("3001", "part two post here")], part=2)
    ids = list(read_archive(str(write_data(tmp_path / "new", files))).posts["id"])
    assert ids == ["1001", "1002", "1003", "2001", "3001"]

    old = {"account.js": files["account.js"], "tweet.js": js("tweet", TWEETS)}
    assert len(read_archive(str(write_data(tmp_path / "old", old))).posts) == 3


def test_files_that_are_not_posts_are_ignored(tmp_path):
    files = basic_files()
    files["deleted-tweets.js"] = js("deleted_tweets", [tweet("9", "gone")])
    files["tweet-headers.js"] = "window.YTD.tweet_headers.part0 = [ {} ]"
    assert len(read_archive(str(write_data(tmp_path / "d", files))).posts) == 3


def test_pre_2020_archives_without_the_tweet_envelope(tmp_path):
    files = basic_files([t["tweet"] for t in TWEETS])
    assert len(read_archive(str(write_data(tmp_path / "d", files))).posts) == 3


def test_a_note_tweet_replaces_its_truncated_post(tmp_path):
    full = "A long post about engines &amp; cards. " * 12
    truncated = full[:250].rstrip() + "… https://t.co/abcdef"
    other = "A long post about something else entirely, not truncated at all"
    tweets = [
        tweet("1", truncated, "Mon Jan 02 10:00:30 +0000 2023"),
        tweet("2", other, "Mon Jan 02 10:00:30 +0000 2023"),
        tweet("3", truncated, "Mon Jan 09 10:00:30 +0000 2023"),
    ]  # a week apart
    note = {
        "noteTweet": {
            "noteTweetId": "77",
            "createdAt": "2023-01-02T10:00:00.000Z",
            "core": {"text": full.strip()},
        }
    }
    files = {**basic_files(tweets), "note-tweet.js": js("note_tweet", [note])}
    texts = list(read_archive(str(write_data(tmp_path / "d", files))).posts["text"])
    assert texts == [full.strip(), other, truncated]


# -- long posts as X exports them -------------------------------------------------------
# A long post's entry in tweets.js holds its first ~275 characters, an ellipsis and t.co
# links (the post's own "Show more" link; a quoted post's; media's), with `edit_info` and
# `entities` like every post. Its note in note-tweet.js holds the whole text, its own t.co
# links and `createdAt` (the post's time), under `noteTweetId`, a snowflake of that time.

_EPOCH_MS = 1288834974657


def snowflake(when: str, sequence: int = 0) -> str:
    """An X id made at `when` (ISO, UTC), as X makes them: milliseconds << 22."""
    millis = int(pd.Timestamp(when).timestamp() * 1000) - _EPOCH_MS
    return str((millis << 22) | sequence)


def twitter_time(when: str) -> str:
    return pd.Timestamp(when).strftime("%a %b %d %H:%M:%S +0000 %Y")


def long_tweet(when: str, stored: str, links: list[str], reply_to: str | None = None, **extra):
    """A long post's tweets.js entry: `stored` (its start and the ellipsis), then links."""
    post_id = snowflake(when, 1)
    entry = tweet(post_id, " ".join([stored, *links]), twitter_time(when), reply_to)
    entry["tweet"].update(
        {
            "edit_info": {"initial": {"editTweetIds": [post_id], "editsRemaining": "5"}},
            "display_text_range": ["0", str(len(stored))],
            "entities": {
                "urls": [
                    {"url": link, "expanded_url": f"https://x.com/i/web/status/{post_id}"}
                    for link in links
                ],
            },
            **extra,
        }
    )
    return entry


def note_tweet(when: str, text: str, updated: str | None = None, sequence: int = 0) -> dict:
    """A note-tweet.js entry as X writes it."""
    return {
        "noteTweet": {
            "noteTweetId": snowflake(when, sequence),
            "updatedAt": pd.Timestamp(updated or when).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "lifecycle": {"value": "1", "name": "Published", "originalName": "Published"},
            "createdAt": pd.Timestamp(when).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "core": {
                "styletags": [],
                "urls": [],
                "text": text,
                "mentions": [],
                "cashtags": [],
                "hashtags": [],
            },
        }
    }


LONG_TEXT = (
    "Thread on engines. The analytical engine would weave algebraic patterns just as "
    "the Jacquard loom weaves flowers and leaves, and I have written notes on it longer "
    "than the paper they annotate. Note G sets out how it would compute Bernoulli "
    "numbers, step by step, with every variable card shown. Nobody has built it yet, "
    "but the method is sound and the tables are in the appendix."
)


def read_long_posts(tmp_path, tweets: list[dict], notes: list[dict]) -> list[str]:
    files = {**basic_files(tweets), "note-tweet.js": js("note_tweet", notes)}
    return list(read_archive(str(write_data(tmp_path / "d", files))).posts["text"])


def test_a_long_reply_keeps_its_handles_before_the_notes_text(tmp_path):
    when = "2024-02-03T14:05:09Z"
    stored = "@charles @mary_s " + LONG_TEXT[:250] + "…"
    posts = [long_tweet(when, stored, ["https://t.co/Rp1"], reply_to="1700000000000000000")]
    texts = read_long_posts(tmp_path, posts, [note_tweet(when, LONG_TEXT)])
    assert texts == ["@charles @mary_s " + LONG_TEXT]


def test_links_that_differ_between_the_two_files_still_match(tmp_path):
    when = "2024-02-03T14:05:09Z"
    full = "See https://t.co/NoteLink1 for the tables. " + LONG_TEXT
    stored = "See https://t.co/PostLnk2 for the tables. " + LONG_TEXT[:230] + "…"
    posts = [long_tweet(when, stored, ["https://t.co/Self3"])]
    assert read_long_posts(tmp_path, posts, [note_tweet(when, full)]) == [full]


def test_a_quote_link_and_a_media_link_after_the_ellipsis(tmp_path):
    when = "2024-02-03T14:05:09Z"
    stored = LONG_TEXT[:260] + "…"
    posts = [long_tweet(when, stored, ["https://t.co/Quote1", "https://t.co/Media2"])]
    assert read_long_posts(tmp_path, posts, [note_tweet(when, LONG_TEXT)]) == [LONG_TEXT]


def test_a_note_never_lands_on_the_wrong_post(tmp_path):
    when = "2024-02-03T14:05:09Z"
    other_full = "Thread on looms. " + LONG_TEXT.replace("engine", "loom")
    posts = [
        # the same second and the note's first words, but no ellipsis: a post of its own
        tweet(snowflake(when, 0), "Thread on engines.", twitter_time(when)),
        long_tweet(when, LONG_TEXT[:250] + "…", ["https://t.co/A1"]),
        long_tweet(when, other_full[:250] + "…", ["https://t.co/B2"]),
        # the same start a week later: its own note is missing, so it stays truncated
        long_tweet("2024-02-10T14:05:09Z", LONG_TEXT[:250] + "…", ["https://t.co/C3"]),
    ]
    notes = [note_tweet(when, other_full, sequence=2), note_tweet(when, LONG_TEXT, sequence=3)]
    texts = read_long_posts(tmp_path, posts, notes)
    assert texts == [
        "Thread on engines.",
        LONG_TEXT,
        other_full,
        LONG_TEXT[:250] + "… https://t.co/C3",
    ]


# -- edited posts -------------------------------------------------------------------------


def edited(versions: list[tuple[str, str]]) -> list[dict]:
    """Every version of one edited post as tweets.js holds them: (time, text) oldest first."""
    ids = [snowflake(when, 5) for when, _ in versions]
    entries = []
    for index, (when, text) in enumerate(versions):
        entry = tweet(ids[index], text, twitter_time(when))
        control = {"editTweetIds": ids, "editableUntil": "2024-03-01T11:00:00.000Z"}
        entry["tweet"]["edit_info"] = (
            {"initial": {**control, "editsRemaining": "4", "isEditEligible": True}}
            if index == 0
            else {"edit": {"initialTweetId": ids[0], "editControlInitial": control}}
        )
        entries.append(entry)
    return entries


def test_an_edited_post_is_read_once_in_its_latest_version(tmp_path):
    versions = edited(
        [
            ("2024-03-01T10:00:00Z", "I have a typo in this psot"),
            ("2024-03-01T10:02:00Z", "I have a typo in this post"),
            ("2024-03-01T10:07:30Z", "I had a typo in this post, fixed now"),
        ]
    )
    when = "2024-03-02T09:00:00Z"
    unedited = tweet(snowflake(when), "never edited, this one", twitter_time(when))
    unedited["tweet"]["edit_info"] = {"initial": {"editTweetIds": [unedited["tweet"]["id_str"]]}}
    # The archive lists them newest first, but in no order that matters.
    tweets = [unedited, versions[2], versions[0], versions[1], *TWEETS]
    batch = read_archive(str(write_data(tmp_path / "d", basic_files(tweets))))
    posts = batch.posts
    assert list(posts["text"]) == [
        "never edited, this one",
        "I had a typo in this post, fixed now",
        *(t["tweet"]["full_text"] for t in TWEETS),
    ]
    assert posts["id"].iloc[1] == versions[2]["tweet"]["id_str"]


def test_a_later_version_whose_first_is_missing_is_still_read_once(tmp_path):
    versions = edited(
        [
            ("2024-03-01T10:00:00Z", "first words"),
            ("2024-03-01T10:01:00Z", "second words"),
            ("2024-03-01T10:02:00Z", "third words"),
        ]
    )
    # The first version was deleted from the archive: the other two still share it.
    batch = read_archive(str(write_data(tmp_path / "d", basic_files(versions[1:]))))
    assert list(batch.posts["text"]) == ["third words"]


def test_an_edited_long_post_gets_its_latest_full_text(tmp_path):
    first, later = "2024-03-01T10:00:00Z", "2024-03-01T10:20:00Z"
    new_text = LONG_TEXT.replace("Nobody has built it yet", "Charles is building it")
    versions = edited([(first, LONG_TEXT[:250] + "… https://t.co/V1"), (later, "")])
    versions[1]["tweet"]["full_text"] = new_text[:250] + "… https://t.co/V2"
    # One note for the post, updated in place when it was edited.
    texts = read_long_posts(tmp_path, versions, [note_tweet(first, new_text, updated=later)])
    assert texts == [new_text]


def test_profile_js_is_optional(tmp_path):
    files = basic_files()
    del files["profile.js"]
    [profile] = read_archive(str(write_data(tmp_path / "d", files))).profiles
    assert profile.avatar_url is None and profile.display_name == "Ada ✨ Lovelace"


def test_missing_path(tmp_path):
    missing = tmp_path / "nowhere.zip"
    with pytest.raises(SourceError) as error:
        read_archive(str(missing))
    assert "does not exist" in assert_one_line_naming(error, str(missing))


def test_not_a_zip(tmp_path):
    path = tmp_path / "archive.zip"
    path.write_text("this is not a zip file")
    with pytest.raises(SourceError) as error:
        read_archive(str(path))
    assert "not a zip" in assert_one_line_naming(error, str(path))


def test_corrupt_zip(tmp_path):
    path = write_zip(tmp_path / "archive.zip", basic_files())
    blob = bytearray(path.read_bytes())
    start = blob.index(b"window.YTD")  # stored uncompressed: flip the content, keep the CRC
    blob[start : start + 6] = b"XXXXXX"
    path.write_bytes(bytes(blob))
    with pytest.raises(SourceError) as error:
        read_archive(str(path))
    assert "corrupt" in assert_one_line_naming(error, str(path))


def test_zip_without_tweets(tmp_path):
    files = basic_files()
    del files["tweets.js"]
    path = write_zip(tmp_path / "archive.zip", files)
    with pytest.raises(SourceError) as error:
        read_archive(str(path))
    assert "no tweets.js" in assert_one_line_naming(error, str(path))


@pytest.mark.parametrize(
    "garbage",
    [
        'window.YTD.tweets.part0 = [ {"tweet" : {"id_str" : "1", "full_te',  # truncated
        "<html>not found</html>",
        'window.YTD.tweets.part0 = {"tweet": 1}',
        'window.YTD.tweets.part0 = [ {"tweet": {"id_str": "1"}} ]',  # no text
    ],
)
def test_garbage_tweets_js_names_the_file(tmp_path, garbage):
    files = {**basic_files(), "tweets-part1.js": garbage}
    folder = write_data(tmp_path / "d", files)
    with pytest.raises(SourceError) as error:
        read_archive(str(folder))
    assert "tweets-part1.js" in assert_one_line_naming(error, str(folder))


def test_missing_account_says_the_archive_is_incomplete(tmp_path):
    files = basic_files()
    del files["account.js"]
    path = write_zip(tmp_path / "archive.zip", files)
    with pytest.raises(SourceError) as error:
        read_archive(str(path))
    message = assert_one_line_naming(error, str(path))
    assert "incomplete" in message and "account.js" in message


def test_empty_archive_gives_an_empty_frame_in_the_raw_schema(tmp_path):
    path = write_zip(tmp_path / "archive.zip", basic_files(tweets=[]))
    posts = read_source(f"archive:{path}").posts
    assert len(posts) == 0
    assert list(posts.columns) == [
        "id",
        "user",
        "created_at",
        "text",
        "is_retweet",
        "is_reply",
        "platform",
        "url",
    ]
