"""The first task of every train-bot run: a run started through the Prefect API or UI may
read and write local paths only inside the allowed roots (tweetbots/allowed.py)."""

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import deployment

from tweetbots.allowed import allowed_roots, check_allowed
from tweetbots.config import BotSpec


# Never cached: the roots and the files behind the paths can change between runs.
@task(name="check-allowed-paths", cache_policy=NO_CACHE, retries=0)
def check_allowed_paths(bot: BotSpec) -> None:
    """Refuse a deployment run (its spec could come from anyone who reaches the API) whose
    local sources, base model or file:// target lie outside the allowed roots.

    A run without a deployment is the user's own `tweetbots train` at their terminal:
    any path they type is theirs to use. A train-bot run inside a deployment run (a
    subflow) counts as a deployment run: Prefect passes the deployment down to it.
    """
    if deployment.id is None:
        return
    check_allowed(bot, allowed_roots())
