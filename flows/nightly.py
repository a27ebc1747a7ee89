"""Every listed bot, every night: sense each, then train only those with work.

The sensing happens here, in the nightly's own run, for every bot at once (a bounded
thread pool): new posts go into the raw store and each stage's output key is compared
with what is built (`tweetbots plan`). Only a bot with work gets a `train-bot` flow run of
its own (a process, on Kubernetes a GPU pod), so one bot's failure stops no other, the
UI shows each, and each can be retried on its own; an unchanged bot is a table row.
"""

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import allow_failure

from tasks.nightly import TRAIN_BOT_DEPLOYMENT, plan, report_nightly, run_bot
from tweetbots.config import BotSpec

# Bots sensed at once: a source read is mostly waiting on the network.
SENSING_CONCURRENCY = 8


@flow(name="nightly", log_prints=False, task_runner=ThreadPoolTaskRunner(SENSING_CONCURRENCY))
def nightly(bots: list[BotSpec], deployment: str = TRAIN_BOT_DEPLOYMENT) -> list[dict[str, str]]:
    """Sense every bot, then start a train-bot run for each bot with work."""
    plans = plan.map(bots)
    runs = [
        run_bot.submit(bot, allow_failure(sensed), deployment)
        for bot, sensed in zip(bots, plans, strict=True)
    ]
    return report_nightly([run.result() for run in runs])
