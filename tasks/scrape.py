from prefect import task
from prefect.tasks import exponential_backoff

from tasks._caching import stage_cache
from tasks._common import record_lineage, retry_transient
from tweetbots import pipeline
from tweetbots.store import StageOutput


@task(name="scrape", cache_policy=stage_cache(pipeline.scrape_dir, pipeline.scrape_is_complete),
      retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=5),
      retry_jitter_factor=0.5, retry_condition_fn=retry_transient)
def scrape_source(spec: str, bot: str) -> StageOutput:
    """Fetch a source's posts and append the new ones to the raw store."""
    output = pipeline.run_scrape(spec, bot)
    record_lineage(output, [])
    return output
