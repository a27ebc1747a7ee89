"""scrape: a source's posts into the raw store, recorded for one bot.

A source (`archive:PATH`, `mastodon:@user@instance`, ...) is first sensed:
`fetch_new_posts` stores what is new and returns the source's state. The scrape output
is named by that state, so an unchanged source is not read again; it holds the list of
the user's raw-store parts, and is fingerprinted by them, so a re-exported archive with
the same posts changes nothing downstream.
"""

import logging

from tweetbots import rawstore
from tweetbots.code_version import code_version
from tweetbots.sources import is_local_source, local_source_digest, read_source, store_identity
from tweetbots.store import (
    OutputKey,
    StageOutput,
    data_root,
    fingerprint,
    is_complete,
    produce,
)

log = logging.getLogger(__name__)

NAME = "scrape"
CODE = (
    __name__,
    "tweetbots.rawstore",
    "tweetbots.sources",
    "tweetbots.sources.archive",
    "tweetbots.sources.files",
    "tweetbots.sources.mastodon",
    "tweetbots.sources.bluesky",
    "tweetbots.sources.twitter_snscrape",
    "tweetbots.sources.client",
    "tweetbots.sources.hosts",
    "tweetbots.sources.paging",
)


def fetch_new_posts(spec: str) -> str:
    """Store what a source holds that the raw store lacks; return the source's state.

    A local source's state is its content digest (it is read by the scrape itself). A
    network source fetches the posts newer than the newest stored (an empty increment
    costs a request or two) and its state is the fingerprint of the user's stored parts.
    Either way an unchanged source gives the same state, so its scrape is not redone.
    """
    digest = local_source_digest(spec)
    if digest:
        return digest
    users, _ = _store_new_posts(spec)
    return _parts_fingerprint(users)


def output_key(spec: str, bot: str, source_state: str) -> OutputKey:
    return OutputKey(
        stage=NAME,
        bot=bot,
        code=code_version(*CODE),
        inputs={"source": spec, "state": source_state},
    )


def is_usable(out) -> bool:
    """A scrape output is usable only while every raw part it lists is still stored."""
    return is_complete(out) and rawstore.parts_exist(out)


def run(spec: str, bot: str, source_state: str) -> StageOutput:
    """Record a source's posts in the raw store for this bot (reading only what is new).

    `source_state` is what `fetch_new_posts(spec)` returned.
    """
    key = output_key(spec, bot, source_state)
    return produce(
        key,
        lambda tmp: _build(spec),
        content_fingerprint=lambda summary: _parts_fingerprint(summary["users"]),
        is_usable=is_usable,
    )


def projected_fingerprint(spec: str, source_state: str) -> str | None:
    """What a scrape of `spec` would hold, without writing: the fingerprint of the stored
    parts it would list. None when reading it would store new posts (then what it holds
    is known only once it is written)."""
    if not is_local_source(spec):
        return source_state  # sensed: the fingerprint of the parts already stored
    users = rawstore.stored_users(read_source(spec).posts, data_root())
    return None if users is None else _parts_fingerprint(users)


def _build(spec: str) -> dict:
    # For a network source just sensed this is an empty increment: it lists the stored
    # parts and brings the profile for the card.
    users, batch = _store_new_posts(spec)
    log.info(
        "scrape %s: %d posts offered, users %s", spec, len(batch.posts), [u["user"] for u in users]
    )
    return {
        "source": spec,
        "users": users,
        "profiles": [p.model_dump() for p in batch.profiles],
    }


def _store_new_posts(spec: str):
    """Read the source (network ones: only posts newer than stored) into the raw store."""
    identity = store_identity(spec)
    newer_than = rawstore.newest_id(data_root(), *identity) if identity else None
    batch = read_source(spec, newer_than)
    return rawstore.append_posts(batch.posts, data_root(), expected=identity), batch


def _parts_fingerprint(users: list[dict]) -> str:
    return fingerprint([u["parts"] for u in users])
