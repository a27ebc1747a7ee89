"""Sources written for a test: posts that survive cleaning, CSV files, X archives, and what
the raw store then holds."""

import json
import zipfile
from pathlib import Path

import pandas as pd

from tweetbots import rawstore

WORDS = "sourdough crumb oven starter flour proof bake loaf butter crust".split()


def long_posts(n: int, seed: int = 0) -> list[str]:
    """Posts that survive cleaning: 12 words each, about 70 characters."""
    return [" ".join(WORDS[(seed + i + j) % len(WORDS)] for j in range(12)) for i in range(n)]


def write_csv(path: Path, texts: list[str], ids: list[str] | None = None, **columns) -> Path:
    """A CSV of posts: `id` (0, 1, ... unless given), `text`, and any other columns."""
    ids = ids or [str(i) for i in range(len(texts))]
    pd.DataFrame({"id": ids, "text": texts, **columns}).to_csv(path, index=False)
    return path


def posts_csv(path: Path, n: int) -> Path:
    """A CSV of `n` posts that survive cleaning, each text different."""
    words = [*WORDS, "rye", "dough"]
    texts = [" ".join(words[(i * 7 + j) % len(words)] for j in range(12)) for i in range(n)]
    pd.DataFrame({"id": range(n), "text": texts}).to_csv(path, index=False)
    return path


def write_archive(path: Path, username: str, tweets: list[dict] | str) -> Path:
    """An X archive zip: `data/account.js` naming `username`, and `data/tweets.js` holding
    `tweets` (each a tweet's fields), or that text as it is."""
    account = [{"account": {"username": username, "accountId": "1"}}]
    body = tweets if isinstance(tweets, str) else json.dumps([{"tweet": t} for t in tweets])
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/account.js", "window.YTD.account.part0 = " + json.dumps(account))
        archive.writestr("data/tweets.js", "window.YTD.tweets.part0 = " + body)
    return path


def raw_store(root: Path, user: str = "ada") -> Path:
    """The raw store folder of a `file:` source's user."""
    return root / "raw" / "file" / user


def stored_posts(root: Path, user: str = "ada") -> pd.DataFrame:
    """What the raw store holds for that user, read as the clean stage reads it."""
    parts = sorted(
        p.relative_to(root).as_posix() for p in raw_store(root, user).glob("part-*.parquet")
    )
    return rawstore.read_posts([{"platform": "file", "user": user, "parts": parts}], root)
