"""Stage runners on real files: the raw store increments and the publish gate."""

import json

import pandas as pd
import pytest

from tweetbots import pipeline
from tweetbots.config import PublishSettings
from tweetbots.store import StageOutput, building, write_manifest


def _write_csv(path, n: int, start: int = 0) -> None:
    rows = [f"{i},post number {i} has enough words to keep" for i in range(start, start + n)]
    path.write_text("id,text\n" + "\n".join(rows) + "\n")


def test_rescrape_of_an_unchanged_source_adds_nothing_and_keeps_fingerprints(data_root, tmp_path):
    import shutil

    source = tmp_path / "alice.csv"
    _write_csv(source, 50)
    first = pipeline.run_scrape(f"file:{source}", "bot")
    spec = f"file:{source}"
    shutil.rmtree(pipeline.scrape_dir(spec, "bot", pipeline.check_source(spec)))  # re-read
    second = pipeline.run_scrape(f"file:{source}", "bot")
    assert second.fingerprint == first.fingerprint
    assert len(list((data_root / "raw" / "file" / "alice").glob("part-*"))) == 1
    assert pipeline.clean_dir([second], "bot") == pipeline.clean_dir([first], "bot")


def test_new_posts_append_one_part_and_change_the_fingerprint(data_root, tmp_path):
    source = tmp_path / "alice.csv"
    _write_csv(source, 50)
    first = pipeline.run_scrape(f"file:{source}", "bot")
    _write_csv(source, 60)  # ten new posts, the fifty old ones again
    second = pipeline.run_scrape(f"file:{source}", "bot")
    assert second.fingerprint != first.fingerprint
    parts = sorted((data_root / "raw" / "file" / "alice").glob("part-*"))
    assert [len(pd.read_parquet(p)) for p in parts] in ([50, 10], [10, 50])


def _fake(stage: str, directory, **summary) -> StageOutput:
    with building(directory) as tmp:
        write_manifest(tmp, stage=stage, bot="bot", fingerprint=directory.name, summary=summary)
    return StageOutput(
        stage=stage, bot="bot", path=directory, fingerprint=directory.name, summary=summary
    )


@pytest.fixture
def publishable(data_root, tmp_path):
    """Real directories for a model, a report and a clean dataset, without training."""
    model = _fake("fine-tune", data_root / "models" / "bot" / "m1")
    (model.path / "model.safetensors").write_bytes(b"weights")
    clean = _fake(
        "clean",
        data_root / "clean" / "bot" / "c1",
        profiles=[
            {"platform": "file", "user": "alice", "display_name": "Alice", "avatar_url": None}
        ],
        stats={"alice": {"downloaded": 10, "retweets": 1, "short": 2, "kept": 7}},
    )
    base = _fake("base", data_root / "base" / "bot" / "b1", model="tiny", model_dir="x")

    def report(name: str, perplexity: float) -> StageOutput:
        out = _fake(
            "evaluate",
            data_root / "eval" / "bot" / name,
            perplexity=perplexity,
            base_perplexity=900.0,
        )
        (out.path / "predictions.png").write_bytes(b"png")
        return out

    return model, clean, base, report, PublishSettings(target=f"file://{tmp_path}/hub")


def _published_perplexity(tmp_path) -> float:
    from tweetbots.card import read_card_perplexity

    return read_card_perplexity((tmp_path / "hub" / "bot" / "README.md").read_text())


def test_gate_publishes_only_a_better_model(publishable, tmp_path):
    model, clean, base, report, settings = publishable
    first = pipeline.run_publish(model, report("r1", 20.0), clean, base, settings, "bot")
    assert first.summary["published"] and _published_perplexity(tmp_path) == 20.0

    worse = pipeline.run_publish(model, report("r2", 25.0), clean, base, settings, "bot")
    assert not worse.summary["published"] and worse.summary["previous_perplexity"] == 20.0
    assert _published_perplexity(tmp_path) == 20.0

    better = pipeline.run_publish(model, report("r3", 15.0), clean, base, settings, "bot")
    assert better.summary["published"] and _published_perplexity(tmp_path) == 15.0


def test_force_publishes_a_worse_model(publishable, tmp_path):
    model, clean, base, report, settings = publishable
    pipeline.run_publish(model, report("r1", 20.0), clean, base, settings, "bot")
    forced = settings.model_copy(update={"force": True})
    result = pipeline.run_publish(model, report("r2", 30.0), clean, base, forced, "bot")
    assert result.summary["published"] and _published_perplexity(tmp_path) == 30.0
    files = json.dumps(sorted(p.name for p in (tmp_path / "hub" / "bot").iterdir()))
    assert files == '["README.md", "model.safetensors", "predictions.png"]'
