"""Bounds on one scrape's paging, whatever the server answers.

A network source pages through an account's posts by a cursor the server hands back
(Bluesky's `cursor`, Mastodon's `max_id`). A server that repeats a cursor, or sends one
that does not move towards older posts, would be asked for the same page for ever, and
one that sends endless pages would never let a nightly run end. So every scrape has at
most `LIMITS.max_pages` pages and `LIMITS.max_seconds` of paging (checked between
pages: a page's own request is bounded by `client.RetryPolicy`), and a cursor must never
come back (nor, where the platform orders them, fail to move on). Each breach ends the
scrape with a one-line `SourceError` naming the source: posts are fetched newest first,
so keeping what came would leave a gap that a later incremental run never fills.

Tests shorten the bounds by replacing `LIMITS`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tweetbots.sources import SourceError


@dataclass(frozen=True)
class PagingLimits:
    # 3,200 posts are 80 Mastodon pages or 32 Bluesky ones: room for short pages too.
    max_pages: int = 200
    max_seconds: float = 900.0


LIMITS = PagingLimits()


class Pages:
    """One scrape's paging: call `advance(cursor)` before asking for each further page."""

    def __init__(
        self, label: str, cursor_name: str, descending_by: Callable[[str], Any] | None = None
    ) -> None:
        """`descending_by`: a sort key by which each cursor must come below the one before."""
        self.label, self.cursor_name, self.key = label, cursor_name, descending_by
        self.limits = LIMITS
        self.started = time.monotonic()
        self.pages = 1  # the first page needs no cursor
        self.seen: set[str] = set()
        self.last: str | None = None

    def advance(self, cursor: str) -> None:
        """Accepts the cursor of the next page, or ends paging with a SourceError."""
        if cursor in self.seen:
            self._stop(f"the server sent the {self.cursor_name} {_shown(cursor)} again")
        if self.key and self.last is not None and self.key(cursor) >= self.key(self.last):
            self._stop(
                f"the server's next {self.cursor_name} {_shown(cursor)} is not older than "
                f"{_shown(self.last)}"
            )
        if self.pages >= self.limits.max_pages:
            self._stop(f"no scrape reads more than {self.limits.max_pages} pages")
        if time.monotonic() - self.started > self.limits.max_seconds:
            self._stop(f"no scrape pages for longer than {self.limits.max_seconds:g} s")
        self.seen.add(cursor)
        self.last = cursor
        self.pages += 1

    def _stop(self, why: str) -> None:
        raise SourceError(
            f"{self.label}: paging stopped after {self.pages} pages: {why}; the server is "
            "misbehaving or overloaded, try again later"
        )


def _shown(cursor: str) -> str:
    """A cursor as the error shows it: quoted, escaped, at most 40 characters."""
    return repr(cursor if len(cursor) <= 40 else cursor[:40] + "...")
