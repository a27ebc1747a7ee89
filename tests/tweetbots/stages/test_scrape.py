"""The scrape stage: the raw store grows by what is new, and an unchanged source changes
no fingerprint (a local file, and the nightly increment against a local Mastodon)."""

import shutil

import pandas as pd

from tests.fakes.social import mastodon_status
from tests.fakes.stages import scrape_source
from tweetbots.stages import clean, scrape

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
