"""Read what Prefect recorded: stage name -> task-run state, for the flow and e2e tests.

`Cached` means the stage body did not execute. The sensor task (`fetch-new-posts`) and the
allowed-paths check run every time by design and are left out: they are not stages.
"""

import time

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)

STAGES = ["scrape", "clean", "base-model", "tokenize", "fine-tune", "evaluate", "publish"]
NOT_STAGES = {"fetch-new-posts", "check-allowed-paths"}


def stage_states(flow_run_id, expected: int = len(STAGES), timeout: float = 30) -> dict[str, str]:
    """Stage name -> state name of its latest task run in that flow run.

    Latest: a retried flow run keeps the task runs of its earlier attempts. Task runs
    reach the server through its event pipeline, a moment after the flow returns: poll
    until `expected` stages have a final state.
    """
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            latest = {}
            for run in sorted(runs, key=lambda r: r.created):
                latest[run.name.rsplit("-", 1)[0]] = run
            stages = {
                name: run.state.name
                for name, run in latest.items()
                if name not in NOT_STAGES and run.state and run.state.is_final()
            }
            if len(stages) >= expected or time.monotonic() > deadline:
                return stages
            time.sleep(0.25)


def task_states(state, expected: int = len(STAGES)) -> dict[str, str]:
    """`stage_states` of the flow run that returned `state`."""
    return stage_states(state.state_details.flow_run_id, expected)


def run_page_artifacts(flow_run_id) -> dict[str, object]:
    """Artifact key -> its data, of what the flow run's page shows (its Artifacts tab)."""
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a.data for a in artifacts if a.key}


def wait_for_log(flow_run_id, words: str, timeout: float = 20) -> str:
    """The first log line of the flow run containing `words`. Logs reach the server in
    batches, a moment after the flow returns: poll."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
            found = [log.message for log in logs if words in log.message]
            if found or time.monotonic() > deadline:
                assert found, f"no log line of flow run {flow_run_id} says {words!r}"
                return found[0]
            time.sleep(0.5)
