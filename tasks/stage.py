"""A stage as a Prefect task: declared, not re-typed.

`stage_task(stage, ...)` wraps a stage module's `run` (tweetbots/stages/) into a task
named after the stage, with its signature (so Prefect records the same parameters), and
adds what every stage needs from Prefect:

- caching: the key is the output's directory name (its `OutputKey` fingerprint: inputs,
  settings, the stage's code version) plus a presence token, so an unchanged stage never
  runs twice, and one whose output was deleted or corrupted runs again;
- its W&B run, open while the stage works (job type and artifact type: the stage's name),
  declaring the inputs the stage's key names and logging its output as an artifact;
- what the task declares on top: retries, a timeout that fits the stage, a slot it must
  hold, runtime values its `run` takes (secrets, callbacks) and its run-page artifacts.
"""

import inspect
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import update_wrapper
from types import ModuleType
from typing import Any

from prefect import task
from prefect.cache_policies import CachePolicy

from tasks.runtime import lineage_run, show_on_run_page
from tweetbots.lineage import StageRun, artifact_ref
from tweetbots.store import OutputKey, StageOutput, data_root, fingerprint, is_complete

# Runtime values a stage's `run` takes (keyword-only: never task parameters, so a token
# passed this way is never recorded or shown), made once its W&B run is open.
Runtime = Callable[[dict[str, Any], StageRun], dict[str, Any]]


def stage_task(
    stage: ModuleType,
    *,
    timeout_seconds: float,
    retries: int = 0,
    retry_delay_seconds: Any = 0,
    retry_jitter_factor: float | None = None,
    retry_condition_fn: Callable | None = None,
    slot: Callable[[], AbstractContextManager] = nullcontext,
    runtime: Runtime | None = None,
    to_wandb: Callable[[StageRun, StageOutput], None] | None = None,
    run_page: Callable[[StageOutput], None] | None = None,
):
    """The Prefect task of `stage` (a module of tweetbots.stages)."""
    signature = _task_signature(stage.run)

    def body(*args, **kwargs) -> StageOutput:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        key = _output_key(stage, arguments)
        inputs = _declared_inputs(arguments, key)
        with slot(), lineage_run(stage.NAME, key.bot, inputs) as wandb_run:
            extras = runtime(arguments, wandb_run) if runtime else {}
            output = stage.run(**arguments, **extras)
            wandb_run.log_outputs([artifact_ref(output)])
            if to_wandb:
                to_wandb(wandb_run, output)
        return output

    update_wrapper(body, stage.run)
    body.__signature__ = signature
    return task(
        name=stage.NAME,
        cache_policy=CachePolicy.from_cache_key_fn(cache_key(stage)),
        timeout_seconds=timeout_seconds,
        retries=retries,
        retry_delay_seconds=retry_delay_seconds,
        retry_jitter_factor=retry_jitter_factor,
        retry_condition_fn=retry_condition_fn,
        on_completion=[show_on_run_page(run_page)] if run_page else [],
    )(body)


def cache_key(stage: ModuleType) -> Callable[[Any, dict[str, Any]], str]:
    """The stage's cache key: its output's directory name plus that output's presence
    token. Prefect would otherwise hand on a cached result whose directory is gone."""
    is_usable = getattr(stage, "is_usable", is_complete)

    def key(_context: Any, parameters: dict[str, Any]) -> str:
        try:
            out = _output_key(stage, parameters).path
        except ValueError:
            # An input the stage refuses (an unknown base model): no cache entry, so the
            # body runs and fails with its one-line error, not a key-function traceback.
            return uuid.uuid4().hex
        return f"{stage.NAME}-{out.name}-{_presence_token(out, is_usable)}"

    return key


def _presence_token(out, is_usable) -> str:
    """Stable while the output is there and usable; renewed (a cache miss) once it's not."""
    token_file = data_root() / "cache" / "tokens" / fingerprint(str(out))
    if is_usable(out) and token_file.is_file():
        return token_file.read_text()
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    token_file.write_text(token)
    return token


def _output_key(stage: ModuleType, arguments: dict[str, Any]) -> OutputKey:
    wanted = inspect.signature(stage.output_key).parameters
    return stage.output_key(**{name: arguments[name] for name in wanted if name in arguments})


def _task_signature(run: Callable) -> inspect.Signature:
    """`run`'s signature without its keyword-only runtime parameters."""
    signature = inspect.signature(run)
    kept = [p for p in signature.parameters.values() if p.kind != p.KEYWORD_ONLY]
    return signature.replace(parameters=kept)


def _declared_inputs(arguments: dict[str, Any], key: OutputKey) -> list[StageOutput]:
    """The stage outputs among the arguments that the output key names as inputs (a Hub
    base model, say, is handed the clean posts but does not read them)."""
    outputs = [
        o
        for value in arguments.values()
        for o in (value if isinstance(value, list) else [value])
        if isinstance(o, StageOutput)
    ]
    named = {name.split(" ")[0] for name in key.inputs}
    return [o for o in outputs if o.stage in named]
