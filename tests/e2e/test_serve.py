"""What `tweetbots serve` promises: Ctrl-C stops everything it started, whenever it comes
(while the server starts, or while a flow run trains), and nothing else; a run it cut
short is left Crashed, ready to retry."""

import signal
import subprocess
import sys

import httpx
import pytest

from flows.stack import free_port
from tests.fakes.serve import (
    api_client,
    start_serve,
    wait_for_no_process,
    wait_for_process,
    wait_for_ui_line,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def bystander(tmp_path):
    """A process of the same user and data root that serve did not start: it must survive."""
    home = tmp_path / "home"
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], env={"TWEETBOTS_HOME": str(home)}
    )
    yield process
    process.kill()


def test_ctrl_c_while_the_server_starts_leaves_nothing_running(tmp_path, bystander):
    home = tmp_path / "home"
    serve = start_serve(home, free_port())
    wait_for_process(home, "prefect server start")  # spawned, not yet answering

    serve.send_signal(signal.SIGINT)

    assert serve.wait(timeout=60) == 0
    assert set(wait_for_no_process(home, spared={bystander.pid})) == {bystander.pid}


def test_ctrl_c_with_a_run_in_flight_stops_the_run_too(tmp_path, bystander):
    home, port = tmp_path / "home", free_port()
    serve = start_serve(home, port)
    wait_for_ui_line(serve)
    bot = {
        "name": "longbot",
        "sources": [f"archive:{home / 'sample' / 'maya_bakes.zip'}"],
        "base_model": "tiny",
        "train": {"epochs": 100, "batch_size": 8},  # minutes: still training at Ctrl-C
    }
    api = api_client(home, port)
    only_train_bot = {"deployments": {"name": {"any_": ["train-bot"]}}}
    (deployment,) = api.post("/deployments/filter", json=only_train_bot).json()
    created = api.post(
        f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": {"bot": bot}}
    )
    assert created.status_code == 201, created.text
    wait_for_process(home, "prefect.engine")  # the worker's flow-run subprocess

    serve.send_signal(signal.SIGINT)

    assert serve.wait(timeout=120) == 0
    left = wait_for_no_process(home, timeout=30, spared={bystander.pid})
    assert set(left) == {bystander.pid}, f"outlived serve: {left}"

    # Started again, the stack shows the run Crashed (so Retry is offered), not Running.
    again = start_serve(home, port)
    try:
        wait_for_ui_line(again)
        run = api_client(home, port).get(f"/flow_runs/{created.json()['id']}").json()
        assert run["state"]["type"] == "CRASHED", run["state"]
        assert "retry it" in run["state"]["message"]
    finally:
        again.send_signal(signal.SIGINT)
        again.wait(timeout=120)


def test_a_web_page_of_another_origin_cannot_drive_the_served_api(tmp_path):
    """What any page the user visits could send to 127.0.0.1: the served API refuses it
    all, and still answers its own UI (its origin, its login, a CSRF token)."""
    home, port = tmp_path / "home", free_port()
    serve = start_serve(home, port)
    try:
        ui = wait_for_ui_line(serve)
        api_url, evil = f"{ui}/api", {"Origin": "http://evil.example"}
        api = api_client(home, port)  # the UI's own way in
        only_train_bot = {"deployments": {"name": {"any_": ["train-bot"]}}}
        (deployment,) = api.post("/deployments/filter", json=only_train_bot).json()
        create = f"{api_url}/deployments/{deployment['id']}/create_flow_run"

        # A script's JSON request: the browser asks first, and gets no grant.
        asked = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        preflight = httpx.options(create, headers={**evil, **asked})
        assert preflight.headers.get("access-control-allow-origin") is None, preflight.headers
        own = httpx.options(create, headers={"Origin": ui, **asked})
        assert own.headers.get("access-control-allow-origin") == ui

        # What a page may send without asking (a form post): no CSRF token, no login.
        form = httpx.post(create, content="{}", headers={**evil, "Content-Type": "text/plain"})
        assert form.status_code == 403 and "CSRF" in form.text, form.text
        # The same with a token of its own (a page on 127.0.0.1's name): no login.
        token = httpx.get(f"{api_url}/csrf-token", params={"client": "page"}, headers=evil)
        assert token.status_code == 401, token.text
        # Even a stolen login needs the CSRF token.
        stolen = httpx.post(create, json={}, headers=evil, auth=api.auth)
        assert stolen.status_code == 403, stolen.text

        # Nothing was started: the only runs are those the nightly's own schedule made
        # (the server's scheduler may have filled in the coming nights meanwhile).
        runs = api.post("/flow_runs/filter", json={}).json()
        assert [run["name"] for run in runs if not run["auto_scheduled"]] == []
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=120)
