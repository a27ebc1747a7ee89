"""The X archive reader against archives written to disk in X's own layout: what it reads,
the bounds it reads within (zip bombs, lying headers, odd layouts), and fuzzed archives."""

import json
import os
import struct
import subprocess
import sys
import tempfile
import textwrap
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.checks import one_line
from tests.fakes.fuzz import FUZZ, TEXT, assert_valid_or_our_error, field
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
    assert "does not exist" in one_line(error, str(missing))


def test_not_a_zip(tmp_path):
    path = tmp_path / "archive.zip"
    path.write_text("this is not a zip file")
    with pytest.raises(SourceError) as error:
        read_archive(str(path))
    assert "not a zip" in one_line(error, str(path))


def test_corrupt_zip(tmp_path):
    path = write_zip(tmp_path / "archive.zip", basic_files())
    blob = bytearray(path.read_bytes())
    start = blob.index(b"window.YTD")  # stored uncompressed: flip the content, keep the CRC
    blob[start : start + 6] = b"XXXXXX"
    path.write_bytes(bytes(blob))
    with pytest.raises(SourceError) as error:
        read_archive(str(path))
    assert "corrupt" in one_line(error, str(path))


def test_zip_without_tweets(tmp_path):
    files = basic_files()
    del files["tweets.js"]
    path = write_zip(tmp_path / "archive.zip", files)
    with pytest.raises(SourceError) as error:
        read_archive(str(path))
    assert "no tweets.js" in one_line(error, str(path))


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
    assert "tweets-part1.js" in one_line(error, str(folder))


def test_missing_account_says_the_archive_is_incomplete(tmp_path):
    files = basic_files()
    del files["account.js"]
    path = write_zip(tmp_path / "archive.zip", files)
    with pytest.raises(SourceError) as error:
        read_archive(str(path))
    message = one_line(error, str(path))
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


# -- bounds: zip bombs, lying headers, oversized files, odd layouts ---------------------


# Archives are read within bounds: each ends in one line. The memory tests run the reader
# in a fresh process and compare its peak resident set before and after the read
# (`ru_maxrss`), which counts zlib's buffers too.


BOUNDS_ACCOUNT_JS = "window.YTD.account.part0 = " + json.dumps(
    [{"account": {"username": "ada_posts", "accountId": "42"}}]
)
MIB = 2**20
MAX_READ_ENV = "TWEETBOTS_ARCHIVE_MAX_MB"  # the documented setting, by its name


def tweets_js(count: int) -> str:
    tweets = [
        {"tweet": {"id_str": str(i), "full_text": f"post number {i} about engines and looms"}}
        for i in range(count)
    ]
    return "window.YTD.tweets.part0 = " + json.dumps(tweets, indent=2)


def deflated_zeros(mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of `mib` MiB of zeros and its CRC, in well under a second:
    one fully flushed block (no back-references) repeated, then an empty final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(bytes(MIB), crc)
    return block * mib + b"\x03\x00", crc


def raw_zip(path: Path, members: dict[str, tuple[int, bytes, int, int]], flags: int = 0) -> Path:
    """A zip written byte by byte: name -> (method, payload, crc, declared size), so a
    test can declare what it likes."""
    body, central = bytearray(), bytearray()
    for name, (method, payload, crc, size) in members.items():
        encoded, offset = name.encode(), len(body)
        fields = (method, 0, 33, crc, len(payload), size, len(encoded), 0)
        body += struct.pack("<4s3H2H3L2H", b"PK\x03\x04", 20, flags, *fields) + encoded + payload
        central += struct.pack(
            "<4s4H2H3L5H2L", b"PK\x01\x02", 20, 20, flags, *fields, 0, 0, 0, 0, offset
        )
        central += encoded
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(body), 0
    )
    path.write_bytes(bytes(body + central + end))
    return path


def stored_member(text: str) -> tuple[int, bytes, int, int]:
    data = text.encode()
    return zipfile.ZIP_STORED, data, zlib.crc32(data), len(data)


_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from tweetbots.sources import SourceError, read_source
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    try:
        read_source(sys.argv[1])
        outcome = "read"
    except SourceError as error:
        outcome = str(error)
    seconds = time.monotonic() - start
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"outcome": outcome, "seconds": seconds, "grew_mib": grew / 1024}))
    """
)


def read_in_a_fresh_process(spec: str, timeout: float = 120) -> dict:
    """read_source(spec) in its own process: the outcome, seconds and peak RSS growth."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, spec], capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_zip_bomb_is_refused_in_seconds_and_bounded_memory(tmp_path):
    payload, crc = deflated_zeros(1024)  # 1 MB inflating to 1 GiB
    bomb = raw_zip(
        tmp_path / "bomb.zip",
        {
            "data/account.js": stored_member(BOUNDS_ACCOUNT_JS),
            "data/tweets.js": (zipfile.ZIP_DEFLATED, payload, crc, 1024 * MIB),
        },
    )
    assert bomb.stat().st_size < 1.1 * MIB
    measured = read_in_a_fresh_process(f"archive:{bomb}")
    print(f"zip bomb: {measured}")  # the report's figures (pytest -s)
    assert "\n" not in measured["outcome"]
    assert "bomb.zip" in measured["outcome"] and "data/tweets.js" in measured["outcome"]
    assert "zip bomb" in measured["outcome"]
    assert measured["seconds"] < 5
    assert measured["grew_mib"] < 64


def test_a_header_that_lies_about_the_size_cannot_blow_memory(tmp_path):
    """The header declares 1 KB for what inflates to 1 GiB: the ratio check passes, and
    the read must stop near the declared size, never inflate the whole stream."""
    payload, _ = deflated_zeros(1024)
    liar = raw_zip(
        tmp_path / "liar.zip",
        {
            "data/account.js": stored_member(BOUNDS_ACCOUNT_JS),
            "data/tweets.js": (zipfile.ZIP_DEFLATED, payload, zlib.crc32(bytes(1000)), 1000),
        },
    )
    measured = read_in_a_fresh_process(f"archive:{liar}")
    print(f"lying header: {measured}")
    assert "\n" not in measured["outcome"] and "liar.zip" in measured["outcome"]
    assert measured["outcome"] != "read"  # 1000 NUL bytes are no tweets.js
    assert measured["seconds"] < 5
    assert measured["grew_mib"] < 64


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_an_archive_over_the_read_limit_names_the_setting(tmp_path, monkeypatch, form):
    files = {"account.js": BOUNDS_ACCOUNT_JS, "tweets.js": tweets_js(2000)}  # about 200 KB
    if form == "zip":
        path = tmp_path / "big.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                archive.writestr(f"data/{name}", content)
    else:
        path = tmp_path / "big"
        (path / "data").mkdir(parents=True)
        for name, content in files.items():
            (path / "data" / name).write_text(content)
    assert len(read_source(f"archive:{path}").posts) == 2000  # within the default limit
    monkeypatch.setenv(MAX_READ_ENV, "0.1")
    with pytest.raises(SourceError) as error:
        read_source(f"archive:{path}")
    message = str(error.value)
    assert "\n" not in message and str(path) in message and "tweets.js" in message
    assert "more than 0.1 MB" in message and MAX_READ_ENV in message


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "archive" / "data"
    data.mkdir(parents=True)
    (data / "account.js").write_text(BOUNDS_ACCOUNT_JS)
    (data / "tweets.js").write_text(tweets_js(3))
    return data


def _replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("odd")


def _replace_with_broken_link(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "gone.js")


def _replace_with_pipe(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


ODD_LAYOUTS = {
    "profile.js is a folder": ("archive", "profile.js", _replace_with_folder, "a folder"),
    "tweets.js is a folder": ("archive", "tweets.js", _replace_with_folder, "a folder"),
    "account.js is a folder, next to a bare tweets.js": (
        "tweets.js",
        "account.js",
        _replace_with_folder,
        "a folder",
    ),
    "account.js is a broken link": ("data", "account.js", _replace_with_broken_link, "broken link"),
    "account.js is a pipe, next to a bare tweets.js": (
        "tweets.js",
        "account.js",
        _replace_with_pipe,
        "not a regular file",
    ),
}


@pytest.mark.parametrize("case", list(ODD_LAYOUTS))
def test_odd_folder_layouts_are_one_line(tmp_path, case):
    """Run in a fresh process: on a pipe, the old reader waited forever for a writer."""
    argument, name, make_odd, expected = ODD_LAYOUTS[case]
    data = _data(tmp_path)
    if name == "profile.js":
        (data / name).write_text("window.YTD.profile.part0 = []")
    make_odd(data / name)
    target = {"archive": data.parent, "data": data, "tweets.js": data / "tweets.js"}[argument]
    try:
        measured = read_in_a_fresh_process(f"archive:{target}", timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {target} hung")
    assert "\n" not in measured["outcome"]
    assert name in measured["outcome"] and expected in measured["outcome"]


_DIGEST = (
    "import sys\n"
    "from tweetbots.sources import SourceError, local_source_digest\n"
    "try:\n"
    "    print(local_source_digest(sys.argv[1]))\n"
    "except SourceError as error:\n"
    "    print(error)\n"
)


@pytest.mark.parametrize("scheme, name", [("archive", "posts.zip"), ("file", "posts.csv")])
def test_a_pipe_given_as_the_source_is_one_line_not_a_hang(tmp_path, scheme, name):
    """Both the read and the digest every run starts with (its cache key)."""
    pipe = tmp_path / name
    os.mkfifo(pipe)
    spec = f"{scheme}:{pipe}"
    for command in (_MEASURE, _DIGEST):
        try:
            result = subprocess.run(
                [sys.executable, "-c", command, spec], capture_output=True, text=True, timeout=30
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"reading {spec} hung")
        assert result.returncode == 0, result.stderr[-2000:]
        [line] = result.stdout.strip().splitlines()
        assert "not a regular file" in line, line
        assert str(pipe) in line


def test_a_folder_entry_named_like_a_data_file_in_a_zip_is_one_line(tmp_path):
    path = tmp_path / "odd.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/account.js", BOUNDS_ACCOUNT_JS)
        archive.writestr("data/tweets.js", tweets_js(3))
        archive.mkdir("data/profile.js")
    with pytest.raises(SourceError) as error:
        read_source(f"archive:{path}")
    message = str(error.value)
    assert "\n" not in message and "data/profile.js/" in message and "a folder" in message


@pytest.mark.parametrize(
    "flags, method, expected",
    [(1, zipfile.ZIP_STORED, "encrypted"), (0, 9, "compression method")],
    ids=["encrypted", "Deflate64"],
)
def test_a_zip_this_python_cannot_unpack_is_one_line(tmp_path, flags, method, expected):
    members = {
        "data/account.js": stored_member(BOUNDS_ACCOUNT_JS),
        "data/tweets.js": stored_member(tweets_js(1)),
    }
    members["data/tweets.js"] = (method, *members["data/tweets.js"][1:])
    path = raw_zip(tmp_path / "locked.zip", members, flags=flags)
    with pytest.raises(SourceError) as error:
        read_source(f"archive:{path}")
    message = str(error.value)
    assert "\n" not in message and "locked.zip" in message and expected in message
    assert "extracted folder" in message


def test_a_linked_data_file_is_read(tmp_path):
    """A link to a real file is no odd layout: an archive on another disk, say."""
    data = _data(tmp_path)
    elsewhere = tmp_path / "elsewhere.js"
    (data / "tweets.js").rename(elsewhere)
    (data / "tweets.js").symlink_to(elsewhere)
    assert len(read_source(f"archive:{data.parent}").posts) == 3


# -- fuzzing: any bytes, fields of any type ---------------------------------------------


FUZZ_ACCOUNT_JS = 'window.YTD.account.part0 = [{"account": {"username": "ada", "accountId": "1"}}]'
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
FUZZ_ACCOUNT = st.fixed_dictionaries(
    {},
    optional={
        "username": field(st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True) | TEXT),
        "accountDisplayName": field(TEXT),
    },
)


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
    read_archive_files({"account.js": FUZZ_ACCOUNT_JS, "tweets.js": content})


@FUZZ
@given(st.lists(field(st.fixed_dictionaries({"tweet": TWEET}) | TWEET), max_size=5))
def test_archive_tweets_with_fields_of_any_type(tweets):
    read_archive_files({"account.js": FUZZ_ACCOUNT_JS, "tweets.js": js("tweets", tweets)})


@FUZZ
@given(
    st.lists(field(st.fixed_dictionaries({"account": FUZZ_ACCOUNT})), max_size=2),
    st.lists(field(st.fixed_dictionaries({"noteTweet": NOTE})), max_size=3),
)
def test_archive_account_and_note_tweets_of_any_shape(accounts, notes):
    tweets = [{"tweet": {"id_str": "1", "full_text": "a long post…", "created_at": "x"}}]
    read_archive_files(
        {
            "account.js": js("account", accounts),
            "tweets.js": js("tweets", tweets),
            "note-tweet.js": js("note_tweet", notes),
        }
    )
