"""The raw store: per user, append-only Parquet parts, deduplicated by post id.

`raw/<platform>/<user>/part-<digest>.parquet`: each scrape adds one part holding only
the posts whose ids the user's store has not seen, or nothing at all. Parts are never
rewritten, so a crash mid-scrape leaves the store as it was, and an unchanged source
leaves the list of parts (hence every downstream fingerprint) unchanged. Appends to one
user's store take turns (a lock per user), so two runs sharing a user never interleave.
"""

import hashlib
import logging
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tweetbots import progress
from tweetbots.sources import RAW_SCHEMA, SAFE_NAME, SourceError, to_raw_frame, unique_posts
from tweetbots.store import data_root, exclusive, read_manifest

log = logging.getLogger(__name__)

# A scrape of a large account waits this long for another run appending the same user.
APPEND_WAIT_S = 600.0


def user_dir(root: Path, platform: str, user: str) -> Path:
    """The store of one user; names that could escape the data root are refused."""
    for name in (platform, user):
        if not SAFE_NAME.match(name) or ".." in name:
            raise SourceError(
                f"user or platform name {name!r} is not a safe handle: use letters, digits, "
                "_ . @ : - (at most 100)"
            )
    return root / "raw" / platform / user


def append_posts(
    posts: pd.DataFrame, root: Path, expected: tuple[str, str] | None = None
) -> list[dict]:
    """Add unseen posts to each user's store; return each user's parts (relative paths).

    `expected` (platform, user) is listed even when nothing new came back for it, so an
    empty nightly increment still hands the user's stored posts downstream.
    """
    users = []
    with progress.bar(desc="scrape: store", unit="post", total=len(posts)) as shown:
        for (platform, user), group in _by_user(posts, expected).items():
            users.append(_append_user(group, root, platform, user))
            shown.update(len(group))
    return users


def _append_user(posts: pd.DataFrame, root: Path, platform: str, user: str) -> dict:
    """Store one user's unseen posts; return the user's parts (relative paths)."""
    directory = user_dir(root, platform, user)
    busy = f"the raw store of {platform}/{user}"
    with exclusive(f"raw-{platform}-{user}", busy, APPEND_WAIT_S, root):
        directory.mkdir(parents=True, exist_ok=True)
        new = _unstored(posts, directory)
        if len(new):
            _write_part(new, directory)
    log.info("%s/%s: %d new posts", platform, user, len(new))
    return _parts_of(root, platform, user)


def stored_users(
    posts: pd.DataFrame, root: Path, expected: tuple[str, str] | None = None
) -> list[dict] | None:
    """What `append_posts` would return if it stored nothing: None when some posts are new.

    Writes nothing: `tweetbots plan` tells from it what a scrape would hold.
    """
    users = []
    for (platform, user), group in _by_user(posts, expected).items():
        if len(_unstored(group, user_dir(root, platform, user))):
            return None
        users.append(_parts_of(root, platform, user))
    return users


def _by_user(posts: pd.DataFrame, expected: tuple[str, str] | None) -> dict:
    groups = dict(list(posts.groupby(["platform", "user"], sort=False)))
    if expected and expected not in groups:
        groups[expected] = posts.iloc[0:0]
    return groups


def _unstored(group: pd.DataFrame, directory: Path) -> pd.DataFrame:
    return unique_posts(group[~group["id"].isin(_stored_ids(directory))])


def _parts_of(root: Path, platform: str, user: str) -> dict:
    directory = user_dir(root, platform, user)
    parts = sorted(p.relative_to(root).as_posix() for p in directory.glob("part-*.parquet"))
    return {"platform": platform, "user": user, "parts": parts}


def read_posts(users: list[dict], root: Path) -> pd.DataFrame:
    """All stored posts of these users, in store order, each post once."""
    tables = [pq.read_table(root / part, schema=RAW_SCHEMA) for u in users for part in u["parts"]]
    if not tables:
        return to_raw_frame(RAW_SCHEMA.empty_table().to_pandas())
    frame = pa.concat_tables(tables).to_pandas()
    return to_raw_frame(unique_posts(frame))


def newest_id(root: Path, platform: str, user: str) -> str | None:
    """The id of the user's most recent stored post (by time), None for an empty store."""
    parts = list(user_dir(root, platform, user).glob("part-*.parquet"))
    if not parts:
        return None
    table = pq.read_table(parts, columns=["id", "created_at"])
    return table.sort_by([("created_at", "descending")]).column("id")[0].as_py()


def parts_exist(scrape_output_dir: Path) -> bool:
    """Whether every part a scrape manifest lists is still in the store."""
    users = read_manifest(scrape_output_dir)["summary"]["users"]
    return all((data_root() / part).is_file() for u in users for part in u["parts"])


def _stored_ids(directory: Path) -> set[str]:
    parts = list(directory.glob("part-*.parquet"))
    if not parts:
        return set()
    return set(pq.read_table(parts, columns=["id"]).column("id").to_pylist())


def _write_part(posts: pd.DataFrame, directory: Path) -> None:
    """Write a part atomically, named by its content so reruns cannot duplicate it."""
    table = pa.Table.from_pandas(to_raw_frame(posts), schema=RAW_SCHEMA, preserve_index=False)
    for abandoned in directory.glob(".part-*.parquet.tmp"):  # a killed append's; we hold the lock
        abandoned.unlink()
    digest = hashlib.sha256("\n".join(sorted(posts["id"])).encode()).hexdigest()[:16]
    tmp = directory / f".part-{digest}.parquet.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, directory / f"part-{digest}.parquet")
    log.info("stored %d new posts in %s", len(posts), directory)
