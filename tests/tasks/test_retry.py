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


@pytest.mark.parametrize("error", [
    TimeoutError("slow"), ConnectionRefusedError("refused"),
    httpx.ConnectError("refused"), _HttpError(503), _HttpError(429),
])
def test_network_trouble_is_retried(error):
    assert retry_transient(None, None, _failed(error))


@pytest.mark.parametrize("error", [
    SourceError("archive:x: no such file"), ValueError("bad"), _HttpError(404), _HttpError(401),
])
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
