"""Which local paths a bot may read and write when a stranger could have written its spec.

A run started through the Prefect API or UI (a deployment run) takes its BotSpec from
whoever could reach that API: a web page, another user of a shared server. Such a run may
read local sources and a local base model, and write a `file://` target, only inside the
allowed roots: the data root and the directories listed in TWEETBOTS_ALLOWED_DIRS. Paths
are compared after `~`, `..` and symlinks are resolved, so neither leads outside. The user
at their own terminal (`tweetbots train`) may use any path they type: that check is the
caller's choice, not this module's.
"""

import os
from pathlib import Path

from tweetbots import basemodel
from tweetbots.config import BotSpec
from tweetbots.sources import local_path
from tweetbots.stages.base_model import TINY
from tweetbots.stages.publish import target_uri
from tweetbots.store import data_root
from tweetbots.targets.file import target_directory

ALLOWED_DIRS = "TWEETBOTS_ALLOWED_DIRS"


class NotAllowedError(ValueError):
    """A path outside the allowed roots: one line naming it, the roots and the fix."""


def allowed_roots() -> list[Path]:
    """The data root, then the directories in TWEETBOTS_ALLOWED_DIRS (`:`-separated)."""
    listed = os.environ.get(ALLOWED_DIRS, "").split(os.pathsep)
    return [data_root(), *(Path(d).expanduser().absolute() for d in listed if d.strip())]


def local_paths(bot: BotSpec) -> list[tuple[str, Path]]:
    """What the bot reads or writes on this machine: (how its spec names it, the path)."""
    paths = [(f"source {spec!r}", local_path(spec)) for spec in bot.sources]
    if bot.base_model != TINY:
        paths.append((f"base model {bot.base_model!r}", basemodel.local_path(bot.base_model)))
    target = target_uri(bot.publish)
    if target.startswith("file://"):
        paths.append((f"target {target!r}", target_directory(target)))
    return [(named, path) for named, path in paths if path is not None]


def check_allowed(bot: BotSpec, roots: list[Path]) -> None:
    """Refuse, in one NotAllowedError, the first path of `bot` outside every root."""
    real_roots = [root.resolve() for root in roots]
    for named, path in local_paths(bot):
        real = path.resolve()
        if not any(real.is_relative_to(root) for root in real_roots):
            shown = ", ".join(str(root) for root in roots)
            raise NotAllowedError(
                f"{named} is {real}, outside the directories a run started through the "
                f"Prefect API or UI may use ({shown}): move it there, or add its directory "
                f"to {ALLOWED_DIRS} where the flow runs"
            )
