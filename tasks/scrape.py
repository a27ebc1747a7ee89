"""The sensor and the scrape: what a source holds now, then the bot's record of it."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.runtime import NETWORK_RETRIES
from tasks.stage import stage_task
from tweetbots.stages import scrape as stage

# A source reads at most a few thousand posts; each request and each scrape has its own
# bound besides (tweetbots.sources).
SCRAPE_TIMEOUT_S = 30 * 60


# Not a stage: it must run every time, to tell whether anything changed.
@task(
    name="fetch-new-posts",
    cache_policy=NO_CACHE,
    timeout_seconds=SCRAPE_TIMEOUT_S,
    **NETWORK_RETRIES,
)
def fetch_new_posts(spec: str) -> str:
    """Store a source's new posts in the raw store; return the source's state."""
    return stage.fetch_new_posts(spec)


scrape = stage_task(stage, timeout_seconds=SCRAPE_TIMEOUT_S, **NETWORK_RETRIES)
