"""Hostile handles through the real readers, raw store and stage runners: whatever a user
name, an account handle or a bot name says, nothing is written outside the data root.

Every attempt fails with our one-line error, or (a Bluesky AppView naming a hostile
handle) is stored under the account's DID; the files outside the data root are then
compared byte for byte with before.
"""

import hashlib
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.social import bluesky_profile
from tests.fakes.stages import scrape_source
from tweetbots.sources import SourceError

TRAVERSALS = [
    "../../outside/x",
    "..",
    ".",
    "a/b",
    "/etc/passwd",
    "a\\b",
    "x" * 200,
    "has space",
    "nul\x00byte",
    "~root",
    ".hidden",
    "-rf",
]


def tree(top: Path, skip: Path) -> dict[str, str]:
    return {
        p.relative_to(top).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(top.rglob("*"))
        if p.is_file() and skip not in p.parents
    }


def archive_of(path: Path, username: str) -> str:
    account = [{"account": {"username": username, "accountId": "1"}}]
    tweets = [{"tweet": {"id_str": "1", "full_text": "a post with enough words in it"}}]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/account.js", "window.YTD.account.part0 = " + json.dumps(account))
        archive.writestr("data/tweets.js", "window.YTD.tweets.part0 = " + json.dumps(tweets))
    return f"archive:{path}"


def file_of(path: Path, user: str) -> str:
    pd.DataFrame({"id": ["1"], "text": ["a post with enough words"], "user": [user]}).to_json(
        path, orient="records", lines=True
    )
    return f"file:{path}"


@pytest.fixture
def hostile_specs(tmp_path) -> list[str]:
    sources = tmp_path / "sources"
    sources.mkdir()
    specs = []
    for number, handle in enumerate(TRAVERSALS):
        specs.append(archive_of(sources / f"a{number}.zip", handle))
        specs.append(file_of(sources / f"f{number}.jsonl", handle))
        specs.append(f"mastodon:@{handle}@example.social")
        specs.append(f"mastodon:@ada@{handle}")
        specs.append(f"bluesky:{handle}")
        specs.append(f"twitter:{handle}")
    return specs


def test_hostile_user_names_are_refused_and_nothing_leaves_the_data_root(
    data_root, tmp_path, hostile_specs, server, monkeypatch
):
    for variable in ("TWEETBOTS_MASTODON_BASE_URL", "TWEETBOTS_BLUESKY_BASE_URL"):
        monkeypatch.setenv(variable, server.url)  # a handle that passes would reach only it
    before = tree(tmp_path, skip=data_root)
    for spec in hostile_specs:
        with pytest.raises(SourceError) as error:
            scrape_source(spec, "bot")
        assert "\n" not in str(error.value), spec
    assert server.requests == []  # every handle was refused before any request
    assert tree(tmp_path, skip=data_root) == before
    assert not (data_root / "raw").exists() or not any((data_root / "raw").rglob("*.parquet"))


@pytest.mark.parametrize("bot", ["../evil", "a/b", "/abs", "..", "Has Space", "x" * 200])
def test_hostile_bot_names_are_refused_by_the_library_too(data_root, tmp_path, bot):
    source = file_of(tmp_path / "ada.jsonl", "ada")
    before = tree(tmp_path, skip=data_root)
    with pytest.raises(ValueError, match="bot name .* is invalid"):
        scrape_source(source, bot)
    assert tree(tmp_path, skip=data_root) == before


def test_a_hostile_handle_from_the_appview_is_stored_under_the_did(bluesky, data_root, tmp_path):
    did = "did:plc:z72i7hdynmk6r22z27h6tvur"
    bluesky.add_profile("alice.bsky.social", did, count=3)
    hostile = bluesky_profile("../../../outside", did)
    bluesky.profiles["alice.bsky.social"] = bluesky.profiles[did] = hostile
    before = tree(tmp_path, skip=data_root)

    scrape = scrape_source(f"bluesky:{did}", "bot")

    assert [u["user"] for u in scrape.summary["users"]] == [did]
    assert (data_root / "raw" / "bluesky" / did).is_dir()
    assert tree(tmp_path, skip=data_root) == before
    for path in data_root.rglob("*"):
        assert path.resolve().is_relative_to(data_root.resolve()), path
