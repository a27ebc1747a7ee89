"""`mastodon:@user@instance`: an account's public posts through the instance's REST API.

No sign-in: `GET /api/v1/accounts/lookup?acct=user` finds the account, then
`GET /api/v1/accounts/:id/statuses` is paged newest first, 40 statuses a page (the API's
maximum), with `max_id` = the oldest id of the previous page, up to `MAX_POSTS` (the
original's limit) or the end of the account's posts. For the nightly increment,
`newer_than` (a status id already stored) is sent as `since_id`, so only newer posts come
back; our own paging keeps it on every request because the `Link: rel="next"` URL
Mastodon builds drops it. Ids are decimal strings: `(len, str)` orders them numerically.
Paging is bounded (`tweetbots.sources.paging`): a `max_id` that is not older than the
last one ends it with an error, as do too many pages or too long.

Mapping to the raw schema: `id` the status id; `user` `user@instance` in lower case (the
instance is part of the name: `ada@a.social` and `ada@b.social` are different people);
`created_at` as given (UTC); boosts (`reblog` not null) are retweets, with the boosted
post's text and URL; replies have an `in_reply_to_id`; `url` the status page.

Text: statuses are HTML. Tags are dropped, `<br>` becomes a newline and paragraphs are
separated by a blank line, entities are decoded once; the result is then re-encoded the
way X/Twitter archives deliver text (`&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`, see
`tweetbots.sources.archive`). Cleaning decodes entities exactly once, so it gets back the
author's exact words, even a literal "&amp;" they typed, which plain decoded text would
lose. The content warning (`spoiler_text`) and media descriptions are not part of the text.
Two things the author did not write are left out or made plain: the quote-post fallback
(an element of class `quote-inline`, "RE: <link to the quoted post>", which Mastodon adds
for older servers and its own clients hide) is dropped, and a link shown as its address
without the scheme (`bsky.app/profile/…`, as bridged and some remote posts show links)
becomes its `href`, so the cleaning's link rule removes it as it removes any link.
"""

import html
import logging
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs

import httpx
import pandas as pd

from tweetbots.sources import (
    RAW_COLUMNS,
    Profile,
    SourceBatch,
    SourceError,
    is_id,
    parse_json,
    text_field,
    utc_times,
)
from tweetbots.sources.client import base_url, client, polite_get
from tweetbots.sources.paging import Pages

log = logging.getLogger(__name__)

PLATFORM = "mastodon"
MAX_POSTS = 3200
PAGE_SIZE = 40  # the API's maximum `limit` for account statuses
BASE_URL_ENV = "TWEETBOTS_MASTODON_BASE_URL"
_ACCOUNT = re.compile(r"^@?([A-Za-z0-9_]{1,30})@([^@\s]+)$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_NOT_PUBLIC = (401, 403)


def read_mastodon(argument: str, newer_than: str | None = None) -> SourceBatch:
    """Up to MAX_POSTS most recent public posts of a Mastodon account (newer than an id)."""
    username, instance = parse_account(argument)
    label = f"mastodon:@{username}@{instance}"
    with client(base_url(BASE_URL_ENV, f"https://{instance}")) as session:
        account = _lookup(session, username, label)
        statuses = _statuses(session, str(account["id"]), newer_than, label)
    user = f"{username}@{instance}".lower()
    posts = _posts_frame(statuses, user, label)
    log.info("%s: %d posts%s", label, len(posts), f" newer than {newer_than}" if newer_than else "")
    profile = Profile(
        platform=PLATFORM,
        user=user,
        display_name=text_field(account.get("display_name")) or username,
        avatar_url=text_field(account.get("avatar")),
        profile_url=text_field(account.get("url")),
    )
    return SourceBatch(posts, [profile])


def parse_account(argument: str) -> tuple[str, str]:
    match = _ACCOUNT.match(argument.strip())
    instance = match.group(2).lower() if match else ""
    labels = instance.split(".")
    if not match or len(labels) < 2 or not all(_HOST_LABEL.match(x) for x in labels):
        raise SourceError(
            f"mastodon:{argument!r} is not a Mastodon account: use @user@instance, e.g. "
            "mastodon:@Gargron@mastodon.social (user: 1-30 letters, digits or _)"
        )
    return match.group(1), instance


def _lookup(session: httpx.Client, username: str, label: str) -> dict[str, Any]:
    response = polite_get(session, "/api/v1/accounts/lookup", {"acct": username}, label)
    if response.status_code in (404, 410):  # 410: suspended or deleted
        raise SourceError(
            f"{label}: no such account on {session.base_url.host} (HTTP "
            f"{response.status_code}); check the user name and the instance after the second @"
        )
    account = _json(response, label)
    if not isinstance(account, dict) or not is_id(account.get("id")):
        raise SourceError(
            f"{label}: the account lookup answered without an id; is "
            f"{session.base_url.host} a Mastodon instance?"
        )
    return account


def _statuses(
    session: httpx.Client, account_id: str, newer_than: str | None, label: str
) -> list[dict[str, Any]]:
    """Newest first, paged by max_id, keeping since_id on every page."""
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    if newer_than:
        params["since_id"] = newer_than
    statuses: list[dict[str, Any]] = []
    pages = Pages(label, "max_id", descending_by=_id_key)
    while len(statuses) < MAX_POSTS:
        response = polite_get(session, f"/api/v1/accounts/{account_id}/statuses", params, label)
        page = _json(response, label)
        if not isinstance(page, list) or not all(
            isinstance(s, dict) and is_id(s.get("id")) for s in page
        ):
            raise SourceError(
                f"{label}: the statuses answer is not a list of statuses with ids; is "
                f"{session.base_url.host} a Mastodon instance?"
            )
        fresh = [s for s in page if not newer_than or _id_key(s["id"]) > _id_key(newer_than)]
        statuses.extend(fresh)
        next_max_id = _next_max_id(response, page)
        # A page with older posts than asked means the server ignored since_id: done.
        if not page or len(fresh) < len(page) or next_max_id is None:
            break
        pages.advance(next_max_id)
        params["max_id"] = next_max_id
    return statuses[:MAX_POSTS]


def _next_max_id(response: httpx.Response, page: list[dict[str, Any]]) -> str | None:
    """The max_id of the next page: Link rel=next's, else the page's oldest id."""
    if not page:
        return None
    link = response.links.get("next")
    if link is None:
        # Mastodon sends rel=next while older posts may exist; an answer with Link
        # headers but no next is the end. Without any Link header, keep going by id.
        return None if "link" in response.headers else min((s["id"] for s in page), key=_id_key)
    found = parse_qs(httpx.URL(link["url"]).query.decode()).get("max_id")
    return found[0] if found else min((s["id"] for s in page), key=_id_key)


def _id_key(status_id: object) -> tuple[int, str]:
    text = str(status_id)
    return len(text), text


def _json(response: httpx.Response, label: str) -> Any:
    if response.status_code in _NOT_PUBLIC:
        raise SourceError(
            f"{label}: the account's posts are not public (HTTP {response.status_code}: the "
            "instance requires sign-in or the account is private); export them to a file and "
            "use file:PATH"
        )
    if response.status_code != 200:
        raise SourceError(
            f"{label}: {response.url.path} answered HTTP {response.status_code}; try again later"
        )
    try:
        return parse_json(response.content)
    except (ValueError, RecursionError) as exc:
        raise SourceError(
            f"{label}: {response.url.path} did not answer JSON; is "
            f"{response.url.host} a Mastodon instance?"
        ) from exc


def _posts_frame(statuses: list[dict[str, Any]], user: str, label: str) -> pd.DataFrame:
    rows = [_post_row(status, user) for status in statuses]
    posts = pd.DataFrame(rows, columns=RAW_COLUMNS)
    posts["created_at"] = utc_times(posts["created_at"], label)
    return posts


def _post_row(status: dict[str, Any], user: str) -> dict[str, Any]:
    boosted = status.get("reblog") if isinstance(status.get("reblog"), dict) else None
    shown = boosted or status  # a boost's own content is empty: the text is the boosted post's
    return {
        "id": str(status["id"]),
        "user": user,
        "created_at": text_field(status.get("created_at")),
        "text": html.escape(html_to_text(text_field(shown.get("content")) or ""), quote=False),
        "is_retweet": boosted is not None,
        "is_reply": status.get("in_reply_to_id") is not None,
        "platform": PLATFORM,
        "url": text_field(status.get("url"))
        or text_field(shown.get("url"))
        or text_field(shown.get("uri")),
    }


def html_to_text(content: str) -> str:
    """Mastodon's status HTML as plain text: line breaks kept, entities decoded once."""
    parser = _TextParser()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts).strip()


# Elements without an end tag: they never hold text, so they are not tracked as open.
_VOID_TAGS = frozenset("area base br col embed hr img input link meta source track wbr".split())
_HIDDEN_CLASS = "quote-inline"
_SCHEME_AND_WWW = re.compile(r"^(?:https?://)?(?:www\.)?", re.IGNORECASE)
# A host with a dot and a top-level domain of letters, then maybe a path: `example.com/x`.
_WEB_ADDRESS = re.compile(r"^(?:https?://)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:[/?#:]\S*)?$", re.I)


class _TextParser(HTMLParser):
    """Collects text; <br> is a newline and a new paragraph starts after a blank line.

    Elements of class `quote-inline` are skipped with all they hold; a link whose text is
    (the start of) its own address is replaced by its `href`.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._open: list[str] = []  # open elements, innermost last
        self._hidden_at: int | None = None  # depth of the open `quote-inline` element
        # Open links: (depth, href, where their text starts in `parts`).
        self._links: list[tuple[int, str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden_at is None and _HIDDEN_CLASS in (dict(attrs).get("class") or "").split():
            self._hidden_at = len(self._open)
        if self._hidden_at is None:
            if tag == "br":
                self.parts.append("\n")
            elif tag == "p" and self.parts:
                self.parts.append("\n\n")
            elif tag == "a":
                self._links.append((len(self._open), dict(attrs).get("href"), len(self.parts)))
        if tag not in _VOID_TAGS:
            self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._open:
            return  # a stray end tag
        depth = len(self._open) - 1 - self._open[::-1].index(tag)
        del self._open[depth:]
        if self._hidden_at is not None and depth <= self._hidden_at:
            self._hidden_at = None
        while self._links and self._links[-1][0] >= depth:
            _, href, start = self._links.pop()
            if href and _shows_an_address("".join(self.parts[start:]), href):
                self.parts[start:] = [href]

    def handle_data(self, data: str) -> None:
        if self._hidden_at is None:
            self.parts.append(data)


def _shows_an_address(text: str, href: str) -> bool:
    """Whether an http(s) link shows a web address (its own or another, whole or cut
    short, with or without the scheme) rather than words: a link for the cleaning's link
    rule to remove, once replaced by `href`. Mentions (`@bob`), hashtags and links on
    words keep their text."""
    shown = text.strip().removesuffix("…").removesuffix("...")
    if not shown or not re.match(r"^https?://", href):
        return False
    own = _SCHEME_AND_WWW.sub("", href).lower().startswith(_SCHEME_AND_WWW.sub("", shown).lower())
    return own or bool(_WEB_ADDRESS.match(shown))
