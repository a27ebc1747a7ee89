"""The train_bot flow against a real Prefect server: caching and reruns, counted from the
task-run states Prefect records (`Cached` = the stage body did not execute)."""

import shutil

import pytest
from prefect_states import STAGES, task_states

from flows.train_bot import train_bot
from tweetbots.config import BotSpec, EvalSettings, PublishSettings, TrainSettings
from tweetbots.store import data_root

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
