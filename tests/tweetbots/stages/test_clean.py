"""The clean stage: too little text after cleaning fails in one line naming the user or
the source, and writes nothing (the data root is compared byte for byte)."""

import pytest

from tests.fakes.checks import one_line, snapshot
from tests.fakes.sources import long_posts, write_archive, write_csv
from tests.fakes.stages import scrape_source, store_a_bot
from tweetbots.clean import NotEnoughTextError
from tweetbots.stages import clean
from tweetbots.store import LOCKS


@pytest.fixture
def stored_bot(data_root, tmp_path):
    """A data root holding bot `ada`: its raw posts and its clean dataset."""
    return store_a_bot(data_root, tmp_path)


def _archive_posts(texts: list[str], retweet: bool = False) -> list[dict]:
    prefix = "RT @someone: " if retweet else ""
    return [{"id_str": str(i), "full_text": prefix + t} for i, t in enumerate(texts)]


TOO_LITTLE = {
    "empty archive": ([], ["has no posts to train on", "right account or export"]),
    "only retweets": (
        _archive_posts(long_posts(50), retweet=True),
        ["bea: 0 characters in 0 of 50 posts kept", "add more posts or another source"],
    ),
    "only short posts": (
        _archive_posts(["lol", "ok then", "@ann #tbt"] * 20),
        ["bea: 0 characters in 0 of 60 posts kept", "add more posts"],
    ),
    "too little text": (
        _archive_posts(long_posts(20)),
        ["bea:", "in 20 of 20 posts kept", "6,000 needed", "add more posts"],
    ),
}


@pytest.mark.parametrize("case", list(TOO_LITTLE))
def test_too_little_text_fails_the_clean_stage_and_writes_nothing(stored_bot, tmp_path, case):
    tweets, expected = TOO_LITTLE[case]
    spec = f"archive:{write_archive(tmp_path / 'bea.zip', 'bea', tweets)}"
    scrape = scrape_source(spec, "bea")
    before = snapshot(stored_bot, stored_bot / LOCKS)
    with pytest.raises(NotEnoughTextError) as error:
        clean.run([scrape])
    message = one_line(error, *expected)
    if not tweets:
        assert spec in message  # names the source that gave nothing
    assert snapshot(stored_bot, stored_bot / LOCKS) == before


def test_a_cyborg_with_one_empty_source_names_that_source(stored_bot, tmp_path):
    good = scrape_source(f"file:{write_csv(tmp_path / 'cy.csv', long_posts(120))}", "cy")
    empty_spec = f"archive:{write_archive(tmp_path / 'nobody.zip', 'nobody', [])}"
    empty = scrape_source(empty_spec, "cy")
    with pytest.raises(NotEnoughTextError) as error:
        clean.run([good, empty])
    one_line(error, empty_spec, "has no posts")
