"""A user in the Prefect UI: `tweetbots serve`, log in with the line it made, then start
`train-bot` from its deployment page in headless Chromium (Debian's, driven by Playwright)
and watch the run complete.

Also checks what `serve` promises: a Ctrl-C stops the server and worker it started.
"""

import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from flows.stack import free_port, login_file
from tests.fakes.serve import (
    api_client,
    start_serve,
    wait_for_no_process,
    wait_for_ui_line,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(
    os.environ.get("TWEETBOTS_TEST_ARTIFACTS", Path(__file__).parents[2] / ".test-artifacts")
)


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} missing: `apt-get install chromium` (make test does it)"
    if os.environ.get("TWEETBOTS_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def served(tmp_path):
    """`tweetbots serve` as a user starts it; yields (UI URL, its process, port, home)."""
    _require_browser()
    port, home = free_port(), tmp_path / "home"
    serve = start_serve(home, port)
    ui = wait_for_ui_line(serve)
    yield ui, serve, port, home
    if serve.poll() is None:
        serve.kill()


def test_start_train_bot_from_the_ui_and_watch_it_complete(served):
    from playwright.sync_api import sync_playwright

    ui, serve, port, home = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # A 2-core CI machine runs the server, the worker and Chromium at once: a page may
        # take longer than Playwright's 30 s default to render there.
        page.set_default_timeout(60_000)
        with _explained_failure(page):
            _log_in_and_open_train_bot(page, ui, home)
            state = _run_from_the_form(page, ui, home, port)
            _see_the_run_and_its_artifacts(page, state)
        browser.close()
    assert state == "Completed"
    assert page.url.startswith(ui)

    serve.send_signal(signal.SIGINT)  # Ctrl-C
    assert serve.wait(timeout=90) == 0
    assert not _answers(f"http://127.0.0.1:{port}/api/health"), "the server outlived serve"
    assert wait_for_no_process(home) == {}, "a process of the stack outlived serve"


def _log_in_and_open_train_bot(page, ui: str, home: Path) -> None:
    page.goto(f"{ui}/deployments", wait_until="networkidle")
    # The server wants its login; the UI asks for it once, as `user:password`, and keeps it.
    login = page.get_by_placeholder("admin:pass")
    login.fill(login_file(home).read_text().strip())
    page.get_by_role("button", name="Login").click()
    login.wait_for(state="detached")
    # Wherever the login lands, the deployments page as a user would open it.
    page.goto(f"{ui}/deployments", wait_until="networkidle")
    page.get_by_role("link", name="train-bot", exact=True).first.click()


def _run_from_the_form(page, ui: str, home: Path, port: int) -> str:
    """Submit a custom run of train-bot; its final state, as the API tells it."""
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run", exact=True).click()  # the BotSpec parameter form
    # Submit renders before the form has loaded the deployment's parameters; submitted
    # then (a loaded box is slow enough), the schema refuses it and no run is created.
    page.wait_for_function(
        "[...document.querySelectorAll('textarea')].some(t => t.value === 'maya_bakes')"
    )
    api = api_client(home, port)
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("scheduled to start now").first.wait_for()
    # The toast's "View run" button slides and re-renders; its target is the run the
    # deployment just got, which the API names.
    flow_run_id = _new_flow_run(api)
    page.goto(f"{ui}/runs/flow-run/{flow_run_id}", wait_until="networkidle")
    return _wait_until_final(api, flow_run_id)


def _see_the_run_and_its_artifacts(page, state: str) -> None:
    page.reload(wait_until="networkidle")
    page.get_by_text(state, exact=True).first.wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ui-train-bot-run.png"), full_page=True)
    # The run page's Artifacts tab: the data table, the report, the published model.
    page.get_by_text("Artifacts", exact=True).first.click()
    for key in ("maya-bakes-data", "maya-bakes-eval", "maya-bakes-published"):
        page.get_by_text(key).first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "ui-train-bot-artifacts.png"), full_page=True)


@contextmanager
def _explained_failure(page):
    """A step of the UI that fails says where the page was, what it showed and which of its
    API calls failed: CI's output is all a later reader has (a screenshot is kept too)."""
    from playwright.sync_api import Error

    failed_calls: list[str] = []
    page.on(
        "response",
        lambda r: r.status >= 400 and failed_calls.append(f"{r.status} {r.request.method} {r.url}"),
    )
    try:
        yield
    except Error as error:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "ui-failure.png"), full_page=True)
        shown = " ".join(page.inner_text("body").split())[:600]
        raise AssertionError(
            f"{error.message.splitlines()[0]}\n  at {page.url}\n  showing: {shown}\n"
            f"  failed API calls (last 10): {failed_calls[-10:]}"
        ) from error


def _new_flow_run(api: httpx.Client, timeout: float = 30) -> str:
    """The id of the one flow run of train-bot (the stack starts with none)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = api.post(
            "/flow_runs/filter", json={"deployments": {"name": {"any_": ["train-bot"]}}}
        ).json()
        if runs:
            assert len(runs) == 1, "one submit, one flow run"
            return runs[0]["id"]
        time.sleep(0.5)
    raise AssertionError("submitting the form created no flow run")


def _wait_until_final(api: httpx.Client, flow_run_id: str, timeout: float = 420) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api.get(f"/flow_runs/{flow_run_id}").json()
        if run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            return run["state"]["name"]
        time.sleep(2)
    raise AssertionError(f"flow run {flow_run_id} did not finish in {timeout} s")


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.HTTPError:
        return False
