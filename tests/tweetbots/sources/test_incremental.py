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
    assert all("since_id" not in r.query for r in server.seen(STATUSES))

    mastodon.add_status(account, mastodon_status(45, account))
    second = pipeline.run_scrape(f"mastodon:@ada@{HOST}", "ada")
    newest_before = str(110_000_000_000_000_000 + 44 * 1000)
    later = server.seen(STATUSES)[-1]
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
