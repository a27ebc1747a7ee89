from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from tasks._caching import stage_cache
from tasks._common import record_lineage, retry_transient
from tweetbots import pipeline
from tweetbots.store import StageOutput

_NETWORK_RETRIES = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=5),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_transient,
}


# The sensor, not a stage: it must run every time to tell whether anything changed.
@task(name="check-source", cache_policy=NO_CACHE, **_NETWORK_RETRIES)
def check_source(spec: str) -> str:
    """Fingerprint what the source holds now, fetching a network source's new posts."""
    return pipeline.check_source(spec)


@task(
    name="scrape",
    cache_policy=stage_cache(pipeline.scrape_dir, pipeline.scrape_is_complete),
    **_NETWORK_RETRIES,
)
def scrape_source(spec: str, bot: str, source_state: str) -> StageOutput:
    """Record a source's posts in the raw store for this bot."""
    output = pipeline.run_scrape(spec, bot, source_state)
    record_lineage(output, [])
    return output
