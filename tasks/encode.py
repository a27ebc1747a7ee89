from prefect import task

from tasks._caching import stage_cache
from tasks._common import record_lineage
from tweetbots import pipeline
from tweetbots.config import TokenizeSettings
from tweetbots.store import StageOutput


@task(name="tokenize", cache_policy=stage_cache(pipeline.tokens_dir), retries=0)
def tokenize_posts(
    clean_output: StageOutput, base: StageOutput, settings: TokenizeSettings, bot: str
) -> StageOutput:
    """Split, balance and pack the posts into token blocks."""
    output = pipeline.run_tokenize(clean_output, base, settings, bot)
    record_lineage(output, [clean_output, base])
    return output
