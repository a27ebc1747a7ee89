"""What tasks read and decide at run time (tasks/runtime.py): which failures are retried,
the W&B key of the Prefect Secret block and the mode it gives the stage runs (the other
login sources: tests/tweetbots/test_lineage.py), and the run page that links a run."""

import httpx
import pytest
from prefect import flow
from prefect.blocks.system import Secret
from prefect.runtime import flow_run
from prefect.settings import PREFECT_UI_URL, temporary_settings
from prefect.states import Failed

from tasks.publish import commit_message
from tasks.runtime import retry_transient, run_page, wandb_api_key
from tests.fakes.network import FailingServer
from tweetbots.lineage import wandb_mode
from tweetbots.sources import SourceError

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


# -- which failures are retried ---------------------------------------------------------


def _failed(error: Exception):
    return Failed(data=error)


class _Response:
    def __init__(self, status: int):
        self.status_code = status


class _HttpError(Exception):
    def __init__(self, status: int):
        super().__init__(f"status {status}")
        self.response = _Response(status)


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError("slow"),
        ConnectionRefusedError("refused"),
        httpx.ConnectError("refused"),
        _HttpError(503),
        _HttpError(429),
    ],
)
def test_network_trouble_is_retried(error):
    assert retry_transient(None, None, _failed(error))


@pytest.mark.parametrize(
    "error",
    [
        SourceError("archive:x: no such file"),
        ValueError("bad"),
        _HttpError(404),
        _HttpError(401),
    ],
)
def test_bad_input_is_not_retried(error):
    assert not retry_transient(None, None, _failed(error))


def test_our_one_line_error_over_network_trouble_is_retried():
    from tweetbots.basemodel import BaseModelError

    def raised(cause: Exception | None) -> BaseModelError:
        try:
            raise BaseModelError("base model 'gpt2' is not in the cache") from cause
        except BaseModelError as error:
            return error

    assert retry_transient(None, None, _failed(raised(httpx.ConnectError("refused"))))
    assert not retry_transient(None, None, _failed(raised(None)))  # offline: final
    assert not retry_transient(None, None, _failed(raised(_HttpError(404))))


def test_huggingface_hub_transport_errors_are_retried():
    from huggingface_hub.utils import get_session

    session = get_session()
    try:
        session.get("http://127.0.0.1:9/unreachable", timeout=2)
    except Exception as error:  # noqa: BLE001 - whatever the vendored client raises
        assert retry_transient(None, None, _failed(error)), type(error).__mro__
    else:
        pytest.fail("port 9 answered")


def test_a_hub_read_timeout_is_retried(monkeypatch):
    from huggingface_hub import constants

    from tweetbots.targets import hf, open_target

    slow = FailingServer(200, delay=1.0)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", slow.url)
    monkeypatch.setattr(hf, "HUB_READ_TIMEOUT_S", 0.2)
    try:
        with pytest.raises(Exception) as error:  # noqa: B017 - the client's own type
            open_target("hf://me/bot", "bot", "hf_test_token").published_card()
    finally:
        slow.stop()
    assert "timed out" in str(error.value).lower()
    assert retry_transient(None, None, _failed(error.value))


# -- run links only where a Prefect UI shows the run ------------------------------------


# A run's page is linked (W&B configs, Hub commit messages) only where a Prefect UI shows
# it: a run on a temporary local server has no page once it ends, and gets its id instead.


@flow
def _links() -> tuple[str, str | None, str]:
    return commit_message("bot"), run_page(), flow_run.id


def test_without_a_known_ui_no_link_is_written(prefect_server):
    with temporary_settings(updates={PREFECT_UI_URL: ""}):
        message, page, run_id = _links()
    assert page is None
    assert message == f"tweetbots: publish bot (Prefect flow run {run_id})"


def test_with_a_ui_the_link_is_the_run_page(prefect_server):
    with temporary_settings(updates={PREFECT_UI_URL: "http://prefect.example"}):
        message, page, run_id = _links()
    assert page == f"http://prefect.example/runs/flow-run/{run_id}"
    assert message == f"tweetbots: publish bot (Prefect flow run {page})"


def test_outside_a_flow_run_there_is_nothing_to_link():
    assert run_page() is None
    assert commit_message("bot") == "tweetbots: publish bot"
