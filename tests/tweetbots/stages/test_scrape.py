"""The scrape stage: the raw store grows by what is new, and an unchanged source changes
no fingerprint (a local file, and the nightly increment against a local Mastodon).

Bad sources and hostile handles through every reader end in one line, and leave the stored
bot and every file outside the data root as they were (compared byte for byte)."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.checks import one_line, snapshot
from tests.fakes.social import mastodon_status
from tests.fakes.sources import posts_csv, raw_store, stored_posts, write_archive, write_csv
from tests.fakes.stages import scrape_source, store_a_bot
from tweetbots.sources import SourceError
from tweetbots.stages import clean, scrape
from tweetbots.store import LOCKS

HOST = "example.social"
STATUSES = r"/api/v1/accounts/\w+/statuses"


def _write_csv(path, n: int, start: int = 0) -> None:
    rows = [f"{i},post number {i} has enough words to keep" for i in range(start, start + n)]
    path.write_text("id,text\n" + "\n".join(rows) + "\n")


def test_rescrape_of_an_unchanged_source_adds_nothing_and_keeps_fingerprints(data_root, tmp_path):
    source = tmp_path / "alice.csv"
    _write_csv(source, 50)
    spec = f"file:{source}"
    first = scrape_source(spec, "bot")
    shutil.rmtree(scrape.output_key(spec, "bot", scrape.fetch_new_posts(spec)).path)  # re-read
    second = scrape_source(spec, "bot")
    assert second.fingerprint == first.fingerprint
    assert len(list((data_root / "raw" / "file" / "alice").glob("part-*"))) == 1
    assert clean.output_key([second]).path == clean.output_key([first]).path


def test_new_posts_append_one_part_and_change_the_fingerprint(data_root, tmp_path):
    source = tmp_path / "alice.csv"
    _write_csv(source, 50)
    first = scrape_source(f"file:{source}", "bot")
    _write_csv(source, 60)  # ten new posts, the fifty old ones again
    second = scrape_source(f"file:{source}", "bot")
    assert second.fingerprint != first.fingerprint
    parts = sorted((data_root / "raw" / "file" / "alice").glob("part-*"))
    assert [len(pd.read_parquet(p)) for p in parts] in ([50, 10], [10, 50])


def test_second_scrape_asks_only_for_newer_posts(mastodon, server, data_root):
    account = mastodon.add_account("ada", HOST, count=45)
    first = scrape_source(f"mastodon:@ada@{HOST}", "ada")
    store = data_root / "raw" / "mastodon" / f"ada@{HOST}"
    assert len(pd.read_parquet(store)) == 45
    # The sensor's fetch asks for everything; the stage's own read is then an increment.
    assert "since_id" not in server.seen(STATUSES)[0].query

    mastodon.add_status(account, mastodon_status(45, account))
    asked_before = len(server.seen(STATUSES))
    second = scrape_source(f"mastodon:@ada@{HOST}", "ada")
    newest_before = str(110_000_000_000_000_000 + 44 * 1000)
    later = server.seen(STATUSES)[asked_before]
    assert later.query["since_id"] == newest_before
    assert len(pd.read_parquet(store)) == 46 and len(list(store.glob("part-*"))) == 2
    assert second.fingerprint != first.fingerprint


def test_scrape_with_nothing_new_keeps_every_fingerprint(mastodon, server, data_root):
    mastodon.add_account("ada", HOST, count=10)
    first = scrape_source(f"mastodon:@ada@{HOST}", "ada")
    second = scrape_source(f"mastodon:@ada@{HOST}", "ada")
    assert second.fingerprint == first.fingerprint
    assert clean.output_key([second]).path == clean.output_key([first]).path
    assert len(list((data_root / "raw" / "mastodon" / f"ada@{HOST}").glob("part-*"))) == 1


def test_the_sensor_finds_nothing_new_so_the_scrape_output_is_reused(mastodon, server, data_root):
    spec = f"mastodon:@ada@{HOST}"
    account = mastodon.add_account("ada", HOST, count=10)
    state = scrape.fetch_new_posts(spec)
    first = scrape.run(spec, "ada", state)
    assert scrape.fetch_new_posts(spec) == state  # nothing new: same dir, complete
    assert scrape.is_usable(scrape.output_key(spec, "ada", state).path)

    mastodon.add_status(account, mastodon_status(10, account))
    fresh = scrape.fetch_new_posts(spec)  # the sensor stored the new post already
    assert fresh != state
    second = scrape.run(spec, "ada", fresh)
    assert second.fingerprint != first.fingerprint
    assert len(pd.read_parquet(data_root / "raw" / "mastodon" / f"ada@{HOST}")) == 11


# -- bad sources: one line, and the stored bot untouched --------------------------------


@pytest.fixture
def stored_bot(data_root, tmp_path):
    """A data root holding bot `ada`: its raw posts and its clean dataset."""
    return store_a_bot(data_root, tmp_path)


def corrupt_zip(tmp_path: Path) -> Path:
    path = write_archive(tmp_path / "corrupt.zip", "ada", [{"id_str": "1", "full_text": "hi"}])
    blob = bytearray(path.read_bytes())
    start = blob.index(b"window.YTD.tweets")  # stored uncompressed: the CRC no longer matches
    blob[start : start + 6] = b"XXXXXX"
    path.write_bytes(bytes(blob))
    return path


TRUNCATED = '[{"tweet": {"id_str": "1", "full_te'


def _csv_without_text(d: Path) -> str:
    path = d / "n.csv"
    pd.DataFrame({"id": ["1"], "body": ["words here"]}).to_csv(path, index=False)
    return f"file:{path}"


BAD_SOURCES = {
    "missing file": (lambda d: f"file:{d / 'gone.csv'}", ["gone.csv", "does not exist"]),
    "missing archive": (lambda d: f"archive:{d / 'gone.zip'}", ["gone.zip", "does not exist"]),
    "corrupt zip": (lambda d: f"archive:{corrupt_zip(d)}", ["corrupt.zip", "download it again"]),
    "truncated tweets.js": (
        lambda d: f"archive:{write_archive(d / 'cut.zip', 'ada', TRUNCATED)}",
        ["cut.zip", "tweets.js", "truncated", "export it again"],
    ),
    "garbage tweets.js": (
        lambda d: f"archive:{write_archive(d / 'junk.zip', 'ada', '<html>404</html>')}",
        ["junk.zip", "tweets.js", "export it again"],
    ),
    "csv without a text column": (_csv_without_text, ["n.csv", "no text column"]),
    "archive user '../x'": (
        lambda d: f"archive:{write_archive(d / 'evil.zip', '../x', [])}",
        ["evil.zip", "'../x'", "not an X username"],
    ),
    "file user 'a/b'": (
        lambda d: f"file:{write_csv(d / 'slash.csv', ['a b c d'], user=['a/b'])}",
        ["slash.csv", "'a/b'", "not a handle"],
    ),
    "file user with spaces": (
        lambda d: f"file:{write_csv(d / 'space.csv', ['a b c d'], user=['has space'])}",
        ["space.csv", "'has space'", "not a handle"],
    ),
    "file user of 200 characters": (
        lambda d: f"file:{write_csv(d / 'long.csv', ['a b c d'], user=['u' * 200])}",
        ["long.csv", "at most 100"],
    ),
    "mastodon handle '../x'": (lambda d: "mastodon:@../x@example.social", ["'@../x", "@user"]),
    "bluesky handle 'a/b'": (lambda d: "bluesky:a/b", ["'a/b'", "handle or DID"]),
    "unknown scheme": (lambda d: "ftp:posts.csv", ["'ftp:posts.csv'", "use one of"]),
}


@pytest.mark.parametrize("case", list(BAD_SOURCES))
def test_bad_source_is_one_line_and_the_stored_bot_is_untouched(stored_bot, tmp_path, case):
    make_spec, expected = BAD_SOURCES[case]
    spec = make_spec(tmp_path)
    before = snapshot(stored_bot, stored_bot / LOCKS)
    with pytest.raises(SourceError) as error:
        scrape_source(spec, "ada")
    one_line(error, *expected)
    assert snapshot(stored_bot, stored_bot / LOCKS) == before


# -- a raw part deleted by hand ---------------------------------------------------------


@pytest.mark.slow
def test_a_raw_part_deleted_by_hand_is_stored_again(data_root, tmp_path):
    spec = f"file:{posts_csv(tmp_path / 'ada.csv', 50)}"
    first = scrape_source(spec, "ada")
    [part] = raw_store(data_root).glob("part-*.parquet")
    part.unlink()
    # The scrape output lists a part that is gone: not complete, so the source is read again.
    again = scrape_source(spec, "ada")
    assert part.is_file() and again.fingerprint == first.fingerprint
    assert len(stored_posts(data_root)) == 50


# -- hostile handles: nothing is written outside the data root --------------------------


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


def archive_of(path: Path, username: str) -> str:
    tweets = [{"id_str": "1", "full_text": "a post with enough words in it"}]
    return f"archive:{write_archive(path, username, tweets)}"


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
    before = snapshot(tmp_path, data_root)
    for spec in hostile_specs:
        with pytest.raises(SourceError) as error:
            scrape_source(spec, "bot")
        assert "\n" not in str(error.value), spec
    assert server.requests == []  # every handle was refused before any request
    assert snapshot(tmp_path, data_root) == before
    assert not (data_root / "raw").exists() or not any((data_root / "raw").rglob("*.parquet"))


@pytest.mark.parametrize("bot", ["../evil", "a/b", "/abs", "..", "Has Space", "x" * 200])
def test_hostile_bot_names_are_refused_by_the_library_too(data_root, tmp_path, bot):
    source = file_of(tmp_path / "ada.jsonl", "ada")
    before = snapshot(tmp_path, data_root)
    with pytest.raises(ValueError, match="bot name .* is invalid"):
        scrape_source(source, bot)
    assert snapshot(tmp_path, data_root) == before
