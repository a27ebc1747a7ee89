"""The train_bot flow against a real Prefect server: caching and reruns, counted from the
task-run states Prefect records (`Cached` = the stage body did not execute)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.train_bot import train_bot
from tests.fakes.prefect_states import (
    STAGES,
    run_page_artifacts,
    stage_states,
    task_states,
    wait_for_log,
)
from tweetbots.card import DATA_ROWS
from tweetbots.config import BotSpec
from tweetbots.stages.evaluate import EvalSettings
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.stages.publish import PublishSettings
from tweetbots.store import data_root, read_manifest

pytestmark = pytest.mark.slow


@pytest.fixture
def small_bot(sample_archives, data_root) -> BotSpec:
    return BotSpec(
        name="crumb",
        sources=[f"archive:{sample_archives[0]}"],
        base_model="tiny",
        train=TrainSettings(epochs=1, batch_size=8),
        evaluate=EvalSettings(prompts=["My dream is"], samples_per_prompt=2),
    )


def test_identical_rerun_executes_no_stage_body(prefect_server, small_bot):
    first = train_bot(small_bot, return_state=True)
    assert first.is_completed(), first.message
    assert task_states(first) == dict.fromkeys(STAGES, "Completed")
    published = first.result().summary["card"]

    second = train_bot(small_bot, return_state=True)
    assert second.is_completed()
    assert task_states(second) == dict.fromkeys(STAGES, "Cached")
    assert second.result().summary["card"] == published


def test_a_cached_run_shows_the_same_run_page(prefect_server, small_bot):
    first = train_bot(small_bot, return_state=True)
    second = train_bot(small_bot, return_state=True)
    assert task_states(second) == dict.fromkeys(STAGES, "Cached")

    shown = [run_page_artifacts(s.state_details.flow_run_id) for s in (first, second)]
    page = {"crumb-data", "crumb-eval", "crumb-training-summary", "crumb-published"}
    assert page <= set(shown[0]) and page <= set(shown[1])
    assert "crumb-training" in shown[0]  # the live progress bar: only while it trains
    for key in page:  # a cached stage shows what the run that made its output showed
        assert shown[1][key] == shown[0][key], key
    (clean,) = (data_root() / "clean" / "crumb").iterdir()
    stats = read_manifest(clean)["summary"]["stats"]
    data = json.loads(shown[1]["crumb-data"])
    assert data == [
        {"Data": label, **{user: s[field] for user, s in stats.items()}}
        for label, field in DATA_ROWS
    ]
    assert "My dream is" in shown[1]["crumb-eval"]
    assert f"({first.result().summary['url']})" in shown[1]["crumb-published"]


def test_rerun_after_failure_starts_at_the_failed_stage(prefect_server, small_bot, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the publish target directory should be")
    bot = small_bot.model_copy(update={"publish": PublishSettings(target=f"file://{blocker}/hub")})

    failed = train_bot(bot, return_state=True)
    assert failed.is_failed()
    assert task_states(failed) == {**dict.fromkeys(STAGES[:-1], "Completed"), "publish": "Failed"}

    blocker.unlink()  # the fix
    rerun = train_bot(bot, return_state=True)
    assert rerun.is_completed(), rerun.message
    assert task_states(rerun) == {**dict.fromkeys(STAGES[:-1], "Cached"), "publish": "Completed"}
    assert (tmp_path / "not-a-directory" / "hub" / "crumb" / "README.md").is_file()


def test_deleted_output_is_recomputed_not_a_crash(prefect_server, small_bot):
    first = train_bot(small_bot, return_state=True)
    assert first.is_completed()
    tokens = next((data_root() / "tokenize" / "crumb").iterdir())
    shutil.rmtree(tokens)

    rerun = train_bot(small_bot, return_state=True)
    assert rerun.is_completed(), rerun.message
    states = task_states(rerun)
    assert states["tokenize"] == "Completed"
    assert {states[s] for s in STAGES if s != "tokenize"} == {"Cached"}
    assert (tokens / "train.npy").is_file()


def test_a_low_data_warning_is_in_the_run_logs_and_on_its_page(prefect_server, data_root, tmp_path):
    # 150 posts of ~70 characters: over the 6,000 that fail, under the 40,000 that warn.
    posts = tmp_path / "quiet.csv"
    words = "bread oven crumb flour starter loaf crust proof knead bake salt water".split()
    lines = [f"{i},{' '.join(words[(i + j) % len(words)] for j in range(11))}" for i in range(150)]
    posts.write_text("id,text\n" + "\n".join(lines) + "\n")
    bot = BotSpec(
        name="quiet",
        sources=[f"file:{posts}"],
        base_model="tiny",
        train=TrainSettings(epochs=1, batch_size=8),
        evaluate=EvalSettings(prompts=["I like"], samples_per_prompt=1),
    )
    state = train_bot(bot, return_state=True)
    assert state.is_completed(), state.message

    flow_run_id = state.state_details.flow_run_id
    logged = wait_for_log(flow_run_id, "under 40,000")
    assert logged.startswith("quiet: ") and "characters" in logged
    assert logged in run_page_artifacts(flow_run_id)["quiet-data-warnings"]


# -- a code change reruns only what it changes ----------------------------------------

RUN_FROM_COPY = """
import sys
from flows.train_bot import train_bot
from tweetbots.config import BotSpec
state = train_bot(BotSpec.model_validate_json(sys.argv[1]), return_state=True)
print(state.state_details.flow_run_id)
"""
REPO = Path(__file__).resolve().parents[2]


def _edit(code: Path, module: str, old: str, new: str) -> None:
    path = code / module
    text = path.read_text(encoding="utf-8")
    assert old in text, (module, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _stages_run_by(code: Path, bot: BotSpec) -> dict[str, str]:
    """Run the flow from the copy of the code in a new process, as an upgraded worker
    would; the task-run states of its stages (`Cached`: the body did not execute)."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_FROM_COPY, bot.model_dump_json()],
        env={**os.environ, "PYTHONPATH": str(code)},
        cwd=code,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return stage_states(done.stdout.strip().splitlines()[-1])


def test_a_code_change_reruns_the_stages_it_changes_and_nothing_else(
    prefect_server, small_bot, tmp_path
):
    code = tmp_path / "code"
    for package in ("tweetbots", "tasks", "flows"):
        shutil.copytree(REPO / package, code / package, ignore=shutil.ignore_patterns("*.pyc"))
    assert set(_stages_run_by(code, small_bot).values()) == {"Completed"}

    # Demo data, the CLI, the W&B log reader, a log line, a comment: no stage reruns.
    _edit(code, "tweetbots/demo_data.py", "def write_", "EDITED = True\n\n\ndef write_")
    _edit(code, "flows/cli.py", '"bot name: ', "\"the bot's name: ")
    reader = "def read_records("
    _edit(code, "tweetbots/wandb_records.py", reader, f"EDITED = 1\n\n\n{reader}")
    _edit(code, "tweetbots/train.py", '"fine-tune step %d/%d', '"fine-tuning, step %d of %d')
    _edit(code, "tweetbots/clean.py", "MIN_WORDS = 3", "MIN_WORDS = 3  # the original's")
    assert _stages_run_by(code, small_bot) == dict.fromkeys(STAGES, "Cached")

    # The card's rendering: only publish reruns, and the new card is published.
    _edit(code, "tweetbots/card.py", '"## How to use\\n\\n"', '"## How to use it\\n\\n"')
    states = _stages_run_by(code, small_bot)
    assert states == {**dict.fromkeys(STAGES, "Cached"), "publish": "Completed"}
    published = data_root() / "published" / "crumb" / "README.md"
    assert "## How to use it" in published.read_text(encoding="utf-8")

    # A cleaning rule: clean and everything after it rerun; the source is not read again.
    _edit(code, "tweetbots/clean.py", "WARN_CHARS = 40000", "WARN_CHARS = 40001")
    states = _stages_run_by(code, small_bot)
    assert states == {**dict.fromkeys(STAGES, "Completed"), "scrape": "Cached"}
