"""Test environment: every run isolated under a temp dir, a real Prefect server on demand.

Prefect reads its settings when imported, so they are set here, before any test module
imports it. The server itself starts only when a test asks for `prefect_server`.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from flows.stack import free_port  # imports no Prefect: its settings are not read yet

# Shared fixtures (tests/fakes/): the fake Mastodon and Bluesky servers, the fake Hub, and
# the tiny models.
pytest_plugins = ["tests.fakes.network", "tests.fakes.hub", "tests.fakes.models"]
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="tweetbots-tests-"))
_SERVER_LOG = _SESSION_DIR / "prefect-server.log"


_PORT = free_port()
os.environ.update(
    {
        "PREFECT_HOME": str(_SESSION_DIR / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{_PORT}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # Its 503s ("database is locked") in its log, for the report of a failed test.
        "PREFECT_SERVER_LOG_RETRYABLE_ERRORS": "true",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # As flows/environment.py sets it for the CLI and prefect.yaml for the worker.
        "PREFECT_LOGGING_EXTRA_LOGGERS": "tweetbots",
        # The library also runs outside flows here: its lines then stay local, silently.
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "TWEETBOTS_HOME": str(_SESSION_DIR / "home"),
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DIR": str(_SESSION_DIR / "wandb"),
        "WANDB_DATA_DIR": str(_SESSION_DIR / "wandb" / "data"),
        "WANDB_CACHE_DIR": str(_SESSION_DIR / "wandb" / "cache"),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(_SESSION_DIR / "hf"),
        "TOKENIZERS_PARALLELISM": "false",
        # The fake Mastodon and Bluesky servers listen on 127.0.0.1: the network sources
        # reach them through the opt-in a self-hosted server needs (tests of the refusal
        # remove it).
        "TWEETBOTS_ALLOWED_HOSTS": "127.0.0.1",
    }
)
os.environ.pop("WANDB_API_KEY", None)
os.environ.pop("HF_TOKEN", None)


@pytest.fixture(scope="session")
def prefect_server():
    """A real `prefect server start` on 127.0.0.1 (SQLite in the session dir).

    With its services: task runs reach the database through the event pipeline.
    """
    log = open(_SERVER_LOG, "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(_PORT),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    url = os.environ["PREFECT_API_URL"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(_SERVER_LOG.read_text()[-3000:])
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        server.terminate()
        raise RuntimeError("Prefect server did not start within 120 s")
    yield url
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the server shows the server's last errors in its report: CI's
    output is all a later reader has, and the session dir is gone by then."""
    report = yield
    if report.failed and "prefect_server" in item.fixturenames:
        lines = _SERVER_LOG.read_text(errors="replace").splitlines() if _SERVER_LOG.exists() else []
        errors = [line for line in lines if "| ERROR" in line or "Error:" in line]
        report.sections.append(("Prefect server errors (last 20)", "\n".join(errors[-20:])))
    return report


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """A fresh TWEETBOTS_HOME for one test."""
    root = tmp_path / "home"
    monkeypatch.setenv("TWEETBOTS_HOME", str(root))
    return root


@pytest.fixture
def umask_027():
    """A known umask (group may read, others nothing) for tests of file modes."""
    previous = os.umask(0o027)
    yield
    os.umask(previous)


@pytest.fixture(scope="session")
def sample_archives() -> list[Path]:
    """The demo's three synthetic X archives, written once per session."""
    from tweetbots.demo_data import write_sample_archives

    return write_sample_archives(_SESSION_DIR / "sample")


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


def pytest_sessionfinish(session, exitstatus):
    import shutil

    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
