"""The nightly's run-bot task rides out a busy Prefect API without losing or doubling a run."""

import re
import threading

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings
from prefect.states import Completed

from tasks.nightly import run_bot
from tests.fakes.busy_api import BusyApi
from tweetbots.config import BotSpec
from tweetbots.plan import BotPlan


@pytest.fixture
def busy_api(prefect_server):
    api = BusyApi(prefect_server)
    yield api
    api.stop()


def _stub_deployment() -> tuple[str, str]:
    """A deployment no worker runs: the test ends its runs by hand."""
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("stub-train-bot")
        deployment_id = client.create_deployment(flow_id=flow_id, name="stub")
    return "stub-train-bot/stub", str(deployment_id)


def _complete_runs_as_they_come(api: BusyApi, stop: threading.Event) -> None:
    """The worker's part: every run created from the deployment ends Completed."""
    done: set[str] = set()
    while not stop.wait(0.2):
        for run_id in set(api.created_runs) - done:
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(run_id, Completed(), force=True)
            done.add(run_id)


def test_a_busy_api_while_a_bot_runs_delays_its_row_and_starts_no_second_run(busy_api):
    name, deployment_id = _stub_deployment()
    reads = 0

    def busy(method: str, path: str) -> bool:
        """The first reads of the bot's run answer 503, more than the client retries."""
        nonlocal reads
        child = busy_api.created_runs[0] if busy_api.created_runs else None
        if method == "GET" and child and re.fullmatch(rf"/api/flow_runs/{child}", path):
            reads += 1
            return reads <= 2
        return False

    busy_api.busy = busy
    bot = BotSpec(name="busy_bot", sources=["file:posts.csv"])
    plan = BotPlan(bot="busy_bot", stages=[], source_states={"file:posts.csv": "abc"})

    @flow
    def one_bot() -> dict[str, str]:
        return run_bot(bot, plan, name)

    stop = threading.Event()
    completer = threading.Thread(target=_complete_runs_as_they_come, args=(busy_api, stop))
    completer.start()
    try:
        with temporary_settings({PREFECT_API_URL: busy_api.url, PREFECT_CLIENT_MAX_RETRIES: 1}):
            row = one_bot()
    finally:
        stop.set()
        completer.join()
    assert len(busy_api.refused) == 2, busy_api.refused  # the client gave up once...
    assert row["state"] == "Completed"  # ...the task's retry found the run and waited on it
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )
    assert [str(r.id) for r in runs] == [row["flow_run_id"]]  # one run, not one per try
