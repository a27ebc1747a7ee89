"""The nightly increment through the real scrape stage against a local Mastodon server."""

import pandas as pd
from _fake_servers import mastodon_status

from tweetbots import pipeline

HOST = "example.social"
STATUSES = r"/api/v1/accounts/\w+/statuses"


def test_second_scrape_asks_only_for_newer_posts(mastodon, server, data_root):
    account = mastodon.add_account("ada", HOST, count=45)
    first = pipeline.run_scrape(f"mastodon:@ada@{HOST}", "ada")
    store = data_root / "raw" / "mastodon" / f"ada@{HOST}"
    assert len(pd.read_parquet(store)) == 45
    # The sensor's fetch asks for everything; the stage's own read is then an increment.
    assert "since_id" not in server.seen(STATUSES)[0].query

    mastodon.add_status(account, mastodon_status(45, account))
    asked_before = len(server.seen(STATUSES))
    second = pipeline.run_scrape(f"mastodon:@ada@{HOST}", "ada")
    newest_before = str(110_000_000_000_000_000 + 44 * 1000)
    later = server.seen(STATUSES)[asked_before]
    assert later.query["since_id"] == newest_before
    assert len(pd.read_parquet(store)) == 46 and len(list(store.glob("part-*"))) == 2
    assert second.fingerprint != first.fingerprint


def test_scrape_with_nothing_new_keeps_every_fingerprint(mastodon, server, data_root):
    mastodon.add_account("ada", HOST, count=10)
    first = pipeline.run_scrape(f"mastodon:@ada@{HOST}", "ada")
    second = pipeline.run_scrape(f"mastodon:@ada@{HOST}", "ada")
    assert second.fingerprint == first.fingerprint
    assert pipeline.clean_dir([second], "ada") == pipeline.clean_dir([first], "ada")
    assert len(list((data_root / "raw" / "mastodon" / f"ada@{HOST}").glob("part-*"))) == 1


def test_the_sensor_finds_nothing_new_so_the_scrape_output_is_reused(mastodon, server, data_root):
    spec = f"mastodon:@ada@{HOST}"
    account = mastodon.add_account("ada", HOST, count=10)
    state = pipeline.check_source(spec)
    first = pipeline.run_scrape(spec, "ada", state)
    assert pipeline.check_source(spec) == state  # nothing new: same dir, complete
    assert pipeline.scrape_is_complete(pipeline.scrape_dir(spec, "ada", state))

    mastodon.add_status(account, mastodon_status(10, account))
    fresh = pipeline.check_source(spec)  # the sensor stored the new post already
    assert fresh != state
    second = pipeline.run_scrape(spec, "ada", fresh)
    assert second.fingerprint != first.fingerprint
    assert len(pd.read_parquet(data_root / "raw" / "mastodon" / f"ada@{HOST}")) == 11
