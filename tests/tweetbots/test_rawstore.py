"""The raw store (tweetbots/rawstore.py): append-only, each post once (ids are unique per
platform and user), and whole under faults: a scrape killed mid-append (SIGKILL, no cleanup
code runs) and two processes appending one user's posts at once."""

import pandas as pd
import pytest

from tests.fakes.checks import snapshot
from tests.fakes.processes import kill, start, wait_for
from tests.fakes.sources import long_posts, posts_csv, raw_store, stored_posts, write_csv
from tests.fakes.stages import scrape_source
from tweetbots.stages import clean


def test_duplicated_ids_are_stored_once_first_copy_wins(data_root, tmp_path):
    texts = long_posts(130)
    ids = [str(i) for i in range(130)] + ["0", "1", "2"]  # three ids again, other texts
    first = write_csv(tmp_path / "dup.csv", texts + long_posts(3, seed=5), ids)
    scrape = scrape_source(f"file:{first}", "dup")
    again = tmp_path / "again" / "dup.csv"  # the same user from a second export
    again.parent.mkdir()
    write_csv(again, ["a different text for id zero, still long enough"] + texts[1:5])
    scrape_again = scrape_source(f"file:{again}", "dup")
    cleaned = clean.run([scrape, scrape_again])
    posts = pd.read_parquet(cleaned.path / "posts.parquet")
    assert posts["id"].is_unique and len(posts) == 130
    assert posts.set_index("id").loc["0", "text"] == texts[0]
    assert cleaned.summary["stats"]["dup"]["downloaded"] == 130


def test_the_same_ids_from_two_users_are_two_users_posts(data_root, tmp_path):
    # Two CSV exports both numbered 0..N-1: a cyborg of both keeps every post of each.
    alice = write_csv(tmp_path / "alice.csv", long_posts(130))
    bob = write_csv(tmp_path / "bob.csv", long_posts(140, seed=7))
    scrapes = [scrape_source(f"file:{p}", "pair") for p in (alice, bob)]
    cleaned = clean.run(scrapes)
    stats = cleaned.summary["stats"]
    assert (stats["alice"]["downloaded"], stats["bob"]["downloaded"]) == (130, 140)
    posts = pd.read_parquet(cleaned.path / "posts.parquet")
    assert posts.groupby("user").size().to_dict() == {"alice": 130, "bob": 140}


# -- faults -----------------------------------------------------------------------------


APPEND = """
import os, sys, time
from pathlib import Path
import pandas as pd
from tweetbots import rawstore
root, first, n, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
numbers = range(first, first + n)
posts = pd.DataFrame({
    "id": [f"p{i}" for i in numbers], "user": "ada",
    "created_at": pd.Timestamp("2024-01-01", tz="UTC"),
    "text": [f"post {i} " + "ab" * (i % 97) + str(i * 7919) for i in numbers],
    "is_retweet": False, "is_reply": False, "platform": "file", "url": None,
})
(go.parent / f"ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.001)
rawstore.append_posts(posts, root)
"""


@pytest.mark.slow
def test_a_scrape_killed_mid_append_leaves_the_store_as_it_was(data_root, tmp_path):
    scrape_source(f"file:{posts_csv(tmp_path / 'ada.csv', 50)}", "ada")
    before, readable_before = snapshot(raw_store(data_root)), stored_posts(data_root)
    go = tmp_path / "go"
    go.touch()

    process = start(APPEND, str(data_root), "0", "400000", str(go))
    wait_for(lambda: any(raw_store(data_root).glob(".part-*.tmp")), process)
    kill(process)

    after = snapshot(raw_store(data_root))
    assert {k: v for k, v in after.items() if k.startswith("part-")} == before  # no half part
    pd.testing.assert_frame_equal(stored_posts(data_root), readable_before)
    assert any(name.endswith(".tmp") for name in after), "killed after the write finished"

    # The next append (the rerun) drops the dead one's temp file and stores normally.
    scrape_source(f"file:{posts_csv(tmp_path / 'ada.csv', 60)}", "ada")
    names = sorted(snapshot(raw_store(data_root)))
    assert not any(name.endswith(".tmp") for name in names) and len(names) == 2
    assert len(stored_posts(data_root)) == 60


@pytest.mark.slow
def test_two_processes_appending_one_user_take_turns(data_root, tmp_path):
    go = tmp_path / "go"
    # Overlapping batches: posts p30000-p59999 are offered by both.
    both = [start(APPEND, str(data_root), first, "60000", str(go)) for first in ("0", "30000")]
    for process in both:  # both imported and waiting at the line
        wait_for(lambda p=process: (tmp_path / f"ready-{p.pid}").exists(), process)
    go.touch()
    for process in both:
        assert process.wait(timeout=300) == 0, process.stderr.read()

    # The second read the ids the first had stored and added only the 30000 others:
    # interleaved, both would have seen an empty store and stored the overlap twice.
    parts = sorted(raw_store(data_root).glob("part-*.parquet"))
    ids = [pd.read_parquet(part, columns=["id"])["id"] for part in parts]
    assert sorted(len(i) for i in ids) == [30000, 60000]
    assert pd.concat(ids).is_unique and len(stored_posts(data_root)) == 90000
    assert not list(raw_store(data_root).glob(".part-*"))
