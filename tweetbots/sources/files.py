"""Posts from a plain file: `file:PATH` with PATH a .jsonl, .csv or .parquet.

Columns are recognised by the usual names exporters use (first match wins):
text `text` `full_text` `content` `rawContent`; id `id` `id_str` `tweet_id`;
time `created_at` `date` `timestamp`; user `user` `username` `screen_name` `handle`
`author` (a {"username": ...} object is accepted, as snscrape writes it).
Missing ids become a stable hash of (row position, text), so appending rows to the file
keeps the ids of the earlier ones. Without a user column the posts belong to the file's
stem. Without a retweet flag, a post whose text starts with `RT @` is a retweet (the
original's rule for plain exports).
"""

import hashlib
import json
import logging
import math
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from tweetbots.sources import (
    SAFE_NAME,
    Profile,
    SourceBatch,
    SourceError,
    is_blank,
    parse_json,
    text_field,
    utc_times,
)

log = logging.getLogger(__name__)

PLATFORM = "file"
_TEXT_COLUMNS = ("text", "full_text", "content", "rawContent")
_ID_COLUMNS = ("id", "id_str", "tweet_id")
_TIME_COLUMNS = ("created_at", "date", "timestamp")
_USER_COLUMNS = ("user", "username", "screen_name", "handle", "author")
_NAME_COLUMNS = ("display_name", "name", "displayname")
_AVATAR_COLUMNS = ("avatar_url", "profile_image_url")
_REPLY_ID_COLUMNS = ("in_reply_to_status_id", "in_reply_to_status_id_str", "inReplyToTweetId")
_TRUE = {"true", "t", "1", "yes", "y"}
_UNSAFE_IN_USER = re.compile(r"[^A-Za-z0-9_.-]+")
# An epoch number's unit: seconds up to 1e11 (the year 5138), then milliseconds (pandas'
# to_json), microseconds, and past 1e17 nanoseconds (to_json(date_unit="ns"), Go, Polars).
_EPOCH_UNITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


def read_post_file(argument: str) -> SourceBatch:
    """Every post of a .jsonl, .csv or .parquet file, in the raw schema."""
    path = Path(argument).expanduser()
    raw = _read_table(path, argument)
    text = _text_column(raw, argument)
    users = _users(raw, path, argument)
    posts = pd.DataFrame(
        {
            "id": _ids(raw, text),
            "user": users,
            "created_at": _times(raw, argument),
            "text": text,
            "is_retweet": _retweet_flags(raw, text),
            "is_reply": _reply_flags(raw),
            "platform": PLATFORM,
            "url": _first_column(raw, ("url",), default=None).map(text_field),
        }
    )
    log.info("file %s: %d posts of %d users", argument, len(posts), users.nunique())
    return SourceBatch(posts, _profiles(raw, users))


def _read_table(path: Path, argument: str) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in _TABLE_READERS:
        raise SourceError(
            f"file {argument!r} has an unsupported extension {suffix or '(none)'!r}: "
            f"use one of {', '.join(_TABLE_READERS)}"
        )
    if not path.exists():
        raise SourceError(f"file {argument!r} does not exist: check the path")
    if not path.is_file():  # a folder; a pipe, which would be read forever
        raise SourceError(f"file {argument!r} is not a regular file: pass a file of posts")
    if path.stat().st_size == 0:
        raise SourceError(f"file {argument!r} is empty: export some posts into it")
    try:
        table = _TABLE_READERS[suffix](path, argument)
    except SourceError:
        raise
    except (ValueError, OSError) as exc:  # parser errors of pandas and pyarrow included
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise SourceError(f"file {argument!r} is not a readable {suffix} file ({reason})") from exc
    if table.empty:
        raise SourceError(f"file {argument!r} has no posts: export some posts into it")
    return table.reset_index(drop=True)


def _read_jsonl(path: Path, argument: str) -> pd.DataFrame:
    # Parsed line by line (not pd.read_json) so 19-digit ids stay exact and nested
    # objects (an author record) stay dicts.
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = parse_json(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                reason = getattr(exc, "msg", "nested too deeply")
                raise SourceError(
                    f"file {argument!r}: line {number} is not JSON ({reason}); one JSON "
                    "object per line is expected"
                ) from exc
            if not isinstance(record, dict):
                raise SourceError(
                    f"file {argument!r}: line {number} is not a JSON object; one object per "
                    "line is expected"
                )
            records.append(record)
    return pd.DataFrame.from_records(records)


def _read_csv(path: Path, argument: str) -> pd.DataFrame:
    # Everything as strings: ids must not become floats; flags are parsed below.
    return pd.read_csv(path, dtype=str, encoding="utf-8")


def _read_parquet(path: Path, argument: str) -> pd.DataFrame:
    return pd.read_parquet(path)


_TABLE_READERS = {".jsonl": _read_jsonl, ".csv": _read_csv, ".parquet": _read_parquet}


def _text_column(raw: pd.DataFrame, argument: str) -> pd.Series:
    name = next((c for c in _TEXT_COLUMNS if c in raw.columns), None)
    if name is None:
        found = ", ".join(repr(str(c)) for c in raw.columns)  # repr: one line, whatever the names
        raise SourceError(
            f"file {argument!r} has no text column (found: {found}); name it one of "
            f"{', '.join(_TEXT_COLUMNS)}"
        )
    return _texts(raw[name], str(name), argument)


def _texts(values: pd.Series, name: str, argument: str) -> pd.Series:
    """Each cell's text: missing cells are empty; any other kind of cell is refused,
    never trained on as its repr ("['a' 'b']")."""
    texts = values.astype(object).map(lambda v: "" if is_blank(v) else v)
    not_text = ~texts.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if not_text.any():
        row = int(not_text.argmax())
        cell = texts.iloc[row]
        shown = cell.tolist() if isinstance(cell, np.ndarray | np.generic) else cell
        raise SourceError(
            f"file {argument!r}: row {row + 1} of the column {name!r} holds {_kind(cell)} "
            f"({' '.join(repr(shown).split())[:60]}), not text: store each post's text as "
            "one string"
        )
    return texts.astype(str)


def _kind(value: object) -> str:
    """What a cell holds, for the error about a text column that isn't text."""
    if isinstance(value, list | tuple | np.ndarray):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, bool | np.bool_):
        return "a boolean"
    if isinstance(value, int | float | np.number):
        return "a number"
    return f"a {type(value).__name__}"


def _first_column(raw: pd.DataFrame, names: tuple[str, ...], default: object) -> pd.Series:
    name = next((c for c in names if c in raw.columns), None)
    if name is None:
        return pd.Series([default] * len(raw), index=raw.index, dtype="object")
    return raw[name]


def _ids(raw: pd.DataFrame, text: pd.Series) -> pd.Series:
    given = _first_column(raw, _ID_COLUMNS, default=None).map(_id_string)
    stable = pd.Series(
        [_stable_id(position, t) for position, t in enumerate(text)], index=raw.index
    )
    return given.where(given.notna(), stable)


def _missing(value: object) -> bool:
    """None, NaN, NA, NaT, or what no column of ours can hold (a JSON list or object)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return not isinstance(value, str | int | datetime | np.generic)


def _id_string(value: object) -> str | None:
    if _missing(value):
        return None
    # Parquet stores a nullable integer id column as float: 123.0 must read as "123".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def _stable_id(position: int, text: str) -> str:
    return hashlib.sha1(f"{position}\n{text}".encode()).hexdigest()[:16]


def _times(raw: pd.DataFrame, argument: str) -> pd.Series:
    values = _first_column(raw, _TIME_COLUMNS, default=None)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return _epoch_times(values)
    return utc_times(values, f"file {argument!r}")


def _epoch_times(values: pd.Series) -> pd.Series:
    """Epoch numbers, their unit told by the column's largest value."""
    largest = values.abs().max()
    unit = next((unit for limit, unit in _EPOCH_UNITS if largest <= limit), "ns")
    return pd.to_datetime(values, unit=unit, utc=True, errors="coerce")


def _users(raw: pd.DataFrame, path: Path, argument: str) -> pd.Series:
    fallback = _UNSAFE_IN_USER.sub("_", path.stem).strip("_")[:100] or "posts"
    users = _first_column(raw, _USER_COLUMNS, default=None).map(_handle)
    users = users.where(users.notna(), fallback).astype(str)
    # The user names a directory of the raw store: nothing that could leave it.
    unsafe = users[~users.map(lambda u: bool(SAFE_NAME.match(u)) and ".." not in u)]
    if len(unsafe):
        raise SourceError(
            f"file {argument!r}: row {unsafe.index[0] + 1} names the user "
            f"{unsafe.iloc[0][:100]!r}, not a handle: use letters, digits, _ . @ : - "
            "(at most 100), or leave the user column out"
        )
    return users


def _handle(value: object) -> str | None:
    """A user cell: a handle, or an author record holding one."""
    if isinstance(value, dict):
        value = value.get("username") or value.get("screen_name")
    if _missing(value):
        return None
    return str(value).strip().lstrip("@") or None


def _flags(values: pd.Series) -> pd.Series:
    """Booleans from bools, 0/1 or true/false strings; missing cells stay NA."""

    def parse(value: object) -> object:
        if _missing(value):
            return pd.NA
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in _TRUE

    return values.map(parse).astype("boolean")


def _retweet_flags(raw: pd.DataFrame, text: pd.Series) -> pd.Series:
    by_text = text.str.startswith("RT @")
    if "is_retweet" in raw.columns:
        return _flags(raw["is_retweet"]).fillna(by_text).astype(bool)
    if "retweetedTweet" in raw.columns:  # snscrape's JSONL: the retweeted post, or null
        return raw["retweetedTweet"].notna() | by_text
    if "retweeted" in raw.columns:
        # In Twitter's API `retweeted` can mean "retweeted by me", so the text rule still
        # applies on top of it.
        return _flags(raw["retweeted"]).fillna(False).astype(bool) | by_text
    return by_text


def _reply_flags(raw: pd.DataFrame) -> pd.Series:
    if "is_reply" in raw.columns:
        return _flags(raw["is_reply"]).fillna(False).astype(bool)
    replied_to = _first_column(raw, _REPLY_ID_COLUMNS, default=None).map(_id_string)
    return replied_to.notna()


def _profiles(raw: pd.DataFrame, users: pd.Series) -> list[Profile]:
    names = _first_column(raw, _NAME_COLUMNS, default=None)
    author_names = _first_column(raw, ("user", "author"), default=None).map(
        lambda v: v.get("displayname") or v.get("name") if isinstance(v, dict) else None
    )
    avatars = _first_column(raw, _AVATAR_COLUMNS, default=None)
    profiles = []
    for user in users.drop_duplicates():
        rows = users == user
        display = _first_text(names[rows]) or _first_text(author_names[rows]) or user
        profiles.append(
            Profile(
                platform=PLATFORM,
                user=user,
                display_name=display,
                avatar_url=_first_text(avatars[rows]),
            )
        )
    return profiles


def _first_text(values: pd.Series) -> str | None:
    present = [v for v in values if isinstance(v, str) and v.strip()]
    return present[0].strip() if present else None
