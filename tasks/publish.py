from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff

from tasks._caching import stage_cache
from tasks._common import (
    artifact_key,
    record_lineage,
    retry_transient,
    secret,
    show_on_run_page,
)
from tweetbots import lineage, pipeline
from tweetbots.config import PublishSettings
from tweetbots.publish import commit_message
from tweetbots.store import StageOutput


def show_published_link(output: StageOutput) -> None:
    """The published model on the run's page; or why the gate kept the published one."""
    if output.summary["url"]:
        create_link_artifact(
            output.summary["url"],
            link_text=f"{output.bot} (published)",
            key=artifact_key(output.bot, "published"),
            description="Published model",
        )
    else:
        create_markdown_artifact(
            f"Not published: validation perplexity {output.summary['perplexity']:.2f} does "
            f"not beat the published model's {output.summary['previous_perplexity']:.2f}.",
            key=artifact_key(output.bot, "published"),
            description="Published model",
        )


@task(
    name="publish",
    cache_policy=stage_cache(pipeline.publish_dir),
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    on_completion=[show_on_run_page(show_published_link)],
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
    output = pipeline.run_publish(
        model,
        report,
        clean_output,
        base,
        settings,
        bot,
        token=secret("hf-token", "HF_TOKEN"),
        message=commit_message(bot, flow_run.ui_url or flow_run.id),
        wandb_links=_wandb_links(model, clean_output),
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
