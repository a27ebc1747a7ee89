"""The nightly's tasks: sense a bot, start its train-bot run only if it has work, report.

Sensing runs in the nightly's own process (on Kubernetes, its CPU pod): it stores new
posts and compares every stage's output key with what is built. A bot with nothing to do
costs that check, never a flow run, a process or a GPU pod.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.deployments import run_deployment
from prefect.runtime import deployment, flow_run
from prefect.settings import PREFECT_UI_URL

from tasks.runtime import NETWORK_RETRIES, artifact_key
from tweetbots.allowed import allowed_roots, check_allowed
from tweetbots.config import BotSpec
from tweetbots.plan import BotPlan, plan_bot

TRAIN_BOT_DEPLOYMENT = "train-bot/train-bot"
UP_TO_DATE = "Up to date"
log = logging.getLogger(__name__)


class NightlyFailure(RuntimeError):
    """Some bots' checks or runs failed; the others ran to the end regardless."""


@task(name="plan-bots", cache_policy=NO_CACHE, timeout_seconds=30 * 60, retries=0)
def plan_bots(bots: list[BotSpec], concurrency: int) -> list[BotPlan | str]:
    """Sense every bot (`concurrency` at a time): its plan, or why its check failed.

    One task for all of them, not one each: a task run costs API round trips, and an
    unchanged bot should cost only its check. Each source read retries its own network
    trouble (tweetbots.sources); a check that still fails is its bot's failed row.
    """
    # Sensing reads local sources: a deployment run (from the API or UI) only allowed ones.
    roots = allowed_roots() if deployment.id is not None else None
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda bot: _plan_or_failure(bot, roots), bots))


def _plan_or_failure(bot: BotSpec, roots: list[Path] | None) -> BotPlan | str:
    try:
        if roots is not None:
            check_allowed(bot, roots)
        return plan_bot(bot)
    except Exception as error:  # noqa: BLE001 - one bot's failure is its row, not the night's
        log.warning("the check of bot %s failed: %s", bot.name, error)
        return " ".join(f"{type(error).__name__}: {error}".split())


# Retried on the API's trouble only (a busy SQLite server answers 503 for a minute):
# the retry finds the run it started, by its idempotency key, and waits on it again; a
# rerun of the nightly (a new run count) starts new ones. A failed child is its row, not a
# retry: the child retries its own stages, and a rerun of it reuses them.
@task(name="run-bot", task_run_name="run-{bot.name}", cache_policy=NO_CACHE, **NETWORK_RETRIES)
def run_bot(bot: BotSpec, plan: BotPlan, deployment: str) -> dict[str, str]:
    """Run a bot with work as its own train-bot flow run, and wait for it."""
    child = run_deployment(
        deployment,
        # What was sensed: the run does not fetch the same posts again.
        parameters={"bot": bot.model_dump(mode="json"), "source_states": plan.source_states},
        flow_run_name=f"train-{bot.name}",
        idempotency_key=f"nightly/{flow_run.id}/{flow_run.run_count}/{bot.name}",
        timeout=None,
    )
    return {
        "bot": bot.name,
        "state": child.state.name if child.state else "Unknown",
        "detail": "; ".join(plan.why),
        "flow_run_id": str(child.id),
    }


def row_without_run(bot: BotSpec, plan: BotPlan | str) -> dict[str, str]:
    """The row of a bot that gets no run: its check failed, or it is up to date."""
    if isinstance(plan, str):
        return {"bot": bot.name, "state": "Failed", "detail": f"check failed: {plan}"}
    return {"bot": bot.name, "state": UP_TO_DATE, "detail": _up_to_date(plan)}


# Retried on the API's trouble only, never on its verdict (NightlyFailure).
@task(name="report-nightly", cache_policy=NO_CACHE, **NETWORK_RETRIES)
def report_nightly(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """One table of every bot; fail the nightly run if any bot's check or run failed."""
    table = "\n".join(
        f"| {r['bot']} | {r['state']} | {r['detail'].replace('|', '/')} | {_run_link(r)} |"
        for r in rows
    )
    create_markdown_artifact(
        f"| bot | state | why / published | flow run |\n| --- | --- | --- | --- |\n{table}\n",
        key=artifact_key("nightly", "bots"),
        description="Nightly bots",
    )
    failed = [r["bot"] for r in rows if r["state"] not in ("Completed", "Cached", UP_TO_DATE)]
    if failed:
        raise NightlyFailure(
            f"{len(failed)} of {len(rows)} bots failed: "
            f"{', '.join(failed)}; open their runs or checks to see why and retry them"
        )
    return rows


def _up_to_date(plan: BotPlan) -> str:
    trained = plan.last_trained.strftime("%Y-%m-%d %H:%M UTC") if plan.last_trained else "?"
    published = f"[published]({plan.published_url})" if plan.published_url else "not published"
    return f"{published}, trained {trained}"


def _run_link(row: dict[str, str]) -> str:
    run_id, ui = row.get("flow_run_id"), PREFECT_UI_URL.value()
    if not run_id:
        return ""
    return f"[{run_id}]({ui}/runs/flow-run/{run_id})" if ui else run_id
