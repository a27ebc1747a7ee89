"""The nightly fan-out: each bot its own `train-bot` flow run, then one summary."""

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_UI_URL

from tasks.runtime import artifact_key
from tweetbots.config import BotSpec

TRAIN_BOT_DEPLOYMENT = "train-bot/train-bot"


class NightlyFailure(RuntimeError):
    """Some bots' runs failed; the others ran to the end regardless."""


# No retries: the child run retries its own stages, and a rerun of it reuses them.
@task(name="run-bot", task_run_name="run-{bot.name}", cache_policy=NO_CACHE, retries=0)
def run_bot(bot: BotSpec, deployment: str = TRAIN_BOT_DEPLOYMENT) -> dict[str, str]:
    """Run one bot as its own flow run of the train-bot deployment and wait for it."""
    child = run_deployment(
        deployment,
        parameters={"bot": bot.model_dump(mode="json")},
        flow_run_name=f"train-{bot.name}",
        timeout=None,
    )
    return {
        "bot": bot.name,
        "state": child.state.name if child.state else "Unknown",
        "flow_run_id": str(child.id),
    }


@task(name="report-nightly", cache_policy=NO_CACHE, retries=0)
def report_nightly(outcomes: list[dict[str, str]]) -> list[dict[str, str]]:
    """One table of every bot's run; fail the nightly run if any bot's run failed."""
    ui = PREFECT_UI_URL.value()
    rows = "\n".join(
        f"| {o['bot']} | {o['state']} | "
        + (
            f"[{o['flow_run_id']}]({ui}/runs/flow-run/{o['flow_run_id']})"
            if ui
            else o["flow_run_id"]
        )
        + " |"
        for o in outcomes
    )
    create_markdown_artifact(
        f"| bot | state | flow run |\n| --- | --- | --- |\n{rows}\n",
        key=artifact_key("nightly", "bots"),
        description="Nightly bots",
    )
    failed = [o["bot"] for o in outcomes if o["state"] not in ("Completed", "Cached")]
    if failed:
        raise NightlyFailure(
            f"{len(failed)} of {len(outcomes)} bots failed: "
            f"{', '.join(failed)}; open their flow runs to retry them"
        )
    return outcomes
