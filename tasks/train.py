import time

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from tasks._caching import stage_cache
from tasks._common import artifact_key, record_lineage
from tweetbots import pipeline
from tweetbots.config import TrainSettings
from tweetbots.store import StageOutput


@task(name="fine-tune", cache_policy=stage_cache(pipeline.model_dir), retries=1,
      retry_delay_seconds=30)
def fine_tune_model(tokens: StageOutput, base: StageOutput, settings: TrainSettings,
                    bot: str) -> StageOutput:
    """Fine-tune the base model on the bot's token blocks."""
    progress = create_progress_artifact(0.0, key=artifact_key(bot, "training"),
                                        description="Fine-tuning progress")
    last_update = [0.0]

    def on_progress(step: int, total: int, _loss: float) -> None:
        # At most one API call a second: the UI needs a moving bar, not every step.
        if step == total or time.monotonic() - last_update[0] > 1.0:
            update_progress_artifact(progress, 100.0 * step / total)
            last_update[0] = time.monotonic()

    output = pipeline.run_fine_tune(tokens, base, settings, bot, on_progress)
    update_progress_artifact(progress, 100.0)
    record_lineage(output, [tokens, base], **{k: output.summary[k] for k in
                                              ("final_loss", "tokens_per_s", "steps")})
    return output
