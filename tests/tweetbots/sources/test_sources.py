"""The source specs (tweetbots/sources/__init__.py): the handles a spec names, read
without touching the network, and times of every precision and form from every kind of
source, made the raw schema's microseconds in one place (`utc_times`)."""

import json
import logging

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fakes.social import bluesky_post, mastodon_status
from tweetbots.sources import SourceError, read_source, source_handles

# -- source specs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "handles"),
    [
        ("mastodon:@Ada@Example.Social", ["ada"]),
        ("bluesky:@Alice.bsky.social", ["alice.bsky.social"]),
        ("twitter:@Dril", ["dril"]),
    ],
)
def test_a_network_source_names_its_handle_without_a_request(spec, handles, monkeypatch):
    import httpx

    def no_network(*args, **kwargs):
        raise AssertionError("a request was made")

    monkeypatch.setattr(httpx.Client, "send", no_network)
    assert source_handles(spec) == handles


def test_a_local_source_is_read_for_its_users(sample_archives, tmp_path):
    csv = tmp_path / "posts.csv"
    csv.write_text("id,user,text\n1,Carol,hello there friends\n2,dave,and hello to you\n")
    assert source_handles(f"archive:{sample_archives[1]}") == ["ollie_stargazes"]
    assert sorted(source_handles(f"file:{csv}")) == ["Carol", "dave"]


def test_a_bad_spec_is_refused():
    with pytest.raises(SourceError, match="unknown source"):
        source_handles("ftp:nowhere")


# -- times ------------------------------------------------------------------------------


# Every legal time reads, from every kind of source: nanoseconds (pandas, Go, a Bluesky
# client), seconds only, milliseconds, offsets other than Z, and dates far outside the
# 1677-2262 range of nanosecond timestamps. All become the raw schema's microseconds (cut,
# not rounded); a cell that is no time reads as a missing time with a warning naming the
# source and the row.


UTC = "UTC"


# (as a source writes it, as the raw store keeps it)
ISO_TIMES = [
    ("2024-03-01T12:00:00.123456789Z", pd.Timestamp("2024-03-01 12:00:00.123456", tz=UTC)),
    ("2024-03-01T12:00:01Z", pd.Timestamp("2024-03-01 12:00:01", tz=UTC)),
    ("2024-03-01T12:00:02.5+02:00", pd.Timestamp("2024-03-01 10:00:02.5", tz=UTC)),
    ("2024-03-01T12:00:03.123-07:00", pd.Timestamp("2024-03-01 19:00:03.123", tz=UTC)),
    ("2024-03-01T12:00:04.000000001+05:30", pd.Timestamp("2024-03-01 06:30:04", tz=UTC)),
    ("9999-12-31T23:59:59.999999999Z", pd.Timestamp("9999-12-31 23:59:59.999999", tz=UTC)),
    ("1600-01-01T00:00:00.5Z", pd.Timestamp("1600-01-01 00:00:00.5", tz=UTC)),
]


# X's archive writes seconds only, with an offset: its odd but legal values.
ARCHIVE_TIMES = [
    ("Fri Mar 01 12:00:01 +0000 2024", pd.Timestamp("2024-03-01 12:00:01", tz=UTC)),
    ("Fri Mar 01 12:00:02 +0200 2024", pd.Timestamp("2024-03-01 10:00:02", tz=UTC)),
    ("Fri Dec 31 23:59:59 +0000 9999", pd.Timestamp("9999-12-31 23:59:59", tz=UTC)),
    ("Sat Jan 01 00:00:00 +0000 1600", pd.Timestamp("1600-01-01", tz=UTC)),
]


def _texts(n: int) -> list[str]:
    return [f"post number {i} with a few words" for i in range(n)]


def _csv(tmp_path, times):
    path = tmp_path / "posts.csv"
    pd.DataFrame({"id": range(len(times)), "text": _texts(len(times)), "created_at": times}).to_csv(
        path, index=False
    )
    return f"file:{path}"


def _jsonl(tmp_path, times):
    path = tmp_path / "posts.jsonl"
    rows = [
        {"id": i, "text": text, "created_at": created}
        for i, (text, created) in enumerate(zip(_texts(len(times)), times, strict=True))
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return f"file:{path}"


def _parquet(tmp_path, times):
    path = tmp_path / "posts.parquet"
    pq.write_table(pa.table({"text": _texts(len(times)), "created_at": times}), path)
    return f"file:{path}"


def _archive(tmp_path, times):
    data = tmp_path / "archive" / "data"
    data.mkdir(parents=True)
    account = [{"account": {"username": "ada_posts", "accountId": "42"}}]
    tweets = [
        {"tweet": {"id_str": str(i), "full_text": t, "created_at": c}}
        for i, (t, c) in enumerate(zip(_texts(len(times)), times, strict=True))
    ]
    (data / "account.js").write_text("window.YTD.account.part0 = " + json.dumps(account))
    (data / "tweets.js").write_text("window.YTD.tweets.part0 = " + json.dumps(tweets))
    return f"archive:{data.parent}"


def _mastodon(mastodon, times):
    account = mastodon.add_account("ada", "example.social")
    for number, created in enumerate(times):
        mastodon.add_status(account, mastodon_status(number, account, created_at=created))
    return "mastodon:@ada@example.social"


def _bluesky(bluesky, times):
    profile = bluesky.add_profile("ada.bsky.social", "did:plc:z72i7hdynmk6r22z27h6tvur")
    for number, created in enumerate(times):
        bluesky.add_item(profile, {"post": bluesky_post(profile, number, createdAt=created)})
    return "bluesky:ada.bsky.social"


def read_times(spec: str) -> list[pd.Timestamp]:
    posts = read_source(spec).posts
    assert str(posts["created_at"].dtype) == "datetime64[us, UTC]"
    return sorted(posts["created_at"])


def expected(times) -> list[pd.Timestamp]:
    return sorted(kept for _, kept in times)


@pytest.mark.parametrize("write", [_csv, _jsonl], ids=["csv", "jsonl"])
def test_files_read_every_legal_time(tmp_path, write):
    spec = write(tmp_path, [given for given, _ in ISO_TIMES])
    assert read_times(spec) == expected(ISO_TIMES)


def test_a_csv_written_by_pandas_with_nanoseconds(tmp_path):
    path = tmp_path / "export.csv"
    when = pd.to_datetime(
        ["2024-03-01 12:00:00.123456789", "2024-03-02 08:00:00.000000001"], utc=True
    )
    pd.DataFrame({"text": _texts(2), "created_at": when}).to_csv(path, index=False)
    assert "12:00:00.123456789" in path.read_text()  # as pandas writes it
    assert read_times(f"file:{path}") == [
        pd.Timestamp("2024-03-01 12:00:00.123456", tz=UTC),
        pd.Timestamp("2024-03-02 08:00", tz=UTC),
    ]


def test_a_jsonl_of_epoch_nanoseconds(tmp_path):
    """pandas' to_json(date_unit="ns") and Go write epoch nanoseconds."""
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"text": "a post", "created_at": 1709294400123456789}) + "\n")
    assert read_times(f"file:{path}") == [pd.Timestamp("2024-03-01 12:00:00.123456", tz=UTC)]


@pytest.mark.parametrize(
    "column",
    [
        pa.array([1709294400123456789, 1709294401000000000], pa.timestamp("ns")),
        pa.array([1709294400123456789, 1709294401000000000], pa.timestamp("ns", tz="UTC")),
    ],
    ids=["timestamp[ns] tz-naive", "timestamp[ns, UTC]"],
)
def test_parquet_nanosecond_timestamps(tmp_path, column):
    assert read_times(_parquet(tmp_path, column)) == [
        pd.Timestamp("2024-03-01 12:00:00.123456", tz=UTC),
        pd.Timestamp("2024-03-01 12:00:01", tz=UTC),
    ]


def test_parquet_far_dates_and_an_offset(tmp_path):
    """Past the range of nanoseconds, and a zone other than UTC."""
    column = pa.array(
        [253402300799999, -11676096000000, 1709294400000],  # 9999-12-31, 1600-01-01, 2024
        pa.timestamp("ms", tz="+05:30"),
    )
    assert read_times(_parquet(tmp_path, column)) == [
        pd.Timestamp("1600-01-01", tz=UTC),
        pd.Timestamp("2024-03-01 12:00", tz=UTC),
        pd.Timestamp("9999-12-31 23:59:59.999", tz=UTC),
    ]


def test_archives_read_every_legal_time(tmp_path):
    spec = _archive(tmp_path, [given for given, _ in ARCHIVE_TIMES])
    assert read_times(spec) == expected(ARCHIVE_TIMES)


def test_mastodon_reads_every_legal_time(mastodon):
    spec = _mastodon(mastodon, [given for given, _ in ISO_TIMES])
    assert read_times(spec) == expected(ISO_TIMES)


def test_bluesky_reads_every_legal_time(bluesky):
    spec = _bluesky(bluesky, [given for given, _ in ISO_TIMES])
    assert read_times(spec) == expected(ISO_TIMES)


@pytest.mark.parametrize("source", ["csv", "jsonl", "mastodon", "bluesky"])
def test_a_cell_that_is_no_time_reads_as_missing_and_names_source_and_row(
    tmp_path, request, caplog, source
):
    times = ["2024-03-01T12:00:00.123456789Z", "yesterday-ish", "2024-03-01T12:00:01Z"]
    if source in ("mastodon", "bluesky"):
        spec = {"mastodon": _mastodon, "bluesky": _bluesky}[source](
            request.getfixturevalue(source), times
        )
    else:
        spec = {"csv": _csv, "jsonl": _jsonl}[source](tmp_path, times)
    with caplog.at_level(logging.WARNING, logger="tweetbots.sources"):
        posts = read_source(spec).posts
    assert posts["created_at"].isna().sum() == 1 and len(posts) == 3
    [warning] = [r.getMessage() for r in caplog.records if "no readable time" in r.getMessage()]
    assert spec.split(":", 1)[1].lstrip("@")[:8] in warning and "'yesterday-ish'" in warning
    assert "row " in warning
