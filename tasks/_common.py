"""Shared orchestration helpers: retry conditions, UI artifact keys, lineage, secrets."""

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.blocks.system import Secret
from prefect.runtime import flow_run

from tweetbots import lineage
from tweetbots.store import StageOutput

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


def fine_tune_limit() -> str:
    """The global concurrency limit that keeps one host to one fine-tune at a time.

    Per host, not global: on a cluster each GPU pod is its own host and needs no limit
    (a limit that does not exist is not enforced); `tweetbots serve` creates this one.
    """
    return "fine-tune-" + re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower())


def artifact_key(bot: str, what: str) -> str:
    """Prefect artifact keys allow only lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{bot}-{what}".lower())


@contextmanager
def lineage_run(stage: str, bot: str, inputs: list[StageOutput]) -> Iterator[lineage.StageRun]:
    """The stage's W&B run, open while the body runs (group = this flow run); afterwards the
    Prefect run page links it. Only executed stages get one: a cached stage logs nothing."""
    with lineage.stage_run(
        stage,
        group=str(flow_run.id or "local"),
        inputs=[lineage.artifact_ref(i) for i in inputs],
        config={"bot": bot, "prefect_flow_run": flow_run.ui_url or flow_run.id},
        api_key=secret("wandb-api-key", "WANDB_API_KEY"),
        name=f"{bot}-{stage}",
    ) as run:
        yield run
    _link_wandb_run(stage, bot, run)


def record_lineage(output: StageOutput, inputs: list[StageOutput], **metrics) -> str | None:
    """One W&B run for the stage that just executed; its URL when online."""
    with lineage_run(output.stage, output.bot, inputs) as run:
        run.log_outputs([lineage.artifact_ref(output)])
        run.summarize(metrics)
    return run.url


def _link_wandb_run(stage: str, bot: str, run: lineage.StageRun) -> None:
    """The UI's link to the stage's W&B run; offline, where its files wait for `wandb sync`."""
    key = artifact_key(bot, f"wandb-{stage}")
    if run.url:
        create_link_artifact(run.url, link_text=f"W&B run: {stage}", key=key)
    elif run.directory:
        create_markdown_artifact(
            f"W&B run of **{stage}** (offline): `{run.directory}`\n\n"
            f"Upload it with `wandb sync {run.directory}`, then `tweetbots lineage sync`.",
            key=key,
            description=f"W&B run: {stage}",
        )


def secret(block_name: str, env_var: str) -> str | None:
    """A Prefect Secret block if one exists, else the environment; never a parameter."""
    try:
        return Secret.load(block_name).get()
    except (ValueError, RuntimeError):
        return os.environ.get(env_var)
