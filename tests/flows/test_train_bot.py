"""The train_bot flow (flows/train_bot.py) against a real Prefect server: its parameters as
the UI's form gets them, caching and reruns, the W&B lineage of its stage runs, and
secrets that never land anywhere."""

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools.validation import is_valid

from flows.train_bot import train_bot
from tests.fakes.hub import hub_online
from tests.fakes.prefect_states import (
    STAGES,
    run_page_artifacts,
    stage_states,
    task_states,
    wait_for_log,
)
from tests.fakes.wandb_runs import CHAIN, logged_outputs, recorded_inputs, wait_for_runs
from tweetbots.card import DATA_ROWS
from tweetbots.config import BotSpec
from tweetbots.stages.evaluate import EvalSettings
from tweetbots.stages.fine_tune import TINY_LEARNING_RATE, TrainSettings
from tweetbots.stages.publish import PublishSettings
from tweetbots.stages.tokenize import TokenizeSettings
from tweetbots.store import data_root, file_digest, read_manifest
from tweetbots.targets import check_target_uri, uri_pattern


@pytest.fixture
def small_bot(sample_archives, data_root) -> BotSpec:
    return BotSpec(
        name="crumb",
        sources=[f"archive:{sample_archives[0]}"],
        base_model="tiny",
        train=TrainSettings(epochs=1, batch_size=8),
        evaluate=EvalSettings(prompts=["My dream is"], samples_per_prompt=2),
    )


@pytest.mark.slow
def test_identical_rerun_executes_no_stage_body(prefect_server, small_bot):
    first = train_bot(small_bot, return_state=True)
    assert first.is_completed(), first.message
    assert task_states(first) == dict.fromkeys(STAGES, "Completed")
    published = first.result().summary["card"]

    second = train_bot(small_bot, return_state=True)
    assert second.is_completed()
    assert task_states(second) == dict.fromkeys(STAGES, "Cached")
    assert second.result().summary["card"] == published


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


# -- the parameters, as the UI's form gets them -----------------------------------------


# The JSON schema Prefect renders for the deployment (help text for every field, the name
# and target rules as patterns), checked with Prefect's own validator, as the server does
# before a run.


GOOD = {"name": "maya_bakes", "sources": ["archive:/data/sample/maya_bakes.zip"]}


@pytest.fixture(scope="module")
def schema() -> dict:
    return parameter_schema(train_bot).model_dump()


def _fields(schema: dict):
    """(model, field, its schema) of every field of every model the form shows."""
    for model, definition in schema["definitions"].items():
        for field, spec in definition["properties"].items():
            yield model, field, spec


def test_every_field_of_the_form_has_help_text(schema):
    undocumented = [f"{m}.{f}" for m, f, spec in _fields(schema) if not spec.get("description")]
    assert undocumented == []


@pytest.mark.parametrize(
    "change",
    [
        {"name": "../x"},
        {"name": "Maya Bakes"},
        {"name": "-x"},
        {"name": "x" * 97},
        {"publish": {"target": "s3://bucket/x"}},
        {"publish": {"target": "file://relative/dir"}},
        {"publish": {"target": "hf://only-a-name"}},
    ],
)
def test_the_form_refuses_a_bad_name_or_target_before_a_run(schema, change):
    assert is_valid({"bot": GOOD}, schema)
    assert not is_valid({"bot": {**GOOD, **change}}, schema)


@pytest.mark.parametrize(
    "target", [None, "file:///srv/bots", "file://localhost/srv/bots", "hf://me/bot-1.0"]
)
def test_the_form_takes_every_good_target(schema, target):
    assert is_valid({"bot": {**GOOD, "publish": {"target": target}}}, schema)


@pytest.mark.parametrize(
    "uri",
    [
        "file:///srv/bots",
        "file://localhost/x",
        "file:///",
        "file://host/x",
        "file://x",
        "file:/x",
        "hf://me/bot",
        "hf://me/b.o_t-1",
        "hf://me",
        "hf://me/bot/extra",
        "hf://me/b t",
        "s3://bucket/x",
        "",
    ],
)
def test_the_target_pattern_says_what_the_targets_own_check_says(uri):
    try:
        check_target_uri(uri)
        accepted = True
    except ValueError:
        accepted = False
    assert bool(re.search(uri_pattern(), uri)) == accepted


def test_a_bad_name_still_gets_our_one_line_not_the_patterns():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        BotSpec(name="Maya Bakes", sources=["file:x.csv"])
    assert "use 1-96 of a-z 0-9 _ . -" in refused.value.errors()[0]["msg"]


# -- W&B lineage, read back from the offline runs ---------------------------------------


# One run per executed stage, none for a cached one, read back from the offline runs'
# `.wandb` files.


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


@pytest.mark.slow
def test_each_executed_stage_has_one_run_in_the_flow_runs_group(two_runs):
    first, runs, _ = two_runs
    assert sorted(run.job_type for run in runs) == sorted(WANDB_STAGES)
    assert {run.group for run in runs} == {str(first.state_details.flow_run_id)}
    assert {run.project for run in runs} == {"tweetbots"}
    assert all(run.exit_code == 0 for run in runs)


@pytest.mark.slow
def test_every_recorded_input_is_the_previous_stages_logged_output(two_runs):
    _, runs, _ = two_runs
    for producer, consumer in CHAIN:
        ((produced_type, produced),) = logged_outputs(runs, producer).items()
        assert recorded_inputs(runs, consumer)[produced_type] == produced, (producer, consumer)


@pytest.mark.slow
def test_the_fine_tune_run_has_loss_learning_rate_and_throughput_per_step(two_runs):
    _, runs, _ = two_runs
    fine_tune = _by_stage(runs)["fine-tune"]
    steps = [row for row in fine_tune.history if "loss" in row]
    assert [row["_step"] for row in steps] == list(range(1, fine_tune.summary["steps"] + 1))
    assert all(row["loss"] > 0 and row["tokens_per_s"] > 0 for row in steps)
    rates = [row["learning_rate"] for row in steps]
    assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1]  # cosine decay


@pytest.mark.slow
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


@pytest.mark.slow
def test_every_stage_run_records_its_settings_and_counts(two_runs):
    _, runs, _ = two_runs
    by_stage = _by_stage(runs)
    assert by_stage["evaluate"].config["settings"]["prompts"] == ["My dream is"]
    assert by_stage["evaluate"].config["fine-tune"]["settings"]["epochs"] == 1
    assert by_stage["clean"].config["data"]["stats"]["maya_bakes"]["kept"] > 0
    assert by_stage["tokenize"].config["data"]["val"]["posts"] > 0
    assert by_stage["publish"].config["settings"]["force"] is False


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_cached_rerun_logs_no_new_run_or_artifact_version(two_runs):
    _, runs, after = two_runs
    assert [run.run_id for run in after] == [run.run_id for run in runs]
    versions = {(a.name, a.digest) for run in after for a in run.artifacts}
    assert versions == {(a.name, a.digest) for run in runs for a in run.artifacts}


@pytest.mark.slow
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


@pytest.mark.slow
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


# -- secrets never land anywhere --------------------------------------------------------


# The flow runs with sentinel values in HF_TOKEN and WANDB_API_KEY (W&B kept offline),
# publishing to a file:// target and to a local fake Hub through hf://. Then every byte
# written under the data root, the targets, the W&B directory, the Prefect home (its
# database, results and logs), the HF home, the published Hub repo, the flow runs' logs
# as the Prefect API returns them, every log record (DEBUG included) and everything
# printed are searched for the sentinels.


HF_TOKEN = "hf_SeNtInElHfToKeN0123456789abcdefXYZ"
WANDB_KEY = "5e471e1a" * 5  # 40 characters, the shape of a W&B API key
SENTINELS = [HF_TOKEN.encode(), WANDB_KEY.encode()]


def leaks(data: bytes | str) -> list[bytes]:
    data = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return [s for s in SENTINELS if s in data]


def files_with_secrets(*tops: Path) -> list[str]:
    found = []
    for top in tops:
        for path in top.rglob("*"):
            if path.is_file() and leaks(path.read_bytes()):
                found.append(str(path))
    return found


def flow_run_logs(flow_run_id) -> list[str]:
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 30
        while True:  # logs reach the server in batches, a moment after the run
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
            if logs or time.monotonic() > deadline:
                return [log.message for log in logs]
            time.sleep(0.5)


@pytest.mark.slow
def test_no_secret_is_written_logged_or_published(
    prefect_server,
    data_root,
    sample_archives,
    session_dir,
    tmp_path,
    secret_hub,
    monkeypatch,
    caplog,
    capfd,
):
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    monkeypatch.setenv("WANDB_API_KEY", WANDB_KEY)
    monkeypatch.setenv("WANDB_MODE", "offline")  # a key would switch W&B online otherwise
    caplog.set_level(logging.DEBUG)
    # The suite runs Prefect at WARNING; at DEBUG its run loggers send everything to the API.
    caplog.set_level(logging.DEBUG, logger="prefect")
    bot = BotSpec(
        name="hush",
        sources=[f"archive:{sample_archives[0]}"],
        base_model="tiny",
        train=TrainSettings(epochs=0.2, batch_size=8),
        evaluate=EvalSettings(prompts=["My dream is"], samples_per_prompt=1),
        publish=PublishSettings(target=f"file://{tmp_path}/hub"),
    )
    to_file = train_bot(bot, return_state=True)
    to_hub = train_bot(
        bot.model_copy(update={"publish": PublishSettings(target="hf://me/hush")}),
        return_state=True,
    )
    assert to_file.is_completed(), to_file.message
    assert to_hub.is_completed(), to_hub.message
    repo = secret_hub.repos["me/hush"]  # the token worked: it was used, just never kept
    assert "README.md" in repo.files and (tmp_path / "hub" / "hush" / "README.md").is_file()

    wandb_dir = Path(os.environ["WANDB_DIR"])
    assert any(wandb_dir.rglob("*.wandb")), "W&B wrote no run: nothing of it was searched"
    assert files_with_secrets(data_root, tmp_path, session_dir, wandb_dir) == []
    assert [name for name, data in repo.files.items() if leaks(data)] == []
    assert [c.message for c in repo.commits if leaks(c.message + c.description)] == []
    for state in (to_file, to_hub):
        messages = flow_run_logs(state.state_details.flow_run_id)
        assert messages and [m for m in messages if leaks(m)] == []
    assert caplog.records and [r for r in caplog.records if leaks(r.getMessage())] == []
    assert leaks(caplog.text) == []
    printed = capfd.readouterr()
    assert leaks(printed.out) == [] and leaks(printed.err) == []


@pytest.fixture
def secret_hub(monkeypatch):
    """The fake Hub, taking the sentinel token."""
    with hub_online(monkeypatch, HF_TOKEN) as fake:
        yield fake
