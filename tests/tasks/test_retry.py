import httpx
import pytest
from prefect.states import Failed

from tasks._common import retry_transient
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

    from tasks.scrape import check_source
    from tweetbots.sources import _http

    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", failing_server.url)
    monkeypatch.setattr(_http, "POLICY", _http.RetryPolicy(attempts=3, backoff_s=0.01))

    @flow
    def sense(spec: str) -> str:
        return check_source.with_options(retry_delay_seconds=0)(spec)

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

    from tasks.publish import publish_model
    from tweetbots.config import PublishSettings

    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "ENDPOINT", failing_server.url)
    stages = _publishable_stages(data_root)

    @flow
    def publish_only():
        task = publish_model.with_options(retry_delay_seconds=0)
        return task(*stages, PublishSettings(target="hf://me/bot"), "bot")

    state = publish_only(return_state=True)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert error.response.status_code == 503
    assert failing_server.paths == {"/me/bot/resolve/main/README.md": 1 + 3}  # 3 retries


def test_a_hub_read_timeout_is_retried(monkeypatch):
    from huggingface_hub import constants

    from tweetbots import publish

    slow = _FailingServer(200, delay=1.0)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", slow.url)
    monkeypatch.setattr(publish, "_HUB_READ_TIMEOUT_S", 0.2)
    try:
        with pytest.raises(Exception) as error:  # noqa: B017 - the client's own type
            publish.published_perplexity("hf://me/bot", "bot", "hf_test_token")
    finally:
        slow.stop()
    assert "timed out" in str(error.value).lower()
    assert retry_transient(None, None, _failed(error.value))


def _publishable_stages(root):
    """Stage outputs a publish needs, as real directories, without training anything."""
    from tweetbots.store import StageOutput, building, write_manifest

    def stage(name: str, folder: str, **summary) -> StageOutput:
        path = root / folder / "bot" / "fp"
        with building(path) as tmp:
            write_manifest(tmp, stage=name, bot="bot", fingerprint="fp", summary=summary)
        return StageOutput(stage=name, bot="bot", path=path, fingerprint="fp", summary=summary)

    model = stage("fine-tune", "models")
    report = stage("evaluate", "eval", perplexity=20.0, base_perplexity=90.0)
    clean = stage("clean", "clean", profiles=[], stats={})
    base = stage("base", "base", model="tiny", model_dir="x")
    return model, report, clean, base
