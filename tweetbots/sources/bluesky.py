"""`bluesky:HANDLE`: an account's posts through Bluesky's public AppView (no sign-in).

HANDLE is a handle (`alice.bsky.social`, an optional leading @) or a DID (`did:plc:...`).
`app.bsky.actor.getProfile` gives the DID, handle, display name and avatar; then
`app.bsky.feed.getAuthorFeed` (the DID as actor, 100 items a page: the maximum) is paged by
`cursor`, newest first, up to `MAX_POSTS` items, posts and reposts alike, replies included.
Paging is bounded (`tweetbots.sources.paging`): a cursor the AppView sends twice ends it
with an error, as do too many pages or too long.

Ids are record keys, which for posts are TIDs: 13 characters encoding the creation time in
microseconds, so ids of one account sort by time as plain strings. A post's id is its
rkey (`at://did/app.bsky.feed.post/<rkey>`); a repost's id is the rkey of the user's repost
record (`reason.uri`; where the AppView does not send it, a TID built from the repost's
`indexedAt`), so it sorts by when the user reposted, as the feed does. `newer_than` is
such an id: items whose id is not greater are dropped, and paging stops at the first page
holding one (the feed is ordered by time). A post with a non-TID rkey (rare: imported
posts) is still read, but does not order against `newer_than` reliably.

Mapping: `user` the handle in lower case (the DID if the handle does not verify); reposts
are retweets with the reposted post's text, dated when reposted (`reason.indexedAt`);
replies have `record.reply`; `url` is the post's page on bsky.app (for a repost, the
original). Text is `record.text` with each link's display text (often its address cut
short and without the scheme: `bsky.app/profile/…`) replaced by its full URL from the link
facet, `https://` added where a client left the scheme out, so cleaning's link rule
removes it; then encoded the way X archives deliver text (`&`, `<`, `>` as entities), as
in `tweetbots.sources.mastodon`.
"""

import html
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pandas as pd

from tweetbots.sources import (
    RAW_COLUMNS,
    Profile,
    SourceBatch,
    SourceError,
    parse_json,
    text_field,
    utc_times,
)
from tweetbots.sources.client import base_url, client, polite_get
from tweetbots.sources.paging import Pages

log = logging.getLogger(__name__)

PLATFORM = "bluesky"
MAX_POSTS = 3200
PAGE_SIZE = 100  # getAuthorFeed's maximum `limit`
BASE_URL_ENV = "TWEETBOTS_BLUESKY_BASE_URL"
DEFAULT_BASE_URL = "https://public.api.bsky.app"
REPOST = "app.bsky.feed.defs#reasonRepost"
_LINK_FEATURE = "app.bsky.richtext.facet#link"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+-]*:")  # no dot: `example.com:8080` has none
# The AT Protocol's handle and DID syntax (atproto.com/specs/handle, /specs/did).
_HANDLE = re.compile(
    r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
_DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._-]$")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_FOUND = {"Profile not found", "NotFound", "ProfileNotFound"}
_GONE = {
    "AccountTakedown": "has been taken down by Bluesky moderation",
    "AccountDeactivated": "is deactivated",
    "BlockedActor": "blocks this reader",
    "BlockedByActor": "is blocked by this reader",
}


def read_bluesky(argument: str, newer_than: str | None = None) -> SourceBatch:
    """Up to MAX_POSTS most recent posts and reposts of a Bluesky account."""
    actor = parse_actor(argument)
    label = f"bluesky:{actor}"
    with client(base_url(BASE_URL_ENV, DEFAULT_BASE_URL)) as session:
        profile = _xrpc(session, "app.bsky.actor.getProfile", {"actor": actor}, label)
        if not isinstance(profile.get("did"), str) or not _DID.match(profile["did"]):
            raise SourceError(
                f"{label}: the profile answer has no DID; is "
                f"{session.base_url.host} a Bluesky AppView?"
            )
        user = _user(profile)
        rows = _feed_rows(session, profile["did"], user, newer_than, label)
    log.info("%s: %d posts%s", label, len(rows), f" newer than {newer_than}" if newer_than else "")
    posts = pd.DataFrame(rows, columns=RAW_COLUMNS)
    posts["created_at"] = utc_times(posts["created_at"], label)
    return SourceBatch(
        posts,
        [
            Profile(
                platform=PLATFORM,
                user=user,
                display_name=text_field(profile.get("displayName")) or user,
                avatar_url=text_field(profile.get("avatar")),
                profile_url=f"https://bsky.app/profile/{user}",
            )
        ],
    )


def parse_actor(argument: str) -> str:
    actor = argument.strip().removeprefix("@")
    if _DID.match(actor) and len(actor) <= 2048:
        return actor
    if _HANDLE.match(actor) and len(actor) <= 253:
        return actor.lower()  # handles are case-insensitive
    raise SourceError(
        f"bluesky:{argument!r} is not a Bluesky handle or DID: use e.g. "
        "bluesky:alice.bsky.social or bluesky:did:plc:..."
    )


def _user(profile: dict[str, Any]) -> str:
    handle = profile.get("handle")
    # "handle.invalid" is what the AppView shows when a handle no longer verifies.
    if isinstance(handle, str) and _HANDLE.match(handle) and handle != "handle.invalid":
        return handle.lower()
    return profile["did"]


def _xrpc(session: httpx.Client, method: str, params: dict[str, Any], label: str) -> dict[str, Any]:
    """One XRPC query's JSON, its documented errors turned into one-line SourceErrors."""
    response = polite_get(session, f"/xrpc/{method}", params, label)
    try:
        body = parse_json(response.content)
    except (ValueError, RecursionError):
        body = None
    if response.status_code == 200 and isinstance(body, dict):
        return body
    error = body.get("error", "") if isinstance(body, dict) else ""
    message = body.get("message", "") if isinstance(body, dict) else ""
    if error in _GONE:
        raise SourceError(
            f"{label}: the account {_GONE[error]} ({error}); its posts cannot "
            "be read, pick another account"
        )
    if response.status_code == 404 or message in _NOT_FOUND or error in _NOT_FOUND:
        raise SourceError(
            f"{label}: no such Bluesky account; check the handle (as shown on "
            "its profile, e.g. alice.bsky.social) or use its DID"
        )
    detail = f"{error}: {message}" if error or message else f"HTTP {response.status_code}"
    raise SourceError(f"{label}: {method} failed ({' '.join(detail.split())}); try again later")


def _feed_rows(
    session: httpx.Client, did: str, user: str, newer_than: str | None, label: str
) -> list[dict[str, Any]]:
    """The author feed as raw rows, newest first, until MAX_POSTS, newer_than or the end."""
    params: dict[str, Any] = {"actor": did, "limit": PAGE_SIZE}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    pages = Pages(label, "cursor")
    while len(rows) < MAX_POSTS:
        page = _xrpc(session, "app.bsky.feed.getAuthorFeed", params, label)
        feed = page.get("feed") or []
        if not isinstance(feed, list):
            raise SourceError(
                f"{label}: the author feed answer has no list of posts; is "
                f"{session.base_url.host} a Bluesky AppView?"
            )
        items = [r for r in map(_item_row, feed) if r is not None]
        fresh = [r for r in items if not newer_than or r["id"] > newer_than]
        rows += [{**r, "user": user} for r in fresh if r["id"] not in seen]
        seen.update(r["id"] for r in fresh)
        cursor = text_field(page.get("cursor"))
        if not feed or len(fresh) < len(items) or not cursor:
            break
        pages.advance(cursor)
        params["cursor"] = cursor
    return rows[:MAX_POSTS]


def _item_row(item: Any) -> dict[str, Any] | None:
    """One feed item (a feedViewPost) as a raw row without its user; None if not a post.

    Malformed items (a field of the wrong type, no usable id) are not posts either.
    """
    item = _object(item)
    post, reason = _object(item.get("post")), _object(item.get("reason"))
    record = _object(post.get("record"))
    repost = reason.get("$type") == REPOST
    uri = post.get("uri")
    if not isinstance(uri, str) or (reason and not repost):  # e.g. a pinned post's repeat
        return None
    did, _, rkey = uri.removeprefix("at://").partition("/app.bsky.feed.post/")
    post_id = _repost_id(reason) if repost else rkey
    if not post_id:
        return None
    author = text_field(_object(post.get("author")).get("handle")) or did
    return {
        "id": post_id,
        "created_at": (
            text_field(reason.get("indexedAt"))
            if repost
            else text_field(record.get("createdAt")) or text_field(post.get("indexedAt"))
        ),
        "text": html.escape(_expanded_text(record), quote=False),
        "is_retweet": repost,
        "is_reply": not repost and record.get("reply") is not None,
        "platform": PLATFORM,
        "url": f"https://bsky.app/profile/{author}/post/{rkey}",
    }


def _repost_id(reason: dict[str, Any]) -> str | None:
    uri = reason.get("uri")
    if isinstance(uri, str) and "/app.bsky.feed.repost/" in uri:
        return uri.rsplit("/", 1)[-1]
    # Older AppViews do not name the repost record: a TID of the repost time stands in.
    try:
        return tid_from_time(reason["indexedAt"])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return None  # no usable time either


def _object(value: Any) -> dict[str, Any]:
    """A JSON object field, or an empty one when absent or of another type."""
    return value if isinstance(value, dict) else {}


def tid_from_time(timestamp: str) -> str:
    """A TID (clock id 0) for an ISO time: 53 bits of microseconds, 10 of clock, base32."""
    when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    value = ((when - _EPOCH) // timedelta(microseconds=1)) << 10
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _expanded_text(record: dict[str, Any]) -> str:
    """record.text with every link facet's display text replaced by its full URL.

    A facet's URL without a scheme (some clients write `example.com/x`) is read as https,
    so that the link rule removes it like any other link.
    """
    text = record.get("text")
    if not isinstance(text, str):
        return ""
    data = text.encode()  # facet offsets count UTF-8 bytes
    facets = record.get("facets")
    spans = sorted(_link_spans(facets if isinstance(facets, list) else [], len(data)), reverse=True)
    for start, end, url in spans:
        full = url if _SCHEME.match(url) else f"https://{url}"
        data = data[:start] + full.encode() + data[end:]
    return data.decode(errors="replace")


def _link_spans(facets: list[Any], size: int) -> list[tuple[int, int, str]]:
    spans = sorted(span for facet in facets if (span := _link_span(facet, size)))
    # Overlapping facets would garble the text: keep the first of any overlap.
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def _link_span(facet: Any, size: int) -> tuple[int, int, str] | None:
    """(byteStart, byteEnd, url) of a link facet; None for other or malformed facets."""
    if not isinstance(facet, dict):
        return None
    index = _object(facet.get("index"))
    start, end = index.get("byteStart"), index.get("byteEnd")
    urls = [
        f.get("uri")
        for f in facet.get("features") or []
        if isinstance(f, dict) and f.get("$type") == _LINK_FEATURE
    ]
    valid = isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size
    return (start, end, urls[0]) if valid and urls and isinstance(urls[0], str) else None
