import time

from prefect import task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)

from tasks._caching import stage_cache
from tasks._common import artifact_key, fine_tune_slot, lineage_run, show_on_run_page
from tweetbots import pipeline
from tweetbots.config import TrainSettings
from tweetbots.lineage import StageRun, artifact_ref
from tweetbots.store import StageOutput
from tweetbots.train import ProgressCallback, TrainProgress


def show_training_summary(output: StageOutput) -> None:
    """How the model was trained, on the run's page (the live bar only shows while it runs)."""
    s = output.summary
    create_markdown_artifact(
        "| steps | tokens | final loss | learning rate | tokens/s | device | seconds |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        f"| {s['steps']} | {s['tokens']} | {s['final_loss']:.4f} | {s['learning_rate']:.3g} "
        f"| {s['tokens_per_s']:,.0f} | {s['device']} | {s['seconds']:.1f} |\n",
        key=artifact_key(output.bot, "training-summary"),
        description="Fine-tuning",
    )


@task(
    name="fine-tune",
    cache_policy=stage_cache(pipeline.model_dir),
    retries=1,
    retry_delay_seconds=30,
    on_completion=[show_on_run_page(show_training_summary)],
)
def fine_tune_model(
    tokens: StageOutput, base: StageOutput, settings: TrainSettings, bot: str
) -> StageOutput:
    """Fine-tune the base model on the bot's token blocks."""
    progress = create_progress_artifact(
        0.0, key=artifact_key(bot, "training"), description="Fine-tuning progress"
    )
    # One fine-tune per host at a time; its W&B run starts once it holds the slot.
    with (
        fine_tune_slot(),
        lineage_run("fine-tune", bot, [tokens, base]) as wandb_run,
    ):
        report = _progress_reporter(progress, wandb_run)
        output = pipeline.run_fine_tune(tokens, base, settings, bot, report)
        update_progress_artifact(progress, 100.0)
        wandb_run.log_outputs([artifact_ref(output)])
        wandb_run.summarize({k: output.summary[k] for k in ("final_loss", "tokens_per_s", "steps")})
    return output


def _progress_reporter(progress, wandb_run: StageRun) -> ProgressCallback:
    """Every step's metrics to W&B; the UI's bar at most once a second (it only has to move)."""
    last_update = [0.0]

    def report(step: TrainProgress) -> None:
        metrics = {"learning_rate": step.learning_rate, "tokens_per_s": step.tokens_per_s}
        wandb_run.log({"loss": step.loss, **metrics}, step=step.step)
        if step.step == step.total or time.monotonic() - last_update[0] > 1.0:
            update_progress_artifact(progress, 100.0 * step.step / step.total)
            last_update[0] = time.monotonic()

    return report
