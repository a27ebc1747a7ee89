"""W&B lineage of the train_bot flow against a real Prefect server, read back from the
offline runs' `.wandb` files: one run per executed stage, none for a cached one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from flows.train_bot import train_bot
from tests.fakes.wandb_runs import CHAIN, logged_outputs, recorded_inputs, wait_for_runs
from tweetbots.config import BotSpec
from tweetbots.stages.evaluate import EvalSettings
from tweetbots.stages.fine_tune import TINY_LEARNING_RATE, TrainSettings
from tweetbots.stages.tokenize import TokenizeSettings
from tweetbots.store import file_digest

pytestmark = pytest.mark.slow

WANDB_STAGES = {"scrape", "clean", "base-model", "tokenize", "fine-tune", "evaluate", "publish"}


def _bot(archive: Path) -> BotSpec:
    return BotSpec(
        name="loaf",
        sources=[f"archive:{archive}"],
        base_model="tiny",
        train=TrainSettings(epochs=1, batch_size=8),
        evaluate=EvalSettings(prompts=["My dream is"], samples_per_prompt=2),
    )


@pytest.fixture(scope="module")
def two_runs(prefect_server, sample_archives, tmp_path_factory):
    """The same bot trained twice in a fresh data root: every stage runs, then none does."""
    home = tmp_path_factory.mktemp("lineage")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TWEETBOTS_HOME", str(home / "data"))
        patch.setenv("WANDB_DIR", str(home))
        first = train_bot(_bot(sample_archives[0]), return_state=True)
        assert first.is_completed(), first.message
        runs = wait_for_runs(home / "wandb", len(WANDB_STAGES))
        second = train_bot(_bot(sample_archives[0]), return_state=True)
        assert second.is_completed(), second.message
        after = wait_for_runs(home / "wandb", len(runs))
    return first, runs, after


def _by_stage(runs):
    return {run.job_type: run for run in runs}


def test_each_executed_stage_has_one_run_in_the_flow_runs_group(two_runs):
    first, runs, _ = two_runs
    assert sorted(run.job_type for run in runs) == sorted(WANDB_STAGES)
    assert {run.group for run in runs} == {str(first.state_details.flow_run_id)}
    assert {run.project for run in runs} == {"tweetbots"}
    assert all(run.exit_code == 0 for run in runs)


def test_every_recorded_input_is_the_previous_stages_logged_output(two_runs):
    _, runs, _ = two_runs
    for producer, consumer in CHAIN:
        ((produced_type, produced),) = logged_outputs(runs, producer).items()
        assert recorded_inputs(runs, consumer)[produced_type] == produced, (producer, consumer)


def test_the_fine_tune_run_has_loss_learning_rate_and_throughput_per_step(two_runs):
    _, runs, _ = two_runs
    fine_tune = _by_stage(runs)["fine-tune"]
    steps = [row for row in fine_tune.history if "loss" in row]
    assert [row["_step"] for row in steps] == list(range(1, fine_tune.summary["steps"] + 1))
    assert all(row["loss"] > 0 and row["tokens_per_s"] > 0 for row in steps)
    rates = [row["learning_rate"] for row in steps]
    assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1]  # cosine decay


def test_the_fine_tune_run_records_what_decided_the_model(two_runs):
    """Read back from the run's offline log: runs compare by these in the W&B UI."""
    _, runs, _ = two_runs
    fine_tune = _by_stage(runs)["fine-tune"]
    config = fine_tune.config
    assert config["settings"] == TrainSettings(epochs=1, batch_size=8).model_dump(mode="json")
    assert config["settings"]["learning_rate"] is None  # left open, so the rate used:
    assert (config["learning_rate"], config["device"]) == (TINY_LEARNING_RATE, "cpu")
    assert config["tokenize"]["settings"] == TokenizeSettings().model_dump(mode="json")
    assert config["tokenize"]["data"]["block_size"] == 256  # capped at tiny's context
    assert config["tokenize"]["data"]["train"]["blocks"] > 0
    assert config["base-model"]["settings"] == {"model": "tiny"}
    steps = fine_tune.summary["steps"]
    assert config["data"] == {"steps": steps, "tokens": steps * 8 * 256, "resumed_from_step": 0}
    assert (config["stage"], config["bot"]) == ("fine-tune", "loaf")


def test_every_stage_run_records_its_settings_and_counts(two_runs):
    _, runs, _ = two_runs
    by_stage = _by_stage(runs)
    assert by_stage["evaluate"].config["settings"]["prompts"] == ["My dream is"]
    assert by_stage["evaluate"].config["fine-tune"]["settings"]["epochs"] == 1
    assert by_stage["clean"].config["data"]["stats"]["maya_bakes"]["kept"] > 0
    assert by_stage["tokenize"].config["data"]["val"]["posts"] > 0
    assert by_stage["publish"].config["settings"]["force"] is False


def test_the_evaluate_run_has_the_samples_as_a_table_and_the_predictions_image(two_runs):
    first, runs, _ = two_runs
    evaluate = _by_stage(runs)["evaluate"]
    assert evaluate.summary["samples._type"] == "table-file"
    assert evaluate.summary["samples.nrows"] == 2
    assert sorted(a.type for a in evaluate.artifacts) == ["evaluate", "run_table"]
    assert evaluate.summary["perplexity"] > 1
    assert evaluate.summary["predictions._type"] == "image-file"
    image = evaluate.directory / "files" / evaluate.summary["predictions.path"]
    published = Path(first.result().summary["predictions"])
    assert file_digest(image) == file_digest(published)


def test_the_prefect_run_page_points_to_each_stage_run(two_runs):
    first, runs, _ = two_runs
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[first.state_details.flow_run_id])
            )
        )
    links = {a.key: a.data for a in artifacts if a.key and "-wandb-" in a.key}
    assert set(links) == {f"loaf-wandb-{stage}" for stage in WANDB_STAGES}
    for run in runs:
        assert str(run.directory) in links[f"loaf-wandb-{run.job_type}"]


def test_a_cached_rerun_logs_no_new_run_or_artifact_version(two_runs):
    _, runs, after = two_runs
    assert [run.run_id for run in after] == [run.run_id for run in runs]
    versions = {(a.name, a.digest) for run in after for a in run.artifacts}
    assert versions == {(a.name, a.digest) for run in runs for a in run.artifacts}


def test_with_wandb_disabled_the_flow_runs_unchanged(
    prefect_server, sample_archives, data_root, tmp_path, monkeypatch
):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    state = train_bot(_bot(sample_archives[0]), return_state=True)
    assert state.is_completed(), state.message
    assert Path(state.result().summary["card"]).is_file()
    assert not (tmp_path / "wandb").exists()


WITHOUT_WANDB = """
import sys
sys.modules["wandb"] = None  # before anything imports it: `import wandb` now fails
try:
    import wandb
except ImportError:
    pass
else:
    raise SystemExit("wandb is still importable")
from pathlib import Path
from flows.train_bot import train_bot
from tweetbots.config import BotSpec
state = train_bot(BotSpec.model_validate_json(sys.argv[1]), return_state=True)
assert state.is_completed(), state.message
print(state.result().summary["card"])
"""


def test_without_wandb_installed_the_flow_runs_unchanged(prefect_server, sample_archives, tmp_path):
    env = {**os.environ, "TWEETBOTS_HOME": str(tmp_path / "data"), "WANDB_DIR": str(tmp_path)}
    env.pop("WANDB_MODE")  # nothing tells it to stay off: only the missing package does
    bot = _bot(sample_archives[0]).model_dump_json()
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_WANDB, bot],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert Path(result.stdout.strip().splitlines()[-1]).is_file()
    assert not (tmp_path / "wandb").exists()
