"""The tokenize task."""

from tasks.stage import stage_task
from tweetbots.stages import tokenize as stage

tokenize = stage_task(stage, timeout_seconds=30 * 60)
