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
