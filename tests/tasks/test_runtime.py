"""What tasks read at run time: the W&B key of the Prefect Secret block, and the mode it
gives the stage runs (the other login sources: tests/tweetbots/test_lineage.py)."""

import pytest
from prefect.blocks.system import Secret

from tasks.runtime import wandb_api_key
from tweetbots.lineage import wandb_mode

BLOCK_KEY = "b10c4ed5" * 5  # the shape of a W&B key, in the Secret block only


@pytest.fixture
def wandb_secret_block(prefect_server):
    """The Secret block `wandb-api-key` on the test server, removed afterwards (the
    server is shared by the session)."""
    Secret(value=BLOCK_KEY).save("wandb-api-key", overwrite=True)
    yield BLOCK_KEY
    Secret.delete("wandb-api-key")


def test_the_secret_block_puts_runs_online_and_wandb_mode_wins(wandb_secret_block, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert wandb_api_key() == BLOCK_KEY
    assert wandb_mode(wandb_api_key()) == "online"
    for forced in ("offline", "disabled"):
        monkeypatch.setenv("WANDB_MODE", forced)
        assert wandb_mode(wandb_api_key()) == forced


def test_without_the_block_the_environment_key_is_used(prefect_server, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "e0e0e0e0" * 5)
    assert wandb_api_key() == "e0e0e0e0" * 5
