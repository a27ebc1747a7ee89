"""The train_bot flow against a real Prefect server: caching and reruns, counted from the
task-run states Prefect records (`Cached` = the stage body did not execute)."""

import json
import shutil

import pytest
from prefect_states import STAGES, run_page_artifacts, task_states, wait_for_log

from flows.train_bot import train_bot
from tweetbots.card import DATA_ROWS
from tweetbots.config import BotSpec, EvalSettings, PublishSettings, TrainSettings
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
    tokens = next((data_root() / "tokens" / "crumb").iterdir())
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
