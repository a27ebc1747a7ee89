"""Every listed bot, every night: new posts retrain a bot, no new posts execute nothing.

Each bot is its own `train-bot` flow run (through the deployment), so one bot's failure
stops no other, the UI shows each separately, and each can be retried on its own. The
skipping is the stages' caching: a bot whose sources are unchanged comes back Cached.
"""

from prefect import flow, unmapped

from tasks.nightly import TRAIN_BOT_DEPLOYMENT, report_nightly, run_bot
from tweetbots.config import BotSpec


@flow(name="nightly", log_prints=False)
def nightly(bots: list[BotSpec], deployment: str = TRAIN_BOT_DEPLOYMENT) -> list[dict[str, str]]:
    """Refresh every bot: each its own train-bot run, side by side."""
    runs = run_bot.map(bots, deployment=unmapped(deployment))
    return report_nightly([run.result() for run in runs])
