"""`tweetbots demo` as a user runs it: a real process, a real Prefect server, W&B offline."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.cards import headings, table
from tests.fakes.wandb_runs import CHAIN, logged_outputs, recorded_inputs, wait_for_runs

SEED = Path(__file__).parents[1] / "data" / "seed_cyborg_card.md"
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_run(prefect_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("demo-home")
    env = {**os.environ, "TWEETBOTS_HOME": str(home), "PREFECT_API_URL": prefect_server}
    for name in ("WANDB_MODE", "WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR"):
        env.pop(name)  # the demo must choose offline mode and the data root by itself
    cli = Path(sys.executable).parent / "tweetbots"
    result = subprocess.run(
        [str(cli), "demo"], capture_output=True, text=True, env=env, timeout=600, cwd=home
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return home, result.stdout


def test_demo_publishes_a_cyborg_card_shaped_like_the_originals(demo_run):
    home, _ = demo_run
    cards = list((home / "published").glob("*/README.md"))
    assert len(cards) == 1
    card = cards[0].read_bytes().decode("utf-8")  # strict: the card is valid UTF-8
    seed = SEED.read_text(encoding="utf-8")
    assert headings(card) == headings(seed)
    ours, theirs = table(card), table(seed)
    assert [row[0] for row in ours] == [row[0] for row in theirs]
    assert [len(row) for row in ours] == [len(row) for row in theirs]
    assert "🤖 AI CYBORG 🤖" in card and "ðŸ" not in card
    kept = [int(v) for v in ours[-1][1:]]
    assert all(k > 0 for k in kept)


def test_demo_prints_where_everything_is_and_five_samples(demo_run):
    _, stdout = demo_run
    for label in ("card:", "model:", "predictions:"):
        line = next(x for x in stdout.splitlines() if x.startswith(label))
        assert Path(line.split(maxsplit=1)[1]).exists(), line
    samples = [x for x in stdout.splitlines() if x.startswith("  - ")]
    assert len(samples) == 5


def test_demo_model_loads_with_a_transformers_pipeline(demo_run):
    from transformers import pipeline

    home, _ = demo_run
    model_dir = next((home / "published").iterdir())
    generator = pipeline("text-generation", model=str(model_dir))
    out = generator("My dream is", max_new_tokens=12, do_sample=False)
    assert out[0]["generated_text"].startswith("My dream is")


def test_demo_wrote_one_offline_wandb_run_per_stage(demo_run):
    home, _ = demo_run
    runs = wait_for_runs(home / "wandb", 9)
    stages = sorted(run.job_type for run in runs)  # 3 scrapes: one per archive
    assert stages == sorted(
        ["scrape"] * 3 + ["clean", "base-model", "tokenize", "fine-tune", "evaluate", "publish"]
    )
    assert len({run.group for run in runs}) == 1  # the demo's flow run


def test_demo_lineage_chain_matches_digest_for_digest(demo_run):
    """Read from the `.wandb` transaction logs: raw -> clean -> tokens -> model -> evaluation
    -> published, every stage's recorded inputs are the previous stage's logged outputs."""
    home, _ = demo_run
    runs = wait_for_runs(home / "wandb", 9)
    for producer, consumer in CHAIN:
        outputs = logged_outputs(runs, producer)
        assert len(outputs) == 1, (producer, outputs)
        ((kind, produced),) = outputs.items()
        assert recorded_inputs(runs, consumer)[kind] == produced, (producer, consumer)
    assert len(logged_outputs(runs, "scrape")["scrape"]) == 3
    assert logged_outputs(runs, "publish")["publish"]  # the published card is the last artifact
