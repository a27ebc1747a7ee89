"""Every listed bot, every night: sense each, then train only those with work.

The sensing happens here, in the nightly's own run, for every bot at once (a bounded
thread pool, in one task): new posts go into the raw store and each stage's output key is compared
with what is built (`tweetbots plan`). Only a bot with work gets a `train-bot` flow run of
its own (a process, on Kubernetes a GPU pod), so one bot's failure stops no other, the
UI shows each, and each can be retried on its own; an unchanged bot is a table row.
"""

import os

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.nightly import TRAIN_BOT_DEPLOYMENT, plan_bots, report_nightly, row_without_run, run_bot
from tweetbots.config import BotSpec

# Bots sensed at once: a source read is mostly waiting on the network.
SENSING_CONCURRENCY = 8
# Train-bot runs at once: each is a process (a pod) reporting to the same server; 50 at
# once on a small machine overwhelm a SQLite server. A GPU pool can take more.
RUNS_AT_ONCE = int(os.environ.get("TWEETBOTS_NIGHTLY_RUNS_AT_ONCE", "4"))


@flow(name="nightly", log_prints=False, task_runner=ThreadPoolTaskRunner(RUNS_AT_ONCE))
def nightly(bots: list[BotSpec], deployment: str = TRAIN_BOT_DEPLOYMENT) -> list[dict[str, str]]:
    """Sense every bot, then start a train-bot run for each bot with work."""
    plans = plan_bots(bots, SENSING_CONCURRENCY)
    runs = {
        b.name: run_bot.submit(b, p, deployment)
        for b, p in zip(bots, plans, strict=True)
        if not isinstance(p, str) and p.has_work
    }
    rows = [
        runs[b.name].result() if b.name in runs else row_without_run(b, p)
        for b, p in zip(bots, plans, strict=True)
    ]
    return report_nightly(rows)
