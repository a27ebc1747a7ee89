"""`twitter:HANDLE` through snscrape, kept for the day anonymous access returns.

X has blocked anonymous scraping since 2023, so in practice every attempt fails; the
failure is turned into one actionable line pointing to the archive export, which gives
the same posts offline (`archive:PATH`, see `tweetbots.sources.archive`).
"""

import itertools
import logging
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from tweetbots.sources import Profile, SourceBatch, SourceError

log = logging.getLogger(__name__)

PLATFORM = "twitter"
# The old API's limit, which the original reproduced: the most recent ~3,200 posts.
MAX_POSTS = 3200
# A blocked scrape will not succeed on a retry; snscrape backs off exponentially, so
# its default of 3 retries would only make the failure slower.
_RETRIES = 1
_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")
_ARCHIVE_HINT = (
    "request your archive at https://x.com/settings/download_your_data and use archive:PATH"
)


def read_twitter(handle: str) -> SourceBatch:
    """Up to MAX_POSTS most recent posts of a public X account, via snscrape."""
    user = _valid_user(handle)
    try:
        from snscrape.modules.twitter import TwitterUserScraper

        scraper = TwitterUserScraper(user, retries=_RETRIES)
        tweets = list(itertools.islice(scraper.get_items(), MAX_POSTS))
    except Exception as exc:  # any failure (import, HTTP, parsing) means the same thing
        log.debug("snscrape failed for @%s", user, exc_info=True)
        raise SourceError(
            f"twitter:{user}: anonymous X/Twitter scraping has been blocked since 2023 "
            f"(snscrape: {type(exc).__name__}); {_ARCHIVE_HINT}"
        ) from exc
    return SourceBatch(posts_from_tweets(tweets, user), [_profile(tweets, user)])


def _valid_user(handle: str) -> str:
    match = _HANDLE.match(handle.strip())
    if not match:
        raise SourceError(
            f"twitter:{handle!r} is not an X/Twitter handle: use 1-15 letters, digits or _ "
            "(an optional leading @)"
        )
    return match.group(1)


def posts_from_tweets(tweets: Iterable[Any], user: str) -> pd.DataFrame:
    """snscrape Tweet objects in the raw schema's columns."""
    rows = [
        {
            "id": str(t.id),
            "user": getattr(t.user, "username", None) or user,
            "created_at": t.date,
            "text": t.rawContent,
            "is_retweet": t.retweetedTweet is not None,
            "is_reply": t.inReplyToTweetId is not None,
            "platform": PLATFORM,
            "url": t.url,
        }
        for t in tweets
    ]
    columns = ["id", "user", "created_at", "text", "is_retweet", "is_reply", "platform", "url"]
    return pd.DataFrame(rows, columns=columns)


def _profile(tweets: list[Any], user: str) -> Profile:
    author = next((t.user for t in tweets if getattr(t.user, "username", None) == user), None)
    return Profile(
        platform=PLATFORM,
        user=user,
        display_name=getattr(author, "displayname", None) or user,
        avatar_url=getattr(author, "profileImageUrl", None),
        profile_url=f"https://x.com/{user}",
    )
