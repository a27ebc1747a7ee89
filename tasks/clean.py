from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks._caching import stage_cache
from tasks._common import artifact_key, record_lineage
from tweetbots import pipeline
from tweetbots.card import DATA_ROWS
from tweetbots.store import StageOutput


@task(name="clean", cache_policy=stage_cache(pipeline.clean_dir), retries=0)
def clean_posts(scrapes: list[StageOutput], bot: str) -> StageOutput:
    """Apply the original's cleaning rules; publish the card's data table in the UI."""
    output = pipeline.run_clean(scrapes, bot)
    stats = output.summary["stats"]
    table = [
        {"Data": label, **{user: s[field] for user, s in stats.items()}}
        for label, field in DATA_ROWS
    ]
    create_table_artifact(table, key=artifact_key(bot, "data"), description="Training data")
    if output.summary["warnings"]:
        create_markdown_artifact(
            "\n".join(f"- ⚠️ {w}" for w in output.summary["warnings"]),
            key=artifact_key(bot, "data-warnings"),
        )
    record_lineage(output, scrapes)
    return output
