"""`file:PATH` sources: .jsonl, .csv and .parquet written to disk, column names guessed;
fuzzed files give posts or our one-line error."""

import csv
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.checks import one_line
from tests.fakes.fuzz import FUZZ, TEXT, assert_valid_or_our_error, field
from tweetbots.sources import SourceError, read_source
from tweetbots.sources.files import read_post_file


def write_jsonl(path, records):
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


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
    message = one_line(error, str(path))
    assert "'body', 'when'" in message and "rawContent" in message


def test_column_names_with_newlines_keep_the_error_on_one_line(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"a\nb": "hi", "\n": None}])
    with pytest.raises(SourceError) as error:
        read_post_file(str(path))
    assert "'a\\nb'" in one_line(error, str(path))


@pytest.mark.parametrize("name", ["posts.txt", "posts"])
def test_unknown_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("text\nhello\n")
    with pytest.raises(SourceError) as error:
        read_post_file(str(path))
    message = one_line(error, str(path))
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
    assert one_line(error, str(path))


def test_missing_file(tmp_path):
    path = tmp_path / "gone.csv"
    with pytest.raises(SourceError) as error:
        read_post_file(str(path))
    assert "does not exist" in one_line(error, str(path))


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
    assert one_line(error, str(path))


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
    message = one_line(error, name)
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


# -- fuzzing: any bytes, fields of any type ---------------------------------------------


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


def read_fuzzed_file(suffix: str, content: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"posts{suffix}"
        path.write_bytes(content)
        assert_valid_or_our_error(lambda: read_source(f"file:{path}"))


@FUZZ
@given(st.sampled_from([".jsonl", ".csv", ".parquet"]), st.binary())
def test_post_file_of_any_bytes(suffix, content):
    read_fuzzed_file(suffix, content)


@FUZZ
@given(st.lists(field(RECORD), min_size=1, max_size=6))
def test_jsonl_records_with_fields_of_any_type(records):
    lines = "\n".join(json.dumps(r) for r in records).encode("utf-8")
    read_fuzzed_file(".jsonl", lines)


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
    read_fuzzed_file(".csv", text.getvalue().encode("utf-8", "surrogatepass"))
