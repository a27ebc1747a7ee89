"""Where posts come from: one module per platform, all producing the raw schema.

A source is named by a spec string, `scheme:argument` (`archive:PATH`, `file:PATH`,
`twitter:HANDLE`, ...). Each reader returns a `SourceBatch`: the posts as a DataFrame in
`RAW_SCHEMA` plus one `Profile` per user for the card.
"""

import json
import logging
import math
import re
from collections.abc import Callable
from datetime import date
from importlib import import_module
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel

log = logging.getLogger(__name__)

RAW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("user", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("text", pa.string()),
        ("is_retweet", pa.bool_()),
        ("is_reply", pa.bool_()),
        ("platform", pa.string()),
        ("url", pa.string()),
    ]
)
RAW_COLUMNS = RAW_SCHEMA.names
# A post id is unique only within one user's posts on one platform: two CSV exports both
# numbered 1..N hold two users' posts, not duplicates.
POST_KEY = ["platform", "user", "id"]


# A user or platform name that is safe as a directory name in the raw store: no
# separators, no leading dot; `@` for Mastodon's user@instance, `:` for Bluesky DIDs.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@:-]{0,99}$")


class SourceError(ValueError):
    """Bad source input: the message is one line that names the input and the fix."""


class Profile(BaseModel):
    """What the card shows of a user."""

    platform: str
    user: str
    display_name: str
    avatar_url: str | None = None
    profile_url: str | None = None  # the public page the card links, where there is one


class SourceBatch(NamedTuple):
    posts: pd.DataFrame
    profiles: list[Profile]


# scheme -> "module:function" taking the spec's argument and returning a SourceBatch.
# Imported lazily so a missing optional dependency (snscrape) only affects its scheme.
_READERS: dict[str, str] = {
    "archive": "tweetbots.sources.archive:read_archive",
    "file": "tweetbots.sources.files:read_post_file",
    "twitter": "tweetbots.sources.twitter_snscrape:read_twitter",
    "mastodon": "tweetbots.sources.mastodon:read_mastodon",
    "bluesky": "tweetbots.sources.bluesky:read_bluesky",
}
_LOCAL_SCHEMES = {"archive", "file"}


def parse_spec(spec: str) -> tuple[str, str]:
    """Split `scheme:argument`, rejecting unknown schemes with the list of known ones."""
    scheme, sep, argument = spec.partition(":")
    if not sep or not argument or scheme not in _READERS:
        known = ", ".join(f"{s}:..." for s in _READERS)
        raise SourceError(f"unknown source {spec!r}: use one of {known}")
    return scheme, argument


def is_local_source(spec: str) -> bool:
    """Whether the source is a file on this machine (read whole), not a network account."""
    return parse_spec(spec)[0] in _LOCAL_SCHEMES


def read_source(spec: str, newer_than: str | None = None) -> SourceBatch:
    """Read the posts a source offers, in the raw schema.

    `newer_than` (a post id) makes network sources fetch only newer posts: the nightly
    increment. Local sources are read whole; the raw store drops what it already has.
    """
    scheme, argument = parse_spec(spec)
    module_name, function_name = _READERS[scheme].split(":")
    reader: Callable[..., SourceBatch] = getattr(import_module(module_name), function_name)
    batch = reader(argument, newer_than=newer_than) if newer_than else reader(argument)
    return SourceBatch(to_raw_frame(batch.posts, f"source {spec!r}"), batch.profiles)


def local_path(spec: str) -> Path | None:
    """The file or directory a local source (`archive:`, `file:`) reads, as its reader
    takes it (`~` expanded, relative to the working directory); None for network sources."""
    scheme, argument = parse_spec(spec)
    return Path(argument).expanduser() if scheme in _LOCAL_SCHEMES else None


def store_identity(spec: str) -> tuple[str, str] | None:
    """(platform, user) under which a network source's posts are stored, if known upfront."""
    scheme, argument = parse_spec(spec)
    # Parsed by the reader's own rules, so a bad handle gets the reader's message.
    if scheme == "mastodon":
        from tweetbots.sources.mastodon import parse_account

        return scheme, "@".join(parse_account(argument)).lower()
    if scheme == "bluesky":
        from tweetbots.sources.bluesky import parse_actor

        actor = parse_actor(argument)
        return None if actor.startswith("did:") else (scheme, actor)
    return None


def source_handles(spec: str) -> list[str]:
    """The handles whose posts a source holds, fetching nothing from a network: a local
    source is read for its users; a network source's handle is in its spec."""
    scheme, argument = parse_spec(spec)
    if scheme in _LOCAL_SCHEMES:
        return [profile.user for profile in read_source(spec).profiles]
    identity = store_identity(spec)
    handle = identity[1] if identity else argument.strip().lstrip("@").lower()
    return [handle.split("@")[0]]  # Mastodon's user@instance: the user, as on its profile


def local_source_digest(spec: str) -> str | None:
    """Content digest of a local source (file or archive); None for network sources."""
    from tweetbots.store import file_digest, fingerprint

    path = local_path(spec)
    if path is None:
        return None
    if not path.exists():
        raise SourceError(f"source {spec!r}: {path} does not exist; check the path")
    if not path.is_dir() and not path.is_file():  # a pipe would be read forever
        raise SourceError(
            f"source {spec!r}: {path} is not a regular file (a pipe or a device?); pass a "
            "file or a folder"
        )
    try:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        return fingerprint([(p.relative_to(path).as_posix(), file_digest(p)) for p in files])
    except OSError as exc:  # no permission, a file vanishing while read ...
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise SourceError(f"source {spec!r} cannot be read ({reason})") from exc


# A JSON escape of a UTF-16 surrogate; json.loads joins valid pairs into one character,
# so any surrogate left in the parsed strings stood alone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(text: str | bytes) -> Any:
    """json.loads, with lone surrogates (`"\\ud83d"` cut from its pair) made U+FFFD.

    A lone surrogate cannot be encoded as UTF-8, so Arrow (pandas' strings, Parquet)
    would refuse the whole source for one broken emoji.
    """
    parsed = json.loads(text)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return _replace_surrogates(parsed) if _SURROGATE_ESCAPE.search(text) else parsed


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def text_field(value: object) -> str | None:
    """A non-empty string from parsed JSON; None when absent, null or of another type."""
    return value if isinstance(value, str) and value else None


def is_id(value: object) -> bool:
    """A post or account id as JSON gives it: a non-empty string or an integer."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and bool(value))


def unique_posts(posts: pd.DataFrame) -> pd.DataFrame:
    """Each post once (by POST_KEY), the first copy winning."""
    return posts.drop_duplicates(POST_KEY, keep="first").reset_index(drop=True)


def to_raw_frame(posts: pd.DataFrame, source: str = "posts") -> pd.DataFrame:
    """Coerce a reader's frame to exactly RAW_SCHEMA (column order and dtypes).

    `source` names the input in the warning about times that cannot be read.
    """
    missing = [c for c in RAW_COLUMNS if c not in posts.columns]
    if missing:
        raise ValueError(f"reader returned posts without columns {missing}")
    frame = posts[RAW_COLUMNS].copy()
    frame["created_at"] = utc_times(frame["created_at"], source)
    table = pa.Table.from_pandas(frame, schema=RAW_SCHEMA, preserve_index=False)
    return table.to_pandas(types_mapper=_ARROW_TO_PANDAS.get)


# Digits of a second's fraction past the sixth (nanoseconds from pandas, Go or a Bluesky
# client): cut in the text, so no column ever needs nanosecond resolution, whose range
# (1677-2262) would turn a far date beside it into a missing time.
_PAST_MICROSECONDS = re.compile(r"(?<=:\d\d[.,]\d{6})\d+")
# What datetime64[us] holds: about 290,000 years either side of 1970.
_MAX_MICROSECONDS = np.iinfo(np.int64).max
_MICROSECONDS_PER = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}


def utc_times(values: pd.Series, source: str = "posts") -> pd.Series:
    """The one place a source's times become the raw schema's: datetime64[us, UTC].

    Accepted: datetime64 of any unit (tz-naive means UTC), and cells holding ISO 8601 or
    other date strings of any precision and offset, datetimes, dates or Timestamps.
    Sub-microsecond parts are cut (floored). A cell that is no date is a missing time,
    as it always was, with a warning naming the source and the first such row.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        times = _from_datetime64(values)
    else:
        times = _from_cells(values)
    unread = (times.isna() & ~values.map(is_blank).astype(bool)).to_numpy()
    if unread.any():
        first = int(unread.argmax())
        log.warning(
            "%s: no readable time in %d of %d rows (the first: row %d, %s); they read as "
            "missing times",
            source,
            int(unread.sum()),
            len(unread),
            first + 1,
            " ".join(repr(values.iloc[first]).split())[:80],
        )
    return times


def _from_datetime64(values: pd.Series) -> pd.Series:
    naive = values.dt.tz_convert(None) if isinstance(values.dtype, pd.DatetimeTZDtype) else values
    array = naive.to_numpy()
    # A coarse unit (a Parquet timestamp[ms]) can hold what microseconds cannot.
    unit = np.datetime_data(array.dtype)[0]
    within = np.abs(array.view(np.int64)) <= _MAX_MICROSECONDS // _MICROSECONDS_PER[unit]
    return naive.where(within).dt.as_unit("us").dt.tz_localize("UTC")


def _from_cells(values: pd.Series) -> pd.Series:
    texts = values.map(_time_text).astype(object)
    times = pd.to_datetime(texts, utc=True, format="ISO8601", errors="coerce").dt.as_unit("us")
    other = times.isna() & texts.notna()
    if other.any():  # "Wed Oct 10 20:19:24 +0000 2018", "10/11/2018 08:00" ...
        mixed = pd.to_datetime(texts[other], utc=True, format="mixed", errors="coerce")
        times[other] = mixed.dt.as_unit("us")
    return times


def _time_text(value: object) -> str | None:
    """A cell as the text of a time (None when blank or no kind of time)."""
    if is_blank(value):
        return None
    if isinstance(value, date):  # datetime and pd.Timestamp too, nanoseconds and all
        value = value.isoformat()
    elif isinstance(value, np.datetime64):
        value = str(value)
    if not isinstance(value, str):
        return None
    return _PAST_MICROSECONDS.sub("", value.strip()) or None


def is_blank(value: object) -> bool:
    """None, NaN, NA or NaT: a missing cell, not a bad one."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return isinstance(value, float) and math.isnan(value)


# Arrow-backed dtypes keep strings as strings and bools non-nullable-object-free.
_ARROW_TO_PANDAS = {
    pa.string(): pd.StringDtype(),
    pa.bool_(): pd.BooleanDtype(),
}
