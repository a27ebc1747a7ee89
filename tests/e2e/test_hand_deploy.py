"""prefect.yaml deployed by hand, as its header says: `prefect --no-prompt deploy --all` in
a checkout, against the user's own server, nothing of ours in the environment; a worker
the user started elsewhere runs the flows. Quick run works; the server refuses a bad
parameter before any run; a run reaching outside the data root is refused by its first
task."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.deployments import run_deployment
from prefect.exceptions import PrefectHTTPStatusError

from flows import stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).parents[2]
RUN_TIMEOUT = 420


@pytest.fixture(scope="module")
def checkout(prefect_server, tmp_path_factory) -> Path:
    """A checkout of the deployable files, deployed from there by hand; a worker on the
    pool, started in another directory, told nothing of the data root."""
    copy = tmp_path_factory.mktemp("checkout")
    for package in ("flows", "tasks", "tweetbots"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / package, copy / package, ignore=ignore)
    shutil.copy(REPO / "prefect.yaml", copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEETBOTS_")}
    with get_client(sync_client=True) as client:
        pool = WorkPoolCreate(name=stack.WORK_POOL, type="process")
        client.create_work_pool(pool, overwrite=True)
    prefect = Path(sys.executable).parent / "prefect"
    deploy = subprocess.run(
        [str(prefect), "--no-prompt", "deploy", "--all"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    elsewhere = tmp_path_factory.mktemp("worker-cwd")
    with open(elsewhere / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [str(prefect), "worker", "start", "--type", "process", "--pool", stack.WORK_POOL],
            cwd=elsewhere,
            env={**env, "PREFECT_WORKER_QUERY_SECONDS": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    yield copy
    stack.stop([worker])


def _train_bot_deployment():
    with get_client(sync_client=True) as client:
        (deployment,) = client.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["train-bot"]))
        )
    return deployment


def test_quick_run_of_the_hand_deployed_train_bot_completes(checkout):
    root = checkout / ".tweetbots"  # the data root the deploy saw: TWEETBOTS_HOME unset
    deployment = _train_bot_deployment()
    assert deployment.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(checkout)}}
    ]
    assert deployment.job_variables["env"]["TWEETBOTS_HOME"] == str(root)
    (source,) = deployment.parameters["bot"]["sources"]
    assert source == f"archive:{root}/sample/maya_bakes.zip" and (root / "sample").is_dir()

    run = run_deployment("train-bot/train-bot", timeout=RUN_TIMEOUT)  # no parameters: Quick run

    assert run.state.is_completed(), run.state.message
    card = (root / "published" / "maya_bakes" / "README.md").read_text(encoding="utf-8")
    assert "maya_bakes" in card
    marker = json.loads((root / "published" / "maya_bakes" / ".tweetbots-published").read_text())
    ui = os.environ["PREFECT_API_URL"].removesuffix("/api")
    assert marker["message"].endswith(f"(Prefect flow run {ui}/runs/flow-run/{run.id})")


@pytest.mark.parametrize(
    "change", [{"name": "Maya Bakes"}, {"publish": {"target": "s3://bucket/bots"}}]
)
def test_the_server_refuses_a_bad_parameter_before_any_run(checkout, change):
    deployment = _train_bot_deployment()
    bot = {**deployment.parameters["bot"], **change}
    # Its own runs only: other deployments' schedules may add runs meanwhile.
    its_runs = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
    with get_client(sync_client=True) as client:
        before = len(client.read_flow_runs(deployment_filter=its_runs))
        with pytest.raises(PrefectHTTPStatusError) as refused:
            client.create_flow_run_from_deployment(deployment.id, parameters={"bot": bot})
        assert len(client.read_flow_runs(deployment_filter=its_runs)) == before
    assert refused.value.response.status_code in (409, 422), refused.value.response.text
    assert "does not match" in refused.value.response.text  # the pattern


def test_a_run_reaching_outside_the_data_root_fails_at_its_first_task(checkout, tmp_path):
    secret = tmp_path / "outside" / "diary.csv"
    secret.parent.mkdir()
    secret.write_text("id,text\n" + "".join(f"{i},dear diary entry {i}\n" for i in range(60)))
    bot = {"name": "snoop", "sources": [f"file:{secret}"], "base_model": "tiny"}

    run = run_deployment("train-bot/train-bot", timeout=RUN_TIMEOUT, parameters={"bot": bot})

    assert run.state.is_failed()
    assert "\n" not in run.state.message
    assert f"source 'file:{secret}'" in run.state.message
    assert _task_names(run.id) == {"check-allowed-paths"}  # no stage read anything


def _task_names(flow_run_id, timeout: float = 30) -> set[str]:
    """The tasks the flow run ran, once at least one reached the server."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            if runs or time.monotonic() > deadline:
                return {run.name.rsplit("-", 1)[0] for run in runs}
            time.sleep(0.25)
