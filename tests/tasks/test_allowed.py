"""The first task of a train-bot run (tasks/allowed.py): a run started through the Prefect
API (a run of its deployment) may touch local paths only inside the allowed roots; the
user's own run (no deployment) any path.

The deployment runs are created on a real server and executed by Prefect's flow engine,
as a worker's flow-run process executes them; what ran is read back from the task runs
Prefect recorded.
"""

import time

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.flow_engine import run_flow

from flows.train_bot import train_bot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deployment_id(prefect_server):
    return train_bot.to_deployment(name="allowed-paths-test").apply()


@pytest.fixture
def posts(tmp_path, data_root):
    """(a source inside the data root, one outside it): both real, readable CSVs."""
    rows = "id,text\n" + "".join(f"{i},post {i} about bread and stars\n" for i in range(50))
    inside, outside = data_root / "mine" / "posts.csv", tmp_path / "elsewhere" / "posts.csv"
    for path in (inside, outside):
        path.parent.mkdir(parents=True)
        path.write_text(rows)
    return inside, outside


def _deployment_run(deployment_id, bot: dict):
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run_from_deployment(deployment_id, parameters={"bot": bot})
    return run_flow(train_bot, flow_run=flow_run, return_type="state")


def _task_runs(state, expected: set[str], timeout: float = 30) -> dict[str, str]:
    """Task name -> state name, of every task run the flow run made, once the `expected`
    ones are final (task runs reach the server through its event pipeline)."""
    deadline = time.monotonic() + timeout
    flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=flow_run)
            final = {r.name.rsplit("-", 1)[0]: r.state.name for r in runs if r.state.is_final()}
            if expected <= set(final) or time.monotonic() > deadline:
                return final
            time.sleep(0.25)


def _bot(source, target=None) -> dict:
    bot = {"name": "stranger", "sources": [f"file:{source}"], "base_model": "tiny"}
    return bot | ({"publish": {"target": target}} if target else {})


@pytest.mark.parametrize("outside", ["source", "target"])
def test_a_deployment_run_outside_the_allowed_roots_fails_before_any_stage(
    deployment_id, posts, tmp_path, outside
):
    inside, elsewhere = posts
    if outside == "source":
        bot = _bot(elsewhere)
    else:
        bot = _bot(inside, target=(tmp_path / "anywhere").as_uri())

    state = _deployment_run(deployment_id, bot)

    assert state.is_failed()
    assert "\n" not in state.message
    assert f"{outside} 'file:" in state.message
    assert "TWEETBOTS_ALLOWED_DIRS" in state.message
    assert _task_runs(state, {"check-allowed-paths"}) == {
        "check-allowed-paths": "Failed"
    }  # no stage task at all
    assert not (tmp_path / "anywhere").exists()


def test_a_deployment_run_may_use_a_directory_the_user_listed(
    deployment_id, posts, tmp_path, monkeypatch
):
    _, elsewhere = posts
    monkeypatch.setenv("TWEETBOTS_ALLOWED_DIRS", str(elsewhere.parent))
    missing = elsewhere.with_name("gone.csv")  # allowed, and fails at the first stage

    state = _deployment_run(deployment_id, _bot(missing))

    assert state.is_failed()
    assert "does not exist" in state.message
    runs = _task_runs(state, {"check-allowed-paths", "fetch-new-posts"})
    assert runs["check-allowed-paths"] == "Completed"
    assert runs["fetch-new-posts"] == "Failed"


def test_the_users_own_run_may_read_any_path_they_type(prefect_server, posts):
    _, elsewhere = posts
    state = train_bot(_bot(elsewhere.with_name("gone.csv")), return_state=True)  # no deployment
    assert "does not exist" in state.message  # refused by the reader, not by the check
    assert _task_runs(state, {"check-allowed-paths"})["check-allowed-paths"] == "Completed"
