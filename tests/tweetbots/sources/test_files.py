"""`file:PATH` sources: .jsonl, .csv and .parquet written to disk, column names guessed."""

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tweetbots.sources import SourceError, read_source
from tweetbots.sources.files import read_post_file


def write_jsonl(path, records):
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def assert_one_line_naming(error, name):
    message = str(error.value)
    assert "\n" not in message
    assert name in message
    return message


def test_jsonl_with_snscrape_style_columns(tmp_path):
    path = write_jsonl(
        tmp_path / "dump.jsonl",
        [
            {
                "id": 1712345678901234567,
                "rawContent": "my first post from a scraper dump",
                "date": "2023-10-12T08:30:00+00:00",
                "user": {"username": "grace", "displayname": "Grace H."},
                "retweetedTweet": None,
                "inReplyToTweetId": None,
                "url": "https://x.com/grace/status/1712345678901234567",
            },
            {
                "id": 1712345678901234568,
                "rawContent": "RT @bob: a retweet of bob here",
                "date": "2023-10-12T09:30:00+00:00",
                "user": {"username": "grace"},
                "retweetedTweet": {"id": 5},
                "inReplyToTweetId": None,
                "url": None,
            },
            {
                "id": 1712345678901234569,
                "rawContent": "@bob a reply to bob with words",
                "date": "2023-10-12T10:30:00+00:00",
                "user": {"username": "grace"},
                "retweetedTweet": None,
                "inReplyToTweetId": 1712345678901234000,
                "url": None,
            },
        ],
    )
    batch = read_source(f"file:{path}")
    posts = batch.posts
    assert list(posts["id"]) == [
        "1712345678901234567",
        "1712345678901234568",
        "1712345678901234569",
    ]  # 19 digits, exact
    assert set(posts["user"]) == {"grace"}
    assert list(posts["is_retweet"]) == [False, True, False]
    assert list(posts["is_reply"]) == [False, False, True]
    assert set(posts["platform"]) == {"file"}
    assert posts["url"][0] == "https://x.com/grace/status/1712345678901234567"
    assert posts["created_at"][0] == pd.Timestamp("2023-10-12 08:30", tz="UTC")
    assert [(p.user, p.display_name) for p in batch.profiles] == [("grace", "Grace H.")]


def test_csv_with_flags_users_and_mixed_dates(tmp_path):
    path = tmp_path / "posts.csv"
    pd.DataFrame(
        {
            "tweet_id": ["1712345678901234567", "2", "3"],
            "full_text": ["hello there world", "RT @x: not flagged as retweet", "a reply here"],
            "created_at": [
                "Wed Oct 10 20:19:24 +0000 2018",
                "2018-10-11 08:00:00",
                "2018-10-12T09:00:00Z",
            ],
            "screen_name": ["@ada", "ada", "bob"],
            "name": ["Ada L.", "", "Bob"],
            "is_retweet": ["false", "False", "true"],
            "is_reply": ["0", "0", "1"],
        }
    ).to_csv(path, index=False)
    batch = read_post_file(str(path))
    posts = read_source(f"file:{path}").posts
    assert list(posts["id"]) == ["1712345678901234567", "2", "3"]
    assert list(posts["user"]) == ["ada", "ada", "bob"]
    assert list(posts["is_retweet"]) == [False, False, True]  # an explicit flag wins
    assert list(posts["is_reply"]) == [False, False, True]
    assert list(posts["created_at"]) == [
        pd.Timestamp("2018-10-10 20:19:24", tz="UTC"),
        pd.Timestamp("2018-10-11 08:00", tz="UTC"),
        pd.Timestamp("2018-10-12 09:00", tz="UTC"),
    ]
    assert posts["url"].isna().all()
    assert [(p.user, p.display_name) for p in batch.profiles] == [("ada", "Ada L."), ("bob", "Bob")]


def test_parquet_minimal_columns_get_stable_ids_and_the_file_stem(tmp_path):
    path = tmp_path / "my posts!.parquet"
    texts = ["RT @someone: retweeted words here", "an ordinary post here", "lol"]
    pd.DataFrame({"content": texts}).to_parquet(path)
    first = read_source(f"file:{path}").posts
    assert list(first["user"]) == ["my_posts"] * 3  # made safe for the raw store
    assert list(first["is_retweet"]) == [True, False, False]  # the RT @ rule
    assert not first["is_reply"].any()
    assert first["created_at"].isna().all()
    assert first["id"].str.fullmatch(r"[0-9a-f]{16}").all() and first["id"].is_unique

    pd.DataFrame({"content": [*texts, "a row appended later"]}).to_parquet(path)
    again = read_source(f"file:{path}").posts
    assert list(again["id"][:3]) == list(first["id"])  # appending keeps earlier ids


def test_parquet_typed_columns(tmp_path):
    path = tmp_path / "typed.parquet"
    pd.DataFrame(
        {
            "id": pd.array([10, None], dtype="Int64"),
            "text": ["first typed post here", "second typed post here"],
            "timestamp": [1_700_000_000_000, 1_700_000_060_000],  # epoch milliseconds
            "retweeted": [False, True],
            "in_reply_to_status_id_str": [None, "77"],
            "author": ["carol", None],
        }
    ).to_parquet(path)
    posts = read_source(f"file:{path}").posts
    assert posts["id"][0] == "10" and len(posts["id"][1]) == 16
    assert posts["created_at"][0] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    assert list(posts["is_retweet"]) == [False, True]
    assert list(posts["is_reply"]) == [False, True]
    assert list(posts["user"]) == ["carol", "typed"]


def test_no_text_column_lists_what_was_found(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"body": "hi", "when": "today"}])
    with pytest.raises(SourceError) as error:
        read_post_file(str(path))
    message = assert_one_line_naming(error, str(path))
    assert "'body', 'when'" in message and "rawContent" in message


def test_column_names_with_newlines_keep_the_error_on_one_line(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"a\nb": "hi", "\n": None}])
    with pytest.raises(SourceError) as error:
        read_post_file(str(path))
    assert "'a\\nb'" in assert_one_line_naming(error, str(path))


@pytest.mark.parametrize("name", ["posts.txt", "posts"])
def test_unknown_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("text\nhello\n")
    with pytest.raises(SourceError) as error:
        read_post_file(str(path))
    message = assert_one_line_naming(error, str(path))
    assert ".jsonl, .csv, .parquet" in message


@pytest.mark.parametrize(
    "name,content",
    [
        ("empty.jsonl", ""),
        ("empty.csv", ""),
        ("header-only.csv", "id,text\n"),
        ("blank-lines.jsonl", "\n\n"),
    ],
)
def test_empty_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SourceError) as error:
        read_post_file(str(path))
    assert assert_one_line_naming(error, str(path))


def test_missing_file(tmp_path):
    path = tmp_path / "gone.csv"
    with pytest.raises(SourceError) as error:
        read_post_file(str(path))
    assert "does not exist" in assert_one_line_naming(error, str(path))


@pytest.mark.parametrize(
    "name,content",
    [
        ("bad.jsonl", '{"text": "ok"}\n{"text": "cut off'),
        ("list.jsonl", '["not", "an", "object"]\n'),
        ("bad.parquet", "definitely not parquet"),
    ],
)
def test_unreadable_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SourceError) as error:
        read_post_file(str(path))
    assert assert_one_line_naming(error, str(path))


def _parquet_text(path, column):
    pq.write_table(pa.table({"id": ["1", "2"], "full_text": column}), path)
    return path


@pytest.mark.parametrize(
    "name, write, kind",
    [
        ("lists.parquet", lambda p: _parquet_text(p, [["a", "b"], ["c"]]), "a list"),
        ("numbers.parquet", lambda p: _parquet_text(p, [1.5, 2.5]), "a number"),
        (
            "objects.jsonl",
            lambda p: write_jsonl(p, [{"full_text": "fine"}, {"full_text": {"a": 1}}]),
            "an object",
        ),
        ("numbers.jsonl", lambda p: write_jsonl(p, [{"full_text": 7}]), "a number"),
        ("lists.jsonl", lambda p: write_jsonl(p, [{"full_text": ["a", "b"]}]), "a list"),
        ("flags.jsonl", lambda p: write_jsonl(p, [{"full_text": True}]), "a boolean"),
    ],
)
def test_a_text_column_that_is_not_text_names_file_column_and_row(tmp_path, name, write, kind):
    """Not trained on as "['a' 'b']": one line naming the file, the column and the row."""
    path = write(tmp_path / name)
    with pytest.raises(SourceError) as error:
        read_source(f"file:{path}")
    message = assert_one_line_naming(error, name)
    row = 2 if name == "objects.jsonl" else 1
    assert f"row {row} of the column 'full_text'" in message and kind in message
    assert "not text" in message


def test_a_text_column_with_missing_cells_still_reads(tmp_path):
    csv = tmp_path / "gaps.csv"
    csv.write_text("text,id\nfirst post here,1\n,2\nthird post here,3\n")
    parquet = _parquet_text(tmp_path / "gaps.parquet", ["first post here", None])
    assert list(read_source(f"file:{csv}").posts["text"]) == [
        "first post here",
        "",
        "third post here",
    ]
    assert list(read_source(f"file:{parquet}").posts["text"]) == ["first post here", ""]
