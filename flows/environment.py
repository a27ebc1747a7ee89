"""Process environment for the CLI: the user's own Prefect when they have one, otherwise a
local Prefect server whose database and task results live under the data root.

Must run before Prefect is imported: Prefect reads these settings at import time. So the
user's Prefect is found here by reading what Prefect would read (the environment, the
active profile), not by asking Prefect. PREFECT_HOME is never changed: it holds the
user's profiles and, for their own server, its database.
"""

import os
import tomllib
from pathlib import Path

from tweetbots.store import check_writable


def configure_local_environment(offline_wandb: bool = False, local_stack: bool = False) -> Path:
    """Settings for this process and its children; the data root, checked writable.

    `local_stack`: `tweetbots serve`, whose server is always the local one.
    """
    root = check_writable()  # a read-only or full root fails here, in one line
    os.environ.setdefault("TWEETBOTS_HOME", str(root))
    defaults = {
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        # The library's log lines (training progress, low-data warnings) in the run's logs.
        "PREFECT_LOGGING_EXTRA_LOGGERS": "tweetbots",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # outside a flow: local only
        "WANDB_DIR": root,
        "WANDB_DATA_DIR": root / "wandb" / "data",
        "WANDB_CACHE_DIR": root / "wandb" / "cache",
        "WANDB_SILENT": "true",
    }
    if local_stack or users_prefect_api() is None:
        defaults.update(local_server_settings(root))
    if offline_wandb:
        defaults["WANDB_MODE"] = "offline"
    for name, value in defaults.items():
        os.environ.setdefault(name, str(value))
    return root


def users_prefect_api() -> str | None:
    """The Prefect API the user chose: PREFECT_API_URL, else the one of their active
    profile (PREFECT_PROFILE, else the file's `active`) in their profiles file; None when
    they chose none (a self-hosted server and Prefect Cloud both set one)."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    profiles = _profiles()
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active")
    table = profiles.get("profiles")
    profile = table.get(active) if isinstance(table, dict) else None
    if not isinstance(profile, dict):
        return None
    return profile.get("PREFECT_API_URL") or None


def _profiles() -> dict:
    """The user's profiles file, where Prefect looks for it; empty if none or unreadable
    (Prefect then uses its defaults, which name no server)."""
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def local_server_settings(root: Path) -> dict[str, str]:
    """A Prefect server of our own, started on demand (ephemeral) or by `serve`: its SQLite
    database and the task results (the cache) under the data root, never in PREFECT_HOME.

    Both directories are made here: SQLite cannot create a missing one, and Prefect makes
    only PREFECT_HOME itself (without parents), so a fresh data root would fail to start.
    """
    prefect_dir = root / "prefect"
    (prefect_dir / "storage").mkdir(parents=True, exist_ok=True)
    return {
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{prefect_dir}/prefect.db",
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(prefect_dir / "storage"),
        # Without a server of the user's, Prefect starts one for the run (ephemeral mode).
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
        # Ephemeral start-up takes 26-44 s on 2 cores; the default 20 s times out.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        # Prefect's telemetry heartbeat otherwise locks SQLite on first start.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
