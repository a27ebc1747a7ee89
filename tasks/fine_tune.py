"""The fine-tune task: one per host at a time, its progress on the run's page and in W&B."""

import time
from typing import Any

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)

from tasks.runtime import artifact_key, fine_tune_slot
from tasks.stage import stage_task
from tweetbots.lineage import StageRun
from tweetbots.stages import fine_tune as stage
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


def report_progress(arguments: dict[str, Any], wandb_run: StageRun) -> dict[str, Any]:
    """Every step's metrics to W&B; the UI's bar at most once a second (it only has to move)."""
    progress = create_progress_artifact(
        0.0,
        key=artifact_key(arguments["tokens"].bot, "training"),
        description="Fine-tuning progress",
    )
    last_update = [0.0]

    def report(step: TrainProgress) -> None:
        metrics = {"learning_rate": step.learning_rate, "tokens_per_s": step.tokens_per_s}
        wandb_run.log({"loss": step.loss, **metrics}, step=step.step)
        if step.step == step.total or time.monotonic() - last_update[0] > 1.0:
            update_progress_artifact(progress, 100.0 * step.step / step.total)
            last_update[0] = time.monotonic()

    on_progress: ProgressCallback = report
    return {"on_progress": on_progress}


def summarize_training(wandb_run: StageRun, output: StageOutput) -> None:
    wandb_run.summarize({k: output.summary[k] for k in ("final_loss", "tokens_per_s", "steps")})


# Retried once: a preempted or killed fine-tune resumes from its last checkpoint. The
# timeout bounds a stuck one (gpt2 on a GPU takes minutes, on a CPU an hour or two).
fine_tune = stage_task(
    stage,
    timeout_seconds=6 * 60 * 60,
    retries=1,
    retry_delay_seconds=30,
    slot=fine_tune_slot,
    runtime=report_progress,
    to_wandb=summarize_training,
    run_page=show_training_summary,
)
