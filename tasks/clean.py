"""The clean task, and the card's data table on the run's page."""

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks.runtime import artifact_key
from tasks.stage import stage_task
from tweetbots.card import DATA_ROWS
from tweetbots.stages import clean as stage
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


# Millions of posts clean in seconds: anything near this limit is stuck.
clean = stage_task(stage, timeout_seconds=15 * 60, run_page=show_data_table)
