"""Secrets never land anywhere: the train_bot flow runs with sentinel values in HF_TOKEN
and WANDB_API_KEY (W&B kept offline), publishing to a file:// target and to a local fake
Hub through hf://. Then every byte written under the data root, the targets, the W&B
directory, the Prefect home (its database, results and logs), the HF home, the published
Hub repo, the flow runs' logs as the Prefect API returns them, every log record (DEBUG
included) and everything printed are searched for the sentinels.
"""

import logging
import os
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from flows.train_bot import train_bot
from tests.fakes.hub import FakeHub
from tweetbots.config import BotSpec
from tweetbots.stages.evaluate import EvalSettings
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.stages.publish import PublishSettings

pytestmark = pytest.mark.slow

HF_TOKEN = "hf_SeNtInElHfToKeN0123456789abcdefXYZ"
WANDB_KEY = "5e471e1a" * 5  # 40 characters, the shape of a W&B API key
SENTINELS = [HF_TOKEN.encode(), WANDB_KEY.encode()]


@pytest.fixture
def hub(monkeypatch):
    """The fake Hub, with huggingface_hub pointed at it (see test_publish_hub.py)."""
    from huggingface_hub import constants

    with FakeHub(HF_TOKEN) as fake:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
        monkeypatch.setattr(constants, "ENDPOINT", fake.url)
        monkeypatch.setattr(
            constants,
            "HUGGINGFACE_CO_URL_TEMPLATE",
            fake.url + "/{repo_id}/resolve/{revision}/{filename}",
        )
        yield fake


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


def test_no_secret_is_written_logged_or_published(
    prefect_server,
    data_root,
    sample_archives,
    session_dir,
    tmp_path,
    hub,
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
    repo = hub.repos["me/hush"]  # the token worked: it was used, just never kept
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
