"""What the tasks share from Prefect: retry conditions, run-page hooks, the fine-tune slot,
W&B runs linked from the run page, secrets."""

import os
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress

import httpx
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.blocks.system import Secret
from prefect.concurrency.sync import concurrency
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff
from prefect.utilities.urls import url_for

from tweetbots import lineage
from tweetbots.store import OutputKey, StageOutput

# Transport failures by class name: httpx, huggingface_hub's vendored httpx2 and requests
# each have their own hierarchy, and a stage may raise any of them.
_TRANSIENT_NAMES = {"TransportError", "TimeoutException", "ConnectionError", "Timeout"}


def retry_transient(_task, _task_run, state) -> bool:
    """Retry network trouble (timeouts, refused connections, 429, 5xx); never bad input.

    The causes count too (`raise ... from`): a one-line error we raise over an unreachable
    Hub is worth a retry, the same error offline (no cause) or over a 404 is not.
    """
    try:
        state.result()
    except Exception as error:  # noqa: BLE001 - classified below
        return any(_is_transient(e) for e in _cause_chain(error))
    return False


# Network trouble is retried with backoff; bad input (an unknown account) fails at once.
NETWORK_RETRIES = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=5),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_transient,
}


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, (ConnectionError, TimeoutError, httpx.TransportError)):
        return True
    if _TRANSIENT_NAMES & {cls.__name__ for cls in type(error).__mro__}:
        return True
    status = getattr(getattr(error, "response", None), "status_code", None)
    return status == 429 or (status is not None and status >= 500)


def _cause_chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__


def show_on_run_page(render: Callable[[StageOutput], None]):
    """A completion hook that puts `render(output)` on the flow run's page.

    A hook, not the task body: Prefect calls completion hooks for Cached states too, so a
    run whose stages all came from the cache (a nightly bot with nothing new, a retry)
    still shows its data table, evaluation report and links.
    """

    def hook(_task, _task_run, state) -> None:
        render(state.result())

    hook.__name__ = render.__name__  # Prefect logs hooks by name
    return hook


def fine_tune_limit() -> str:
    """The name of the global concurrency limit that keeps a host to one fine-tune."""
    return "fine-tune-" + re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower())


def ensure_fine_tune_limit() -> str:
    """Create this host's fine-tune limit (1 slot) if it does not exist yet; its name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists

    name = fine_tune_limit()
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    return name


def fine_tune_slot() -> AbstractContextManager:
    """Hold this host's one fine-tune slot: another bot's fine-tune here waits its turn.

    Created on first use, so `tweetbots train` and a hand-made deployment are limited as
    much as `tweetbots serve`. TWEETBOTS_FINE_TUNE_LIMIT=off turns it off where a host
    only ever runs one flow run (a Kubernetes pod).
    """
    if os.environ.get("TWEETBOTS_FINE_TUNE_LIMIT", "on") == "off":
        return nullcontext()
    return concurrency(ensure_fine_tune_limit(), occupy=1, strict=True)


def artifact_key(bot: str, what: str) -> str:
    """Prefect artifact keys allow only lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{bot}-{what}".lower())


def run_page() -> str | None:
    """The flow run's page in the Prefect UI; None outside a flow run, or when no UI is
    known (a run on a temporary local server: its page is gone when the run ends)."""
    if flow_run.id is None:
        return None
    return url_for("flow-run", obj_id=flow_run.id)


@contextmanager
def lineage_run(key: OutputKey, inputs: list[StageOutput]) -> Iterator[lineage.StageRun]:
    """The W&B run of the stage making `key`'s output, open while the body runs (group =
    this flow run; config = what decides the output); afterwards the Prefect run page links
    it. Only executed stages get one: a cached stage logs nothing."""
    stage, bot = key.stage, key.bot
    config = {"bot": bot, "prefect_flow_run_id": flow_run.id, **lineage.run_config(key, inputs)}
    if page := run_page():
        config["prefect_flow_run"] = page
    with lineage.stage_run(
        stage,
        group=str(flow_run.id or "local"),
        inputs=[lineage.artifact_ref(i) for i in inputs],
        config=config,
        api_key=wandb_api_key(),
        name=f"{bot}-{stage}",
    ) as run:
        yield run
    _link_wandb_run(stage, bot, run)


def wandb_api_key() -> str | None:
    """The W&B key of the Secret block `wandb-api-key`, else WANDB_API_KEY; None lets
    wandb use the user's own login (`wandb login`)."""
    return secret("wandb-api-key", "WANDB_API_KEY")


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
