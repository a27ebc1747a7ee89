from prefect import task
from prefect.tasks import exponential_backoff

from tasks._caching import stage_cache
from tasks._ui import record_lineage
from tweetbots import pipeline, rawstore
from tweetbots.sources import SourceError
from tweetbots.store import StageOutput, is_complete


def _scrape_is_valid(out) -> bool:
    return is_complete(out) and rawstore.parts_exist(out)


def _retryable(task, task_run, state) -> bool:
    """Network hiccups are retried; bad input (SourceError) fails at once."""
    try:
        state.result()
    except SourceError:
        return False
    except Exception:  # noqa: BLE001 - anything else may be transient
        return True
    return False


@task(name="scrape", cache_policy=stage_cache(pipeline.scrape_dir, _scrape_is_valid),
      retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=5),
      retry_jitter_factor=0.5, retry_condition_fn=_retryable)
def scrape_source(spec: str, bot: str) -> StageOutput:
    """Fetch a source's posts and append the new ones to the raw store."""
    output = pipeline.run_scrape(spec, bot)
    record_lineage(output, [])
    return output
