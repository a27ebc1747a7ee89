"""Shared orchestration helpers: retry conditions, UI artifact keys, lineage, secrets."""

import os
import re

import httpx
from prefect.blocks.system import Secret
from prefect.runtime import flow_run

from tweetbots import lineage
from tweetbots.store import StageOutput

ARTIFACT_TYPES = {
    "scrape": "raw-posts", "clean": "clean-posts", "base": "base-model", "tokenize": "tokens",
    "fine-tune": "model", "evaluate": "eval-report", "publish": "card",
}


# Transport failures by class name: httpx, huggingface_hub's vendored httpx2 and requests
# each have their own hierarchy, and a stage may raise any of them.
_TRANSIENT_NAMES = {"TransportError", "TimeoutException", "ConnectionError", "Timeout"}


def retry_transient(_task, _task_run, state) -> bool:
    """Retry network trouble (timeouts, refused connections, 429, 5xx); never bad input."""
    try:
        state.result()
    except (ConnectionError, TimeoutError, httpx.TransportError):
        return True
    except Exception as error:  # noqa: BLE001 - classified below
        if _TRANSIENT_NAMES & {cls.__name__ for cls in type(error).__mro__}:
            return True
        status = getattr(getattr(error, "response", None), "status_code", None)
        return status == 429 or (status is not None and status >= 500)
    return False


def artifact_key(bot: str, what: str) -> str:
    """Prefect artifact keys allow only lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{bot}-{what}".lower())


def record_lineage(output: StageOutput, inputs: list[StageOutput], **metrics) -> str | None:
    """One W&B run for the stage that just executed (not for cached ones)."""
    return lineage.log_stage(
        output.stage, group=str(flow_run.id or "local"),
        inputs=[_ref(i) for i in inputs], outputs=[_ref(output)],
        config={"bot": output.bot, "fingerprint": output.fingerprint}, metrics=metrics or None,
    )


def _ref(output: StageOutput) -> lineage.ArtifactRef:
    kind = ARTIFACT_TYPES[output.stage]
    return lineage.ArtifactRef(name=f"{output.bot}-{kind}", type=kind,
                               fingerprint=output.fingerprint, path=output.path)


def secret(block_name: str, env_var: str) -> str | None:
    """A Prefect Secret block if one exists, else the environment; never a parameter."""
    try:
        return Secret.load(block_name).get()
    except (ValueError, RuntimeError):
        return os.environ.get(env_var)
