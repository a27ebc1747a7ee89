from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks._caching import stage_cache
from tasks._common import artifact_key, record_lineage, show_on_run_page
from tweetbots import pipeline
from tweetbots.card import DATA_ROWS
from tweetbots.store import StageOutput


def show_data_table(output: StageOutput) -> None:
    """The card's data table, and the low-data warnings, on the run's page."""
    stats = output.summary["stats"]
    table = [
        {"Data": label, **{user: s[field] for user, s in stats.items()}}
        for label, field in DATA_ROWS
    ]
    key = artifact_key(output.bot, "data")
    create_table_artifact(table, key=key, description="Training data")
    if output.summary["warnings"]:
        create_markdown_artifact(
            "\n".join(f"- ⚠️ {w}" for w in output.summary["warnings"]),
            key=artifact_key(output.bot, "data-warnings"),
            description="Training data warnings",
        )


@task(
    name="clean",
    cache_policy=stage_cache(pipeline.clean_dir),
    retries=0,
    on_completion=[show_on_run_page(show_data_table)],
)
def clean_posts(scrapes: list[StageOutput], bot: str) -> StageOutput:
    """Apply the original's cleaning rules to the bot's raw posts."""
    output = pipeline.run_clean(scrapes, bot)
    record_lineage(output, scrapes)
    return output
