"""The base-model task (tasks/base_model.py): an unreachable Hub is retried, a bad base
model fails at once."""

from tests.fakes.stages import finished_output


def _attempts(task_run_id, timeout: float = 30) -> int:
    """How many times Prefect ran the task (its retries included), as the server has it."""
    import time

    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_task_run(task_run_id)
            if (run.state and run.state.is_final()) or time.monotonic() > deadline:
                return run.run_count
            time.sleep(0.25)


def test_base_model_bad_input_fails_at_once_and_an_unreachable_hub_is_retried(
    prefect_server, data_root, tmp_path, monkeypatch
):
    from huggingface_hub import constants
    from prefect import flow

    from tasks.base_model import base_model

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # refused at once
    cleaned = finished_output("clean", data_root / "clean" / "bot" / "fp", profiles=[], stats={})
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()

    @flow
    def base_only(spec: str):
        task = base_model.with_options(retry_delay_seconds=0)
        state = task(spec, cleaned, return_state=True)
        return state.state_details.task_run_id, str(state.result(raise_on_failure=False))

    attempts = {}
    for spec in (str(not_a_model), "openai-community/gpt2"):
        task_run_id, error = base_only(spec)
        assert error.startswith("base model ") and "\n" not in error, error
        attempts[spec] = _attempts(task_run_id)
    # A directory without config.json: bad input, no retry. The Hub refusing: 1 + 2 retries.
    assert attempts == {str(not_a_model): 1, "openai-community/gpt2": 3}
