from prefect import task

from tasks._caching import stage_cache
from tasks._common import record_lineage
from tweetbots import pipeline
from tweetbots.store import StageOutput


@task(
    name="base-model",
    cache_policy=stage_cache(pipeline.base_dir),
    retries=2,
    retry_delay_seconds=10,
)
def prepare_base_model(spec: str, clean_output: StageOutput, bot: str) -> StageOutput:
    """Resolve the base model: build `tiny`, or find a local dir or a Hub snapshot."""
    output = pipeline.run_base(spec, clean_output, bot)
    record_lineage(output, [clean_output] if spec == "tiny" else [])
    return output
