"""Real HTTP servers on 127.0.0.1 speaking just enough Mastodon and Bluesky for the readers.

`FakeServer` is a threaded `http.server` on a free port: routes map a path pattern to a
function of the request, every request is recorded (with its arrival time), and replies
queued for a path are served first (for 503s and 429s before the real answer).
`FakeMastodon` and `FakeBluesky` install the documented endpoints with their paging rules,
including the details the readers must cope with: Mastodon's `Link: rel="next"` drops
`since_id`, and the AppView refuses a `limit` over 100.

Hostile servers too: a `Reply` can trickle its body (and headers) one byte at a time,
`FakeServer.override` puts a misbehaving route before the documented one, and
`page_forever` makes either platform page without end (a cursor or `max_id` chosen by
the test: repeated, cycling, going the wrong way, or always new).
"""

import base64
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.loopback import LoopbackServer


class Request(NamedTuple):
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


class Reply(NamedTuple):
    status: int
    body: Any = None
    headers: dict[str, str] = {}
    # A hostile server: > 0 sends the body one byte at a time with this pause in between
    # (and the status line and headers too, with trickle_headers).
    trickle_s: float = 0.0
    trickle_headers: bool = False


Handler = Callable[[Request, re.Match], Reply]


class FakeServer:
    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern, Handler]] = []
        self.queued: dict[str, deque[Reply]] = defaultdict(deque)
        self.requests: list[Request] = []
        self._server = LoopbackServer(self._handler_class())
        self.url, self.port = self._server.url, self._server.port

    def start(self) -> "FakeServer":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def route(self, pattern: str, handler: Handler) -> None:
        self.routes.append((re.compile(f"^{pattern}$"), handler))

    def override(self, pattern: str, handler: Handler) -> None:
        """A route that comes before those already there (a misbehaving endpoint)."""
        self.routes.insert(0, (re.compile(f"^{pattern}$"), handler))

    def queue(self, path: str, *replies: Reply) -> None:
        self.queued[path].extend(replies)

    def seen(self, path_pattern: str) -> list[Request]:
        return [r for r in self.requests if re.fullmatch(path_pattern, r.path)]

    def answer(self, request: Request) -> Reply:
        self.requests.append(request)
        if self.queued[request.path]:
            return self.queued[request.path].popleft()
        for pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match:
                return handler(request, match)
        return Reply(404, {"error": "not found"})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                request = Request(parts.path, query, dict(self.headers.items()), time.monotonic())
                reply = server.answer(request)
                body = b"" if reply.body is None else json.dumps(reply.body).encode()
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "Content-Length": str(len(body)),
                    **reply.headers,
                }
                if reply.trickle_s:
                    self._trickle(reply, headers, body)
                    return
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _trickle(self, reply: Reply, headers: dict[str, str], body: bytes) -> None:
                status = f"{self.protocol_version} {reply.status} {HTTPStatus(reply.status).phrase}"
                lines = [status, *(f"{name}: {value}" for name, value in headers.items())]
                head = "\r\n".join([*lines, "", ""]).encode()
                if not reply.trickle_headers:
                    self.wfile.write(head)
                    head = b""
                try:
                    for byte in head + body:
                        self.wfile.write(bytes([byte]))
                        time.sleep(reply.trickle_s)
                except OSError:  # the client gave up: what a trickling server hopes it won't
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return _Handler


# -- Mastodon ---------------------------------------------------------------------------

MASTODON_EPOCH = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def mastodon_account(account_id: str, username: str, host: str, **extra: Any) -> dict:
    return {
        "id": account_id,
        "username": username,
        "acct": username,
        "display_name": extra.pop("display_name", username.title()),
        "locked": False,
        "url": f"https://{host}/@{username}",
        "avatar": f"https://{host}/system/accounts/avatars/{account_id}/original/a.png",
        **extra,
    }


def mastodon_status(number: int, account: dict, content: str | None = None, **extra: Any) -> dict:
    """A status object; ids grow with `number` like Mastodon's snowflakes."""
    status_id = str(110_000_000_000_000_000 + number * 1000)
    host = urlsplit(account["url"]).hostname
    return {
        "id": status_id,
        "created_at": (MASTODON_EPOCH + timedelta(minutes=number))
        .isoformat()
        .replace("+00:00", ".000Z"),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://{host}/users/{account['username']}/statuses/{status_id}",
        "url": f"https://{host}/@{account['username']}/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "content": content if content is not None else f"<p>post number {number}</p>",
        "reblog": None,
        "account": account,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
        **extra,
    }


class FakeMastodon:
    """accounts/lookup and accounts/:id/statuses with Mastodon's paging (newest first)."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.accounts: dict[str, dict] = {}
        self.statuses: dict[str, list[dict]] = {}
        server.route("/api/v1/accounts/lookup", self._lookup)
        server.route(r"/api/v1/accounts/(\w+)/statuses", self._account_statuses)

    def add_account(self, username: str, host: str, count: int = 0) -> dict:
        account = mastodon_account(str(1000 + len(self.accounts)), username, host)
        self.accounts[username] = account
        self.statuses[account["id"]] = [mastodon_status(n, account) for n in range(count)]
        return account

    def add_status(self, account: dict, status: dict) -> None:
        self.statuses[account["id"]].append(status)

    def page_forever(self, account: dict, step: Callable[[str | None], str]) -> None:
        """A misbehaving instance: every statuses request is answered with one status, its
        id `step(the max_id asked, None on the first page)`, and a Link rel=next to it."""

        def statuses(request: Request, match: re.Match) -> Reply:
            status = mastodon_status(0, account, id=step(request.query.get("max_id")))
            older = urlencode({"limit": 40, "max_id": status["id"]})
            link = f'<{self.server.url}{request.path}?{older}>; rel="next"'
            return Reply(200, [status], {"Link": link})

        self.server.override(rf"/api/v1/accounts/{account['id']}/statuses", statuses)

    def _lookup(self, request: Request, match: re.Match) -> Reply:
        account = self.accounts.get(request.query.get("acct", "").split("@")[0])
        return Reply(200, account) if account else Reply(404, {"error": "Record not found"})

    def _account_statuses(self, request: Request, match: re.Match) -> Reply:
        if match.group(1) not in self.statuses:
            return Reply(404, {"error": "Record not found"})
        query = request.query
        limit = min(int(query.get("limit", 20)), 40)
        key = lambda s: int(s["id"])  # noqa: E731
        chosen = sorted(self.statuses[match.group(1)], key=key, reverse=True)
        if "max_id" in query:
            chosen = [s for s in chosen if key(s) < int(query["max_id"])]
        if "since_id" in query:
            chosen = [s for s in chosen if key(s) > int(query["since_id"])]
        page = chosen[:limit]
        return Reply(200, page, self._links(request, page, limit))

    def _links(self, request: Request, page: list[dict], limit: int) -> dict[str, str]:
        if not page:
            return {}
        # As Mastodon builds them: only `limit` and the bound survive, since_id is dropped.
        base = f"{self.server.url}{request.path}"
        older = urlencode({"limit": limit, "max_id": page[-1]["id"]})
        newer = urlencode({"limit": limit, "min_id": page[0]["id"]})
        return {"Link": f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'}


# -- Bluesky ----------------------------------------------------------------------------

BLUESKY_EPOCH = datetime(2024, 11, 1, 8, 0, tzinfo=UTC)
_S32 = "234567abcdefghijklmnopqrstuvwxyz"


def tid(when: datetime, clock: int = 7) -> str:
    value = ((when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)) << 10
    value |= clock
    return "".join(_S32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def bluesky_profile(handle: str, did: str, **extra: Any) -> dict:
    return {
        "did": did,
        "handle": handle,
        "displayName": extra.pop("displayName", "Alice A."),
        "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkreiavatar@jpeg",
        "followersCount": 10,
        "followsCount": 5,
        "postsCount": 3,
        "indexedAt": "2024-01-01T00:00:00.000Z",
        "labels": [],
        **extra,
    }


def bluesky_post(author: dict, number: int, text: str | None = None, **record_extra: Any) -> dict:
    """A postView: rkey a TID of its creation time, like the app makes them."""
    when = BLUESKY_EPOCH + timedelta(minutes=number)
    record = {
        "$type": "app.bsky.feed.post",
        "text": text or f"skeet number {number}",
        "createdAt": when.isoformat().replace("+00:00", ".000Z"),
        "langs": ["en"],
        **record_extra,
    }
    return {
        "uri": f"at://{author['did']}/app.bsky.feed.post/{tid(when)}",
        "cid": f"bafyreipost{number}",
        "author": {
            "did": author["did"],
            "handle": author["handle"],
            "displayName": author.get("displayName", ""),
        },
        "record": record,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "quoteCount": 0,
        "indexedAt": record["createdAt"],
        "labels": [],
    }


def repost_item(owner: dict, post: dict, minutes: int, with_uri: bool = True) -> dict:
    when = BLUESKY_EPOCH + timedelta(minutes=minutes)
    reason = {
        "$type": "app.bsky.feed.defs#reasonRepost",
        "by": {"did": owner["did"], "handle": owner["handle"]},
        "indexedAt": when.isoformat().replace("+00:00", ".000Z"),
    }
    if with_uri:
        reason |= {
            "uri": f"at://{owner['did']}/app.bsky.feed.repost/{tid(when, 3)}",
            "cid": "bafyreirepost",
        }
    return {"post": post, "reason": reason}


class FakeBluesky:
    """getProfile and getAuthorFeed of the public AppView, with cursor paging."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.profiles: dict[str, dict] = {}
        self.feeds: dict[str, list[dict]] = {}
        self.errors: dict[str, Reply] = {}
        server.route("/xrpc/app.bsky.actor.getProfile", self._get_profile)
        server.route("/xrpc/app.bsky.feed.getAuthorFeed", self._get_author_feed)

    def add_profile(self, handle: str, did: str, count: int = 0) -> dict:
        profile = bluesky_profile(handle, did)
        self.profiles[handle] = self.profiles[did] = profile
        self.feeds[did] = [{"post": bluesky_post(profile, n)} for n in range(count)]
        return profile

    def add_item(self, profile: dict, item: dict) -> None:
        self.feeds[profile["did"]].append(item)

    def page_forever(self, profile: dict, step: Callable[[str | None], str]) -> None:
        """A misbehaving AppView: every getAuthorFeed request is answered with the same
        post and the cursor `step(the cursor asked, None on the first page)`."""
        item = {"post": bluesky_post(profile, 0)}

        def feed(request: Request, match: re.Match) -> Reply:
            return Reply(200, {"feed": [item], "cursor": step(request.query.get("cursor"))})

        self.server.override("/xrpc/app.bsky.feed.getAuthorFeed", feed)

    def _get_profile(self, request: Request, match: re.Match) -> Reply:
        actor = request.query.get("actor", "")
        if actor in self.errors:
            return self.errors[actor]
        if actor in self.profiles:
            return Reply(200, self.profiles[actor])
        return Reply(400, {"error": "InvalidRequest", "message": "Profile not found"})

    def _get_author_feed(self, request: Request, match: re.Match) -> Reply:
        query = request.query
        limit = int(query.get("limit", 50))
        if not 1 <= limit <= 100:
            return Reply(
                400, {"error": "InvalidRequest", "message": "Error: limit must be less than 100"}
            )
        profile = self.profiles.get(query.get("actor", ""))
        if profile is None:
            return Reply(400, {"error": "InvalidRequest", "message": "Profile not found"})
        items = sorted(self.feeds[profile["did"]], key=_sort_at, reverse=True)
        start = int(base64.b64decode(query["cursor"])) if "cursor" in query else 0
        page = items[start : start + limit]
        body: dict[str, Any] = {"feed": page}
        if page:  # like the AppView: a cursor while it returned items, even at the end
            body["cursor"] = base64.b64encode(str(start + limit).encode()).decode()
        return Reply(200, body)


def link_facet(text: str, shown: str, uri: str) -> dict:
    """A Bluesky link facet over the first `shown` in `text` (byte offsets), linking `uri`."""
    start = text.encode().index(shown.encode())
    return {
        "index": {"byteStart": start, "byteEnd": start + len(shown.encode())},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


def mastodon_link(url: str, shown: str | None = None, rest: str = "") -> str:
    """A link as Mastodon renders it: the scheme hidden, then what it shows (the whole
    address unless `shown` is given) and the overflow `rest` hidden."""
    scheme, address = url.split("://", 1)
    shown_class = "ellipsis" if rest else ""
    return (
        f'<a href="{url}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{scheme}://</span>'
        f'<span class="{shown_class}">{address if shown is None else shown}</span>'
        f'<span class="invisible">{rest}</span></a>'
    )


def _sort_at(item: dict) -> str:
    reason = item.get("reason") or {}
    return reason.get("indexedAt") or item["post"]["record"]["createdAt"]
