"""The publish task: the Hub token, a commit message linking the flow run, the card's W&B
links, and the published model's link (or why the gate kept the old one) on the run page."""

from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.runtime import flow_run

from tasks.runtime import NETWORK_RETRIES, artifact_key, run_page, secret, wandb_api_key
from tasks.stage import stage_task
from tweetbots import lineage
from tweetbots.lineage import StageRun
from tweetbots.stages import publish as stage
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
            f"Not published: {output.summary['reason']}.",
            key=artifact_key(output.bot, "published"),
            description="Published model",
        )


def publishing_runtime(arguments: dict[str, Any], _wandb_run: StageRun) -> dict[str, Any]:
    """The token (a Secret block or HF_TOKEN, never a parameter), the commit message, and
    the W&B runs the card links (online, whichever flow run made them)."""
    model, cleaned = arguments["model"], arguments["cleaned"]
    key = wandb_api_key()
    return {
        "token": secret("hf-token", "HF_TOKEN"),
        "message": commit_message(model.bot),
        "wandb_links": {
            "wandb_train_url": lineage.producing_run_url(lineage.artifact_ref(model), key),
            "wandb_data_url": lineage.producing_run_url(lineage.artifact_ref(cleaned), key),
        },
    }


def commit_message(bot: str) -> str:
    """The Hub commit's summary links the flow run that published, so the Hub's history
    leads back to the run's logs and artifacts; its id where no UI shows it."""
    run = run_page() or flow_run.id
    return f"tweetbots: publish {bot}" + (f" (Prefect flow run {run})" if run else "")


# Uploading a gpt2-large to the Hub takes a while on a home link.
publish = stage_task(
    stage,
    timeout_seconds=60 * 60,
    **NETWORK_RETRIES,
    runtime=publishing_runtime,
    run_page=show_published_link,
)
