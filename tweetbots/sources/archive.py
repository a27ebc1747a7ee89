"""The X/Twitter archive ("Download an archive of your data"), read offline.

Accepted forms of `archive:PATH`: the downloaded .zip, the extracted folder (holding
`data/`), the `data/` folder itself, or a bare `tweets.js` (its siblings are read too:
`account.js` must be beside it, since posts in an archive do not name their author).

Every archive file is JavaScript, `window.YTD.<name>.part<N> = [ ... ]`: the assignment
is stripped and the rest parsed as JSON. Posts are in `tweets.js` (older archives:
`tweet.js`) plus `tweets-part1.js`, `tweets-part2.js` ... for large accounts. Posts over
280 characters ("note tweets") are stored truncated in `tweets.js` and in full in
`note-tweet.js`; the full text replaces the truncated one (see `_apply_note_tweets`).
Text is kept exactly as stored: `&amp;` and friends stay encoded, cleaning decodes them.
"""

import html
import json
import logging
import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from tweetbots.sources import (
    Profile,
    SourceBatch,
    SourceError,
    is_id,
    parse_json,
    text_field,
)

log = logging.getLogger(__name__)

PLATFORM = "twitter"
# tweets.js / tweet.js / tweets-part1.js ...: anchored so deleted-tweets.js,
# tweet-headers.js and the like are not taken for posts.
_TWEET_FILE = re.compile(r"^tweets?(?:-part(\d+))?\.js$")
_NOTE_FILE = "note-tweet.js"
_ACCOUNT_FILE = "account.js"
_PROFILE_FILE = "profile.js"
_JS_ASSIGNMENT = re.compile(r"^\s*window\.YTD\.[\w.]+\s*=\s*")
_TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
# What a truncated note tweet ends with: an ellipsis, then usually a t.co link.
_TRUNCATION_TAIL = re.compile(r"(?:\s*https?://\S+)?\s*$")
_ELLIPSIS_TAIL = re.compile(r"\s*(?:…|\.\.\.)\s*$")
_NOTE_MATCH_SECONDS = 60
_FIX = "export it again from https://x.com/settings/download_your_data"
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")  # X's rule; it also keeps paths safe
# The most of an archive's data files read, uncompressed, in all. X splits tweets.js into
# parts of about 100 MB (tweets-part1.js ...), some 70,000 posts each: 1 GiB holds ten
# parts. The parsed posts take several times this in memory.
MAX_READ_ENV = "TWEETBOTS_ARCHIVE_MAX_MB"
_DEFAULT_MAX_READ_MB = 1024
# The deflated tweets.js of the sample archives is a tenth of its size; ten times that
# ratio is refused as a zip bomb (past the first MiB: small files pack worse).
_MAX_RATIO = 100
_RATIO_GRACE_BYTES = 2**20
_CHUNK_BYTES = 2**20


def read_archive(argument: str) -> SourceBatch:
    """Every post of an X archive, with the account's profile."""
    path = Path(argument).expanduser()
    files = _archive_files(path, argument)
    tweet_names = sorted((n for n in files if _TWEET_FILE.match(n)), key=_part_number)
    if not tweet_names:
        raise SourceError(
            f"archive {argument!r} holds no tweets.js: pass the archive .zip, its extracted "
            f"folder or its data/tweets.js ({_FIX} if it is missing)"
        )
    if _ACCOUNT_FILE not in files:
        raise SourceError(
            f"archive {argument!r} is incomplete: it has no account.js to name the user; "
            f"pass the whole archive or {_FIX}"
        )
    profile = _read_profile(files, argument)
    tweets = [t for name in tweet_names for t in _read_tweets(files, name, argument)]
    posts = _tweets_frame(tweets, profile.user)
    if _NOTE_FILE in files:
        notes = _read_items(files, _NOTE_FILE, argument, "noteTweet")
        posts = _apply_note_tweets(posts, notes)
    log.info(
        "archive %s: %d posts of @%s from %s",
        argument,
        len(posts),
        profile.user,
        ", ".join(tweet_names),
    )
    return SourceBatch(posts, [profile])


def _archive_files(path: Path, argument: str) -> dict[str, bytes]:
    """The archive's data files we use, by base name, whatever form the archive has."""
    if not path.exists():
        raise SourceError(f"archive {argument!r} does not exist: check the path")
    if path.is_dir():
        return _folder_files(path / "data" if (path / "data").is_dir() else path, argument)
    if path.suffix == ".js":
        return _folder_files(path.parent, argument)
    if not path.is_file():  # a FIFO or a device would be read forever
        raise SourceError(
            f"archive {argument!r} is {_odd_kind(path)}: pass the X archive .zip, its "
            "extracted folder or its data/tweets.js"
        )
    return _zip_files(path, argument)


def _folder_files(folder: Path, argument: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    left = max_read_bytes()
    try:
        for entry in sorted(p for p in folder.iterdir() if _wanted(p.name)):
            if not entry.is_file():
                raise SourceError(
                    f"archive {argument!r}: {entry.name} in {folder} is {_odd_kind(entry)}, not "
                    f"a file; pass the archive as X exported it or {_FIX}"
                )
            with open(entry, "rb") as handle:
                data = _read_within(handle, left, os.fstat(handle.fileno()).st_size)
            files[entry.name] = _within_limit(data, entry.name, argument)
            left -= len(files[entry.name])
    except OSError as exc:  # no permission, a file vanishing while read ...
        raise SourceError(f"archive {argument!r} cannot be read ({_one_line(exc)})") from exc
    return files


def _zip_files(path: Path, argument: str) -> dict[str, bytes]:
    if not zipfile.is_zipfile(path):
        raise SourceError(
            f"archive {argument!r} is not a zip file: pass the X archive .zip, its extracted "
            "folder or its data/tweets.js"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            return _zip_members(archive, argument)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise SourceError(
            f"archive {argument!r} is a corrupt zip ({_one_line(exc)}): download it again"
        ) from exc
    except (NotImplementedError, RuntimeError) as exc:  # Deflate64, a password ...
        raise SourceError(
            f"archive {argument!r} cannot be unpacked here ({_one_line(exc)}): pass its "
            "extracted folder instead"
        ) from exc


def _zip_members(archive: zipfile.ZipFile, argument: str) -> dict[str, bytes]:
    """The wanted members, each checked by its header and read within the limits."""
    files: dict[str, bytes] = {}
    left = max_read_bytes()
    for name, member in _data_members(archive.namelist()).items():
        info = archive.getinfo(member)
        if info.is_dir():
            raise SourceError(
                f"archive {argument!r}: {member} is a folder, not a file; pass the archive "
                f"as X exported it or {_FIX}"
            )
        # A deflated export shrinks about tenfold; a hundredfold is a zip bomb, refused
        # from its header before a byte is inflated. Headers can lie: the read is bounded.
        bomb_at = max(_RATIO_GRACE_BYTES, _MAX_RATIO * info.compress_size)
        with archive.open(info) as handle:
            data = _read_within(handle, min(bomb_at, left), info.file_size)
        if data is None and bomb_at <= left:
            raise SourceError(
                f"archive {argument!r}: {member} inflates over {_MAX_RATIO} times its "
                f"{info.compress_size:,} packed bytes: a zip bomb, not an X export; {_FIX}"
            )
        files[name] = _within_limit(data, member, argument)
        left -= len(files[name])
    return files


def _read_within(handle: BinaryIO, limit: int, declared: int) -> bytes | None:
    """The whole file, in chunks; None once it, or the size declared, passes `limit`."""
    if declared > limit:
        return None
    chunks, size = [], 0
    while chunk := handle.read(_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _within_limit(data: bytes | None, name: str, argument: str) -> bytes:
    if data is None:
        raise SourceError(
            f"archive {argument!r} holds more than {max_read_bytes() / 2**20:.4g} MB of data "
            f"files (at {name}); set {MAX_READ_ENV} to more megabytes to read it"
        )
    return data


def max_read_bytes() -> int:
    """Uncompressed bytes of an archive's data files read at most: MAX_READ_ENV, or 1 GiB."""
    value = os.environ.get(MAX_READ_ENV, "").strip()
    try:
        return int(float(value or _DEFAULT_MAX_READ_MB) * 2**20)
    except ValueError:
        raise SourceError(f"{MAX_READ_ENV}={value!r} is not a number of megabytes") from None


def _odd_kind(path: Path) -> str:
    """What a path that is no regular file is, for the one-line error."""
    if path.is_symlink() and not path.exists():
        return "a broken link"
    return "a folder" if path.is_dir() else "not a regular file (a pipe or a device?)"


def _data_members(names: list[str]) -> dict[str, str]:
    """Base name -> member, preferring files under a `data/` folder, shallowest first.

    A re-zipped archive may have an extra top folder, so `data/` is looked for at any depth.
    """
    members: dict[str, str] = {}
    ranked = sorted(names, key=lambda n: ("/data/" not in f"/{n}", n.count("/"), n))
    for name in ranked:
        base = name.rstrip("/").rsplit("/", 1)[-1]  # a folder's entry ends in "/"
        if _wanted(base) and base not in members:
            members[base] = name
    return members


def _wanted(name: str) -> bool:
    return bool(_TWEET_FILE.match(name)) or name in (_NOTE_FILE, _ACCOUNT_FILE, _PROFILE_FILE)


def _part_number(name: str) -> int:
    match = _TWEET_FILE.match(name)
    return int(match.group(1) or 0) if match else 0


def _read_items(files: dict[str, bytes], name: str, argument: str, key: str) -> list[dict]:
    """The objects of one archive file, unwrapped from their `{key: {...}}` envelope."""
    try:
        text = files[name].decode("utf-8-sig")
        parsed = parse_json(_JS_ASSIGNMENT.sub("", text, count=1))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SourceError(
            f"archive {argument!r}: {name} is unreadable or truncated ({_one_line(exc)}); {_FIX}"
        ) from exc
    # Archives before 2020 stored the objects without the envelope.
    items = (
        [i.get(key, i) if isinstance(i, dict) else i for i in parsed]
        if isinstance(parsed, list)
        else None
    )
    if items is None or not all(isinstance(i, dict) for i in items):
        raise SourceError(
            f"archive {argument!r}: {name} is not a list of objects as X writes it; {_FIX}"
        )
    return items


def _read_tweets(files: dict[str, bytes], name: str, argument: str) -> list[dict]:
    tweets = _read_items(files, name, argument, "tweet")
    for position, tweet in enumerate(tweets):
        if not is_id(tweet.get("id_str")) or not isinstance(tweet.get("full_text"), str):
            raise SourceError(
                f"archive {argument!r}: post #{position} of {name} has no id_str or full_text; "
                f"{_FIX}"
            )
    return tweets


def _read_profile(files: dict[str, bytes], argument: str) -> Profile:
    accounts = _read_items(files, _ACCOUNT_FILE, argument, "account")
    if not accounts or not accounts[0].get("username"):
        raise SourceError(
            f"archive {argument!r} is incomplete: account.js names no username; {_FIX}"
        )
    account = accounts[0]
    user = account["username"]
    if not isinstance(user, str) or not _USERNAME.match(user):
        raise SourceError(
            f"archive {argument!r}: account.js names the user {repr(user)[:80]}, not an X username "
            f"(1-15 letters, digits or _); {_FIX}"
        )
    profiles = (
        _read_items(files, _PROFILE_FILE, argument, "profile") if (_PROFILE_FILE in files) else []
    )
    return Profile(
        platform=PLATFORM,
        user=user,
        display_name=text_field(account.get("accountDisplayName")) or user,
        avatar_url=text_field(profiles[0].get("avatarMediaUrl")) if profiles else None,
        profile_url=f"https://x.com/{user}",
    )


def _tweets_frame(tweets: list[dict[str, Any]], user: str) -> pd.DataFrame:
    ids = [str(t["id_str"]) for t in tweets]
    texts = [t["full_text"] for t in tweets]
    replied_to = [
        t.get("in_reply_to_status_id_str") or t.get("in_reply_to_status_id") for t in tweets
    ]
    created = pd.to_datetime(
        pd.Series([text_field(t.get("created_at")) for t in tweets], dtype="object"),
        format=_TWITTER_TIME,
        utc=True,
        errors="coerce",
    )
    return pd.DataFrame(
        {
            "id": ids,
            "user": user,
            "created_at": created,
            "text": texts,
            # Archives carry no usable retweet flag (`retweeted` means "I retweeted this").
            "is_retweet": [text.startswith("RT @") for text in texts],
            "is_reply": [bool(r) for r in replied_to],
            "platform": PLATFORM,
            "url": [f"https://x.com/{user}/status/{i}" for i in ids],
        }
    )


def _apply_note_tweets(posts: pd.DataFrame, notes: list[dict]) -> pd.DataFrame:
    """Replace each truncated long post by the full text of its note tweet.

    Archives do not link a post to its note, so a post matches a note when its text,
    without the trailing link and ellipsis, starts the note's text (HTML entities decoded
    on both sides) and the two were created within a minute of each other. The first
    such post per note wins.
    """
    posts = posts.copy()
    for note in notes:
        core = note.get("core")
        text = text_field(core.get("text")) if isinstance(core, dict) else None
        created = pd.to_datetime(text_field(note.get("createdAt")), utc=True, errors="coerce")
        if not text or pd.isna(created):
            continue
        full = html.unescape(text)
        near = posts.index[
            (posts["created_at"] - created).abs() <= pd.Timedelta(seconds=_NOTE_MATCH_SECONDS)
        ]
        for row in near:
            if _is_truncation_of(posts.at[row, "text"], full):
                posts.at[row, "text"] = text
                break
    return posts


def _is_truncation_of(stored: str, full: str) -> bool:
    head = _ELLIPSIS_TAIL.sub("", _TRUNCATION_TAIL.sub("", stored, count=1))
    head = html.unescape(head).strip()
    return bool(head) and len(head) < len(full) and full.startswith(head)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
