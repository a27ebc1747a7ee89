from prefect import task
from prefect.artifacts import create_link_artifact
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff

from tasks._caching import stage_cache
from tasks._common import artifact_key, record_lineage, retry_transient, secret
from tweetbots import pipeline
from tweetbots.config import PublishSettings
from tweetbots.store import StageOutput


@task(name="publish", cache_policy=stage_cache(pipeline.publish_dir), retries=3,
      retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.5,
      retry_condition_fn=retry_transient)
def publish_model(model: StageOutput, report: StageOutput, clean_output: StageOutput,
                  base: StageOutput, settings: PublishSettings, bot: str) -> StageOutput:
    """Publish model, card and predictions if the new model beats the published one."""
    message = f"tweetbots: publish {bot} (Prefect flow run {flow_run.ui_url or flow_run.id})"
    output = pipeline.run_publish(model, report, clean_output, base, settings, bot,
                                  token=secret("hf-token", "HF_TOKEN"), message=message)
    if output.summary["url"]:
        create_link_artifact(output.summary["url"], link_text=f"{bot} (published)",
                             key=artifact_key(bot, "published"))
    record_lineage(output, [model, report])
    return output
