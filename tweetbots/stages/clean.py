"""clean: the original's rules applied to every user's raw posts, with the card's table.

Input: the bot's scrapes. Output: `clean/<bot>/<fp>/posts.parquet` (the kept posts, text
cleaned) and, in the manifest, every user's counts (downloaded / retweets / short /
kept), their profiles, and the low-data warnings.
"""

import logging

from tweetbots import clean, rawstore
from tweetbots.code_version import code_version
from tweetbots.store import OutputKey, StageOutput, data_root, produce

log = logging.getLogger(__name__)

NAME = "clean"
CODE = (__name__, "tweetbots.clean", "tweetbots.rawstore", "tweetbots.sources")


def output_key(scrapes: list[StageOutput]) -> OutputKey:
    return OutputKey(
        stage=NAME,
        bot=_bot(scrapes),
        code=code_version(*CODE),
        inputs={f"scrape {s.summary['source']}": s.fingerprint for s in scrapes},
    )


def run(scrapes: list[StageOutput]) -> StageOutput:
    """Apply the original's rules to every user's raw posts; record the card's table."""
    return produce(output_key(scrapes), lambda tmp: _build(scrapes, tmp))


def _build(scrapes: list[StageOutput], tmp) -> dict:
    _require_posts(scrapes)
    users = [u for s in scrapes for u in s.summary["users"]]
    kept, stats = clean.clean_posts(rawstore.read_posts(users, data_root()))
    warnings = clean.text_volume_warnings(kept, stats)
    for warning in warnings:
        log.warning(warning)
    kept.to_parquet(tmp / "posts.parquet", index=False)
    return {
        "stats": {u: s.model_dump() for u, s in stats.items()},
        "profiles": [p for s in scrapes for p in s.summary["profiles"]],
        "warnings": warnings,
    }


def _require_posts(scrapes: list[StageOutput]) -> None:
    """A source that gave nothing is a mistake (wrong account, empty export): say which."""
    for scrape in scrapes:
        if not any(u["parts"] for u in scrape.summary["users"]):
            raise clean.NotEnoughTextError(
                f"source {scrape.summary['source']!r} has no posts to train on: check that "
                "it is the right account or export, or replace it with another source"
            )


def _bot(scrapes: list[StageOutput]) -> str:
    return scrapes[0].bot
