"""Process environment for local runs: everything under the data root, nothing global.

Must run before Prefect is imported: Prefect reads these settings at import time.
"""

import os
from pathlib import Path

from tweetbots.store import data_root


def configure_local_environment(offline_wandb: bool = False) -> Path:
    """Point Prefect and W&B at the data root unless the user already chose otherwise."""
    root = data_root()
    os.environ.setdefault("TWEETBOTS_HOME", str(root))
    defaults = {
        "PREFECT_HOME": root / "prefect",
        # Prefect's telemetry heartbeat otherwise locks SQLite on first start.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # Ephemeral start-up takes 26-44 s on 2 cores; the default 20 s times out.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        # The library's log lines (training progress, low-data warnings) in the run's logs.
        "PREFECT_LOGGING_EXTRA_LOGGERS": "tweetbots",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # outside a flow: local only
        "WANDB_DIR": root,
        "WANDB_DATA_DIR": root / "wandb" / "data",
        "WANDB_CACHE_DIR": root / "wandb" / "cache",
        "WANDB_SILENT": "true",
    }
    if offline_wandb:
        defaults["WANDB_MODE"] = "offline"
    for name, value in defaults.items():
        os.environ.setdefault(name, str(value))
    return root
