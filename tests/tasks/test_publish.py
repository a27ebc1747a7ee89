"""The publish task (tasks/publish.py): the Hub's 5xx answers are retried by Prefect, then
the task fails."""

from tests.fakes.stages import publishable_stages


def test_publish_5xx_is_retried_by_prefect_then_fails(
    prefect_server, data_root, failing_server, monkeypatch
):
    from huggingface_hub import constants
    from prefect import flow

    from tasks.publish import publish
    from tweetbots.stages.publish import PublishSettings

    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "ENDPOINT", failing_server.url)
    stages = publishable_stages(data_root)

    @flow
    def publish_only():
        task = publish.with_options(retry_delay_seconds=0)
        return task(*stages, PublishSettings(target="hf://me/bot"))

    state = publish_only(return_state=True)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert error.response.status_code == 503
    assert failing_server.paths == {"/me/bot/resolve/main/README.md": 1 + 3}  # 3 retries
