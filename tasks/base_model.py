"""The base-model task: an unreachable Hub is retried, a misspelt id is not."""

from tasks.runtime import retry_transient
from tasks.stage import stage_task
from tweetbots.stages import base_model as stage

# The largest GPT-2 is 6 GB: a slow link needs long, a dead one is caught by the retries.
base_model = stage_task(
    stage,
    timeout_seconds=60 * 60,
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=retry_transient,
)
