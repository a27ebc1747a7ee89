import httpx
import pytest
from prefect.states import Failed

from tasks.runtime import retry_transient
from tweetbots.sources import SourceError


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


# -- the real tasks against a server that keeps failing ---------------------------------


class _FailingServer:
    """127.0.0.1, answering every GET with `status` (after `delay` seconds), counting paths."""

    def __init__(self, status: int, delay: float = 0.0):
        import threading
        import time
        from collections import Counter
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.paths: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server.paths[self.path.split("?")[0]] += 1
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def failing_server():
    server = _FailingServer(503)
    yield server
    server.stop()


def test_scrape_5xx_is_retried_by_the_reader_and_not_again_by_prefect(
    prefect_server, data_root, failing_server, monkeypatch
):
    from prefect import flow

    from tasks.scrape import fetch_new_posts
    from tweetbots.sources import client

    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", failing_server.url)
    monkeypatch.setattr(client, "POLICY", client.RetryPolicy(attempts=3, backoff_s=0.01))

    @flow
    def sense(spec: str) -> str:
        return fetch_new_posts.with_options(retry_delay_seconds=0)(spec)

    state = sense("mastodon:@ada@example.social", return_state=True)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert isinstance(error, SourceError) and "\n" not in str(error)
    assert "@ada@example.social" in str(error) and "HTTP 503" in str(error)
    # The reader's own retries (3), and no Prefect retries on top: its error is final.
    assert failing_server.paths["/api/v1/accounts/lookup"] == 3


def test_publish_5xx_is_retried_by_prefect_then_fails(
    prefect_server, data_root, failing_server, monkeypatch
):
    from huggingface_hub import constants
    from prefect import flow

    from tasks.publish import publish
    from tweetbots.stages.publish import PublishSettings

    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "ENDPOINT", failing_server.url)
    stages = _publishable_stages(data_root)

    @flow
    def publish_only():
        task = publish.with_options(retry_delay_seconds=0)
        return task(*stages, PublishSettings(target="hf://me/bot"))

    state = publish_only(return_state=True)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert error.response.status_code == 503
    assert failing_server.paths == {"/me/bot/resolve/main/README.md": 1 + 3}  # 3 retries


def test_a_hub_read_timeout_is_retried(monkeypatch):
    from huggingface_hub import constants

    from tweetbots.targets import hf, open_target

    slow = _FailingServer(200, delay=1.0)
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


def _stage(root, name: str, **summary):
    """A finished stage output as a real directory, without running the stage."""
    from tests.fakes.stages import finished_output

    return finished_output(name, root / name / "bot" / "fp", **summary)


def _publishable_stages(root):
    """Stage outputs a publish needs, without training anything."""
    model = _stage(root, "fine-tune")
    report = _stage(root, "evaluate", perplexity=20.0, base_perplexity=90.0)
    cleaned = _stage(root, "clean", profiles=[], stats={})
    base = _stage(root, "base-model", model="tiny", model_dir="x")
    return model, report, cleaned, base


def _attempts(task_run_id, timeout: float = 30) -> int:
    """How many times Prefect ran the task (its retries included), as the server has it."""
    import time

    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_task_run(task_run_id)
            if (run.state and run.state.is_final()) or time.monotonic() > deadline:
                return run.run_count
            time.sleep(0.25)


def test_base_model_bad_input_fails_at_once_and_an_unreachable_hub_is_retried(
    prefect_server, data_root, tmp_path, monkeypatch
):
    from huggingface_hub import constants
    from prefect import flow

    from tasks.base_model import base_model

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # refused at once
    cleaned = _stage(data_root, "clean", profiles=[], stats={})
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()

    @flow
    def base_only(spec: str):
        task = base_model.with_options(retry_delay_seconds=0)
        state = task(spec, cleaned, return_state=True)
        return state.state_details.task_run_id, str(state.result(raise_on_failure=False))

    attempts = {}
    for spec in (str(not_a_model), "openai-community/gpt2"):
        task_run_id, error = base_only(spec)
        assert error.startswith("base model ") and "\n" not in error, error
        attempts[spec] = _attempts(task_run_id)
    # A directory without config.json: bad input, no retry. The Hub refusing: 1 + 2 retries.
    assert attempts == {str(not_a_model): 1, "openai-community/gpt2": 3}
