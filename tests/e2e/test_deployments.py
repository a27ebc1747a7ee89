"""The deployments of prefect.yaml on a real server with a real process worker.

Set up by the same code as `tweetbots serve` (`flows.stack.prepare`, `start_worker`);
flow runs are triggered through the API and run in the worker's subprocesses. What ran
is read back from the task-run states Prefect recorded (`Cached` = body not executed).
"""

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterParentFlowRunId,
)
from prefect.deployments import run_deployment

from flows import stack
from flows.train_bot import train_bot
from tests.fakes.prefect_states import STAGES, stage_states
from tweetbots.config import BotSpec

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUN_TIMEOUT = 420  # a worker subprocess start is ~10 s on 2 cores; tiny training ~20 s


@pytest.fixture(scope="module")
def worker_home(prefect_server, tmp_path_factory):
    """Pool, limit and deployments applied; one worker running for the whole module."""
    home = tmp_path_factory.mktemp("worker-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PREFECT_WORKER_QUERY_SECONDS", "1")  # poll fast: tests wait on it
        # The tests' sources and targets are in their own temp dirs, outside the data root.
        env.setenv("TWEETBOTS_ALLOWED_DIRS", str(tmp_path_factory.getbasetemp()))
        stack.prepare(prefect_server, home)
        worker = stack.start_worker(prefect_server, home, home / "worker.log")
    yield home
    stack.stop([worker])


def _bot(name: str, source: Path, target: Path | str) -> dict:
    return {
        "name": name,
        "sources": [f"file:{source}"],
        "base_model": "tiny",
        "train": {"epochs": 1, "batch_size": 8},
        "evaluate": {"prompts": ["My dream is"], "samples_per_prompt": 1},
        "publish": {"target": f"file://{target}"},
    }


def _write_posts(path: Path, user: str, n: int, start: int = 0) -> None:
    rows = [
        f"{i},{user},{user} says post {i} is about bread and stars and long walks home"
        for i in range(start, start + n)
    ]
    with path.open("a") as out:
        if start == 0:
            out.write("id,user,text\n")
        out.write("\n".join(rows) + "\n")


def _wait_final(flow_run_id, timeout: float = RUN_TIMEOUT):
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(flow_run_id)
            if run.state and run.state.is_final():
                return run
            time.sleep(1)
    raise AssertionError(f"flow run {flow_run_id} did not finish in {timeout} s")


def _children(parent_id) -> dict[str, object]:
    """Bot name -> its train-bot flow run, among the nightly run's children."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id])
            )
        )
    return {run.name.removeprefix("train-"): run for run in runs}


def test_train_bot_deployment_runs_on_the_worker_and_publishes(worker_home, tmp_path):
    _write_posts(tmp_path / "posts.csv", "ada", 120)
    run = run_deployment(
        "train-bot/train-bot",
        timeout=RUN_TIMEOUT,
        parameters={"bot": _bot("ada_bakes", tmp_path / "posts.csv", tmp_path / "hub")},
    )
    assert run.state.is_completed(), run.state.message
    assert stage_states(run.id) == dict.fromkeys(STAGES, "Completed")
    card = (tmp_path / "hub" / "ada_bakes" / "README.md").read_text(encoding="utf-8")
    assert "ada_bakes" in card and "| Tweets downloaded |" in card
    assert run.name == "train-ada_bakes"  # the flow-run name the UI lists


def test_retry_of_a_failed_run_executes_only_the_failed_stage(worker_home, tmp_path):
    _write_posts(tmp_path / "posts.csv", "bo", 120)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the publish target directory should be")
    run = run_deployment(
        "train-bot/train-bot",
        timeout=RUN_TIMEOUT,
        parameters={"bot": _bot("bo_pedals", tmp_path / "posts.csv", blocker / "hub")},
    )
    assert run.state.is_failed()
    assert stage_states(run.id) == {**dict.fromkeys(STAGES[:-1], "Completed"), "publish": "Failed"}

    blocker.unlink()  # the fix; then the UI's Retry, through its CLI twin
    retry = subprocess.run(
        [sys.executable, "-m", "prefect", "flow-run", "retry", str(run.id)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert retry.returncode == 0, retry.stdout + retry.stderr
    again = _wait_final(run.id)
    assert again.state.is_completed(), again.state.message
    assert again.run_count == 2  # the same flow run, run a second time
    assert stage_states(run.id) == {**dict.fromkeys(STAGES[:-1], "Cached"), "publish": "Completed"}
    assert (blocker / "hub" / "bo_pedals" / "README.md").is_file()


def test_an_unchanged_nightly_starts_no_run_and_one_changed_bot_exactly_one(
    worker_home, tmp_path, monkeypatch
):
    for user in ("cy", "di"):
        _write_posts(tmp_path / f"{user}.csv", user, 120)
    bots = [
        _bot(f"{user}_nightly", tmp_path / f"{user}.csv", tmp_path / "hub") for user in ("cy", "di")
    ]
    monkeypatch.setenv("TWEETBOTS_HOME", str(worker_home))  # the worker's data root
    for bot in bots:  # trained earlier, here: the nightlies below find them built
        assert train_bot(BotSpec(**bot), return_state=True).is_completed()

    unchanged = run_deployment("nightly/nightly", timeout=RUN_TIMEOUT, parameters={"bots": bots})
    assert unchanged.state.is_completed(), unchanged.state.message
    assert _children(unchanged.id) == {}  # no train-bot run, no process, no GPU pod
    table = _nightly_table(unchanged.id)
    for user in ("cy", "di"):
        row = next(line for line in table.splitlines() if line.startswith(f"| {user}_nightly "))
        assert (
            "| Up to date |" in row
            and f"({(tmp_path / 'hub' / f'{user}_nightly').as_uri()})" in row
        )

    _write_posts(tmp_path / "cy.csv", "cy", 30, start=120)  # new posts for one bot
    changed = run_deployment("nightly/nightly", timeout=RUN_TIMEOUT, parameters={"bots": bots})
    assert changed.state.is_completed(), changed.state.message
    children = _children(changed.id)
    assert set(children) == {"cy_nightly"}
    retrained = stage_states(children["cy_nightly"].id)
    assert {retrained[s] for s in ("scrape", "clean", "tokenize", "fine-tune")} == {"Completed"}
    assert _task_runs(children["cy_nightly"].id, "fetch-new-posts") == 0  # sensed once, nightly
    assert "new posts from source file:" in _nightly_table(changed.id)


def test_soak_many_small_bots_in_one_nightly_one_failing_stops_no_other(worker_home, tmp_path):
    """Five small bots and one whose source is gone, in one nightly run."""
    good = [f"soak{i}" for i in range(5)]
    for user in good:
        _write_posts(tmp_path / f"{user}.csv", user, 120)
    bots = [_bot("gone_bot", tmp_path / "missing.csv", tmp_path / "hub")]
    bots += [_bot(user, tmp_path / f"{user}.csv", tmp_path / "hub") for user in good]
    run = run_deployment("nightly/nightly", timeout=2 * RUN_TIMEOUT, parameters={"bots": bots})
    assert run.state.is_failed()
    assert "1 of 6 bots failed: gone_bot" in run.state.message
    children = _children(run.id)
    assert set(children) == set(good)  # the check of gone_bot failed: no run of its own
    row = next(line for line in _nightly_table(run.id).splitlines() if "| gone_bot |" in line)
    assert "| Failed |" in row and "does not exist" in row
    for user in good:
        assert children[user].state.is_completed(), children[user].state.message
        assert (tmp_path / "hub" / user / "README.md").is_file()
    _assert_fine_tunes_did_not_overlap(worker_home, set(good))


def _nightly_table(flow_run_id) -> str:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return next(a.data for a in artifacts if a.key == "nightly-bots")


def _task_runs(flow_run_id, name: str) -> int:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return sum(run.name.startswith(name) for run in runs)


def _assert_fine_tunes_did_not_overlap(home: Path, bots: set[str]) -> None:
    """The per-host limit that `prepare` creates: one fine-tune at a time.

    A training span is [manifest written - training seconds, manifest written].
    """
    spans = []
    for path in home.rglob("manifest.json"):
        manifest = json.loads(path.read_text())
        if manifest["stage"] == "fine-tune" and manifest["bot"] in bots:
            end = datetime.fromisoformat(manifest["created_at"])
            spans.append((end - timedelta(seconds=manifest["summary"]["seconds"]), end))
    assert len(spans) == len(bots)
    spans.sort()
    for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False):
        assert end <= next_start
