from pathlib import Path

from prefect import task

from tasks._caching import stage_cache
from tasks._common import record_lineage, retry_transient
from tweetbots import pipeline
from tweetbots.basemodel import BaseModelError
from tweetbots.store import StageOutput


def _base_dir_if_resolvable(spec: str, clean_output: StageOutput, bot: str) -> Path | None:
    """The cache key's output dir; None (nothing to reuse) for a base that cannot be had,
    so the task body runs and fails with the one-line error, not a key-function traceback."""
    try:
        return pipeline.base_dir(spec, clean_output, bot)
    except BaseModelError:
        return None


@task(
    name="base-model",
    cache_policy=stage_cache(_base_dir_if_resolvable),
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=retry_transient,  # the Hub flaking, not a misspelt id or offline
)
def prepare_base_model(spec: str, clean_output: StageOutput, bot: str) -> StageOutput:
    """Resolve the base model: build `tiny`, or find a local dir or a Hub snapshot."""
    output = pipeline.run_base(spec, clean_output, bot)
    record_lineage(output, [clean_output] if spec == "tiny" else [])
    return output
