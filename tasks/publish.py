from prefect import task
from prefect.artifacts import create_link_artifact
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff

from tasks._caching import stage_cache
from tasks._common import artifact_key, record_lineage, retry_transient, secret
from tweetbots import lineage, pipeline
from tweetbots.config import PublishSettings
from tweetbots.store import StageOutput


@task(
    name="publish",
    cache_policy=stage_cache(pipeline.publish_dir),
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
)
def publish_model(
    model: StageOutput,
    report: StageOutput,
    clean_output: StageOutput,
    base: StageOutput,
    settings: PublishSettings,
    bot: str,
) -> StageOutput:
    """Publish model, card and predictions if the new model beats the published one."""
    message = f"tweetbots: publish {bot} (Prefect flow run {flow_run.ui_url or flow_run.id})"
    output = pipeline.run_publish(
        model,
        report,
        clean_output,
        base,
        settings,
        bot,
        token=secret("hf-token", "HF_TOKEN"),
        message=message,
        wandb_links=_wandb_links(model, clean_output),
    )
    if output.summary["url"]:
        create_link_artifact(
            output.summary["url"],
            link_text=f"{bot} (published)",
            key=artifact_key(bot, "published"),
        )
    record_lineage(output, [model, report, clean_output, base])
    return output


def _wandb_links(model: StageOutput, clean_output: StageOutput) -> dict[str, str | None]:
    """Online, the card links the run that trained the model and the one that made its data
    (whichever flow run that was: a cached stage's run is found through its artifact)."""
    key = secret("wandb-api-key", "WANDB_API_KEY")
    return {
        "wandb_train_url": lineage.producing_run_url(lineage.artifact_ref(model), key),
        "wandb_data_url": lineage.producing_run_url(lineage.artifact_ref(clean_output), key),
    }
