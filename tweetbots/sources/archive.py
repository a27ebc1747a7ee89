"""The X/Twitter archive ("Download an archive of your data"), read offline.

Accepted forms of `archive:PATH`: the downloaded .zip, the extracted folder (holding
`data/`), the `data/` folder itself, or a bare `tweets.js` (its siblings are read too:
`account.js` must be beside it, since posts in an archive do not name their author).

Every archive file is JavaScript, `window.YTD.<name>.part<N> = [ ... ]`: the assignment
is stripped and the rest parsed as JSON. Posts are in `tweets.js` (older archives:
`tweet.js`) plus `tweets-part1.js`, `tweets-part2.js` ... for large accounts.

Edited posts: the archive holds every version as its own entry, tied by `edit_info`; only
the latest version is read, so an edited post is counted once (`_latest_versions`).
Long posts ("note tweets", over 280 characters) are stored truncated in `tweets.js` and in
full in `note-tweet.js`; the full text replaces the truncated one (`_with_note_texts`).
Text is kept exactly as stored: `&amp;` and friends stay encoded, cleaning decodes them.
"""

import bisect
import html
import json
import logging
import os
import re
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

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
# A long post's stored text: its start, an ellipsis, then its links (often two: a quoted
# post and media). Links are compared without their t.co addresses, which may differ.
_LINK = re.compile(r"https?://\S+")
_ELLIPSES = ("…", "...")
_LEADING_MENTION = re.compile(r"@\w+\s+")  # a reply's `@handle`s, absent from its note
_NOTE_MATCH_SECONDS = 60
_TWITTER_EPOCH_MS = 1288834974657  # snowflake ids count milliseconds from here
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
    tweets = _latest_versions(tweets, argument)
    texts = [t["full_text"] for t in tweets]
    if _NOTE_FILE in files:
        notes = _read_items(files, _NOTE_FILE, argument, "noteTweet")
        texts = _with_note_texts(tweets, notes, argument)
    posts = _tweets_frame(tweets, texts, profile.user)
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


def _tweets_frame(tweets: list[dict[str, Any]], texts: list[str], user: str) -> pd.DataFrame:
    ids = [str(t["id_str"]) for t in tweets]
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


# -- edited posts -----------------------------------------------------------------------


def _latest_versions(tweets: list[dict], argument: str) -> list[dict]:
    """Each edited post once, in its latest version; other posts as they are, in order.

    Every version of an edited post is an entry of its own. The first version carries
    `edit_info.initial` (`editTweetIds`: the versions' ids, oldest first); each later one
    `edit_info.edit`, naming the first in `initialTweetId` (and listing the versions in
    `editControlInitial.editTweetIds`). Versions are grouped by the first one's id, and the
    latest is the one with the highest id: ids are snowflakes, which grow with time.
    """
    chains = [_first_version(t) for t in tweets]
    latest: dict[str, str] = {}
    for chain, tweet in zip(chains, tweets, strict=True):
        if chain not in latest or _id_order(tweet["id_str"]) > _id_order(latest[chain]):
            latest[chain] = str(tweet["id_str"])
    kept = [t for c, t in zip(chains, tweets, strict=True) if str(t["id_str"]) == latest[c]]
    if len(kept) < len(tweets):
        log.info(
            "archive %s: %d earlier versions of edited posts skipped (each is read once, "
            "in its latest version)",
            argument,
            len(tweets) - len(kept),
        )
    return kept


def _first_version(tweet: dict) -> str:
    """The id of the first version of the post `tweet` is a version of (its own if none)."""
    edit = _object(_object(tweet.get("edit_info")).get("edit"))
    initial = edit.get("initialTweetId")
    if isinstance(initial, str | int) and not isinstance(initial, bool) and str(initial):
        return str(initial)
    versions = _object(edit.get("editControlInitial")).get("editTweetIds")
    if isinstance(versions, list) and versions and isinstance(versions[0], str | int):
        return str(versions[0])
    return str(tweet["id_str"])


def _id_order(post_id: object) -> tuple[int, str]:
    """Numeric order for decimal ids (snowflakes), without trusting them to be numbers."""
    text = str(post_id)
    return len(text), text


# -- long posts ---------------------------------------------------------------------------


class _Note(NamedTuple):
    text: str
    times: list[float]  # seconds since the Unix epoch: created, updated, its id's time


def _with_note_texts(tweets: list[dict], notes: list[dict], argument: str) -> list[str]:
    """Each post's text, with the full text of its note where it is a truncated long post.

    Neither file names the other's entry: what ties a post to its note is when both were
    made (public archive readers pair them the same way). The note's `createdAt` is the
    post's `created_at` (for an edited post, `updatedAt` may be its latest version's), and
    `noteTweetId`, a snowflake, encodes that moment too, as the post's id and, through
    `edit_info`, its first version's id do. So a post and a note are paired when one time
    of each lies within a minute of the other AND the post's stored text is a truncation
    of the note's: its start up to the ellipsis, links compared without their t.co
    addresses (which differ between the files, and may be several after the ellipsis),
    and a reply's leading `@handle`s allowed to be missing from the note (they are kept
    in front of it). The closest pairs are taken first, each post and each note at most
    once, and a post without an ellipsis is never paired: a note never lands on a
    second or a wrong post.
    """
    texts = [str(t["full_text"]) for t in tweets]
    parsed = [n for n in map(_parse_note, notes) if n is not None]
    heads = [_truncated_head(text) for text in texts]
    used_notes: set[int] = set()
    for _, post, note, full in sorted(_candidate_pairs(tweets, parsed, heads, texts)):
        if heads[post] is not None and note not in used_notes:
            texts[post], heads[post] = full, None
            used_notes.add(note)
    left = sum(head is not None for head in heads)
    if left:
        log.warning(
            "archive %s: %d posts end in an ellipsis but no long post in %s matches them; "
            "they keep their text as stored",
            argument,
            left,
            _NOTE_FILE,
        )
    if len(used_notes) < len(parsed):  # earlier versions of edited posts, deleted posts
        log.info(
            "archive %s: %d of %d long posts in %s belong to no post read",
            argument,
            len(parsed) - len(used_notes),
            len(parsed),
            _NOTE_FILE,
        )
    return texts


def _candidate_pairs(
    tweets: list[dict], notes: list[_Note], heads: list[str | None], texts: list[str]
) -> list[tuple[float, int, int, str]]:
    """(time apart, post, note, the post's full text) for every post a note may belong to."""
    moments = sorted(
        (moment, post)
        for post, tweet in enumerate(tweets)
        if heads[post] is not None
        for moment in _post_times(tweet)
    )
    keys = [moment for moment, _ in moments]
    pairs = []
    for index, note in enumerate(notes):
        for time in note.times:
            low = bisect.bisect_left(keys, time - _NOTE_MATCH_SECONDS)
            high = bisect.bisect_right(keys, time + _NOTE_MATCH_SECONDS)
            for moment, post in moments[low:high]:
                full = _full_text(texts[post], heads[post], note.text)
                if full is not None:
                    pairs.append((abs(moment - time), post, index, full))
    return pairs


def _parse_note(item: dict) -> _Note | None:
    core = _object(item.get("core"))
    text = text_field(core.get("text"))
    if text is None:
        return None
    times = [_iso_seconds(item.get("createdAt")), _iso_seconds(item.get("updatedAt"))]
    times.append(_snowflake_seconds(item.get("noteTweetId")))
    return _Note(text, sorted({t for t in times if t is not None}))


def _post_times(tweet: dict) -> list[float]:
    times = [_twitter_seconds(tweet.get("created_at")), _snowflake_seconds(tweet["id_str"])]
    times.append(_snowflake_seconds(_first_version(tweet)))
    return sorted({t for t in times if t is not None})


def _truncated_head(stored: str) -> str | None:
    """A long post's stored text up to its ellipsis, or None if it is not truncated."""
    text = _LINK.sub(" ", stored).rstrip()
    for ellipsis in _ELLIPSES:
        if text.endswith(ellipsis):
            return text.removesuffix(ellipsis)
    return None


def _full_text(stored: str, head: str | None, note: str) -> str | None:
    """The post's full text if `head` (its stored start) begins the note's text, else None.

    A reply's stored text starts with `@handle`s the note may lack: they are skipped one by
    one, and those skipped are kept in front of the note's text.
    """
    if head is None:
        return None
    full = _comparable(note)
    skipped = 0
    while True:
        rest = _comparable(head[skipped:])
        if rest and full.startswith(rest):
            return stored[:skipped] + note
        mention = _LEADING_MENTION.match(head, skipped)
        if mention is None:
            return None
        skipped = mention.end()


def _comparable(text: str) -> str:
    return " ".join(html.unescape(_LINK.sub(" ", text)).split())


def _iso_seconds(value: object) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp() if text_field(value) else None
    except (ValueError, OverflowError, OSError):  # not a time, or one no clock can hold
        return None


def _twitter_seconds(value: object) -> float | None:
    try:
        return datetime.strptime(str(value), _TWITTER_TIME).timestamp() if value else None
    except (ValueError, OverflowError, OSError):
        return None


def _snowflake_seconds(value: object) -> float | None:
    """When a snowflake id was made; None if it is no decimal id. (Ids from before
    snowflakes, late 2010, give times in 2010: far from any long post.)"""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 20):
        return None
    return ((int(text) >> 22) + _TWITTER_EPOCH_MS) / 1000


def _object(value: Any) -> dict[str, Any]:
    """A JSON object field, or an empty one when absent or of another type."""
    return value if isinstance(value, dict) else {}


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
