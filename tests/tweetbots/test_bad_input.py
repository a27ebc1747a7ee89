"""Bad input through the stage runners: one clear line naming the input and the fix, and
nothing already stored lost or changed (the data root is compared byte for byte).

The readers' own checks are tested beside them (tests/tweetbots/sources/); here the same
inputs reach a data root that already holds a bot.
"""

import hashlib
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.stages import finished_output, scrape_source
from tweetbots.clean import NotEnoughTextError
from tweetbots.sources import SourceError
from tweetbots.stages import base_model, clean, publish, tokenize
from tweetbots.stages.publish import PublishSettings
from tweetbots.stages.tokenize import TokenizeSettings
from tweetbots.store import LOCKS
from tweetbots.targets import PublishError

WORDS = "sourdough crumb oven starter flour proof bake loaf butter crust".split()


def snapshot(root: Path) -> dict[str, str]:
    """Every file under the data root with its sha256; lock files hold no data."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != LOCKS
    }


def write_csv(path: Path, texts: list[str], ids: list[str] | None = None, **columns) -> Path:
    ids = ids or [str(i) for i in range(len(texts))]
    pd.DataFrame({"id": ids, "text": texts, **columns}).to_csv(path, index=False)
    return path


def long_posts(n: int, seed: int = 0) -> list[str]:
    """Posts that survive cleaning: 12 words each, about 70 characters."""
    return [" ".join(WORDS[(seed + i + j) % len(WORDS)] for j in range(12)) for i in range(n)]


def write_archive(path: Path, username: str, tweets: list[dict] | str) -> Path:
    account = [{"account": {"username": username, "accountId": "1"}}]
    body = tweets if isinstance(tweets, str) else json.dumps([{"tweet": t} for t in tweets])
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/account.js", "window.YTD.account.part0 = " + json.dumps(account))
        archive.writestr("data/tweets.js", "window.YTD.tweets.part0 = " + body)
    return path


def one_line(error: pytest.ExceptionInfo, *parts: str) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    for part in parts:
        assert part in message, (part, message)
    return message


@pytest.fixture
def stored_bot(data_root, tmp_path):
    """A data root holding bot `ada`: its raw posts and its clean dataset."""
    source = write_csv(tmp_path / "ada.csv", long_posts(120))
    scrape = scrape_source(f"file:{source}", "ada")
    clean.run([scrape])
    return data_root


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
    before = snapshot(stored_bot)
    with pytest.raises(SourceError) as error:
        scrape_source(spec, "ada")
    one_line(error, *expected)
    assert snapshot(stored_bot) == before


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
    before = snapshot(stored_bot)
    with pytest.raises(NotEnoughTextError) as error:
        clean.run([scrape])
    message = one_line(error, *expected)
    if not tweets:
        assert spec in message  # names the source that gave nothing
    assert snapshot(stored_bot) == before


def test_a_cyborg_with_one_empty_source_names_that_source(stored_bot, tmp_path):
    good = scrape_source(f"file:{write_csv(tmp_path / 'cy.csv', long_posts(120))}", "cy")
    empty_spec = f"archive:{write_archive(tmp_path / 'nobody.zip', 'nobody', [])}"
    empty = scrape_source(empty_spec, "cy")
    with pytest.raises(NotEnoughTextError) as error:
        clean.run([good, empty])
    one_line(error, empty_spec, "has no posts")


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


HOSTILE_TEXTS = {
    "nul bytes": "bread\x00 with a nul byte inside the crumb and oven words",
    "lone surrogate": "a broken emoji \ud83d in the middle of a long enough post",
    "right-to-left": "שלום עולם this bakery post mixes \u202eright-to-left\u202c scripts",
    "100 KB of text": " ".join(["sourdough"] * 10_000) + " end",
}


def test_hostile_text_survives_scrape_clean_and_tokenize(data_root, tmp_path):
    # Lone surrogates only exist in JSON (as an escape): a .jsonl source carries them.
    path = tmp_path / "odd.jsonl"
    records = [{"id": f"h{i}", "text": t} for i, t in enumerate(HOSTILE_TEXTS.values())]
    records += [{"id": str(i), "text": t} for i, t in enumerate(long_posts(120))]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    scrape = scrape_source(f"file:{path}", "odd")
    cleaned = clean.run([scrape])
    base = base_model.run("tiny", cleaned)
    tokens = tokenize.run(cleaned, base, TokenizeSettings(block_size=64))

    kept = pd.read_parquet(cleaned.path / "posts.parquet").set_index("id")["text"]
    nul, surrogate, rtl, big = (kept[f"h{i}"] for i in range(4))
    assert "\x00" in nul
    assert "\ufffd" in surrogate and "\ud83d" not in surrogate
    assert rtl == HOSTILE_TEXTS["right-to-left"]
    assert len(big) == len(HOSTILE_TEXTS["100 KB of text"])
    assert tokens.summary["train"]["tokens"] + tokens.summary["val"]["tokens"] > 10_000


def test_hub_target_without_a_token_fails_before_reading_the_hub(data_root):
    model = finished_output("fine-tune", data_root / "fine-tune" / "bot" / "m1")
    report = finished_output(
        "evaluate", data_root / "evaluate" / "bot" / "r1", perplexity=20.0, base_perplexity=90.0
    )
    cleaned = finished_output("clean", data_root / "clean" / "bot" / "c1", profiles=[], stats={})
    base = finished_output(
        "base-model", data_root / "base-model" / "bot" / "b1", model="tiny", model_dir="x"
    )
    before = snapshot(data_root)
    # HF_HUB_OFFLINE is set for the suite: reaching for the Hub would fail differently.
    with pytest.raises(PublishError) as error:
        publish.run(model, report, cleaned, base, PublishSettings(target="hf://me/bot"))
    one_line(error, "hf://me/bot", "HF_TOKEN", "hf-token")
    assert snapshot(data_root) == before
