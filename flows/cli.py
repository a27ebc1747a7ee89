"""The `tweetbots` command line: demo, train, stats, generate, serve, lineage sync.

Prefect is imported inside the commands that orchestrate (after the environment is
set), so `stats` and `generate` start fast and work without a Prefect server.
"""

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from flows.environment import configure_local_environment

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn anyone's public posts into a GPT-2 bot that writes like them.",
    # Plain help: rich markup would take a help text's "[auto]" default for a style tag
    # and print nothing of it.
    rich_markup_mode=None,
)
log = logging.getLogger("tweetbots")


def _print_version(wanted: bool) -> None:
    if wanted:
        from tweetbots import __version__

        typer.echo(f"tweetbots {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API call otherwise
    if not verbose:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # one bar per weight load is noise


@app.command()
def demo() -> None:
    """Run the whole DAG offline on the bundled sample with a tiny local base model."""
    root = _validated(lambda: configure_local_environment(offline_wandb=True))
    from tweetbots.config import BotSpec
    from tweetbots.demo_data import write_sample_archives
    from tweetbots.stages.fine_tune import TrainSettings

    sources = [f"archive:{a}" for a in write_sample_archives(root / "sample")]
    # Batch 8, not the original's 1: the tiny model is about speed on a CPU, not fidelity.
    bot = BotSpec(
        name=_name_from_handles(sources),
        sources=sources,
        base_model="tiny",
        train=TrainSettings(batch_size=8),
    )
    published = _run_train_bot(bot)
    _print_result(published)


def _bot_options(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            help="bot name: a-z 0-9 _ . - [the handles, sorted, joined with -: the original's]"
        ),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="e.g. archive:PATH; one per user [--config's]"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="the bot as a YAML or TOML file; options given here override it"),
    ] = None,
    base_model: Annotated[
        str | None, typer.Option(help="Hub id, local path, or tiny [gpt2]")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="file:///DIR or hf://ns/name [the data root's published/]")
    ] = None,
    epochs: Annotated[float | None, typer.Option(help="passes over the posts [4]")] = None,
    batch_size: Annotated[int | None, typer.Option(help="blocks per micro-batch [1]")] = None,
    grad_accum: Annotated[
        int | None, typer.Option(help="micro-batches per optimizer step [1]")
    ] = None,
    compile_model: Annotated[
        bool | None, typer.Option("--compile/--no-compile", help="torch.compile [no]")
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda [auto]")] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="peak rate [the original's; tiny: 3e-3]")
    ] = None,
    license_id: Annotated[
        str | None,
        typer.Option(
            "--license", help="the card's license, a Hub id: mit, apache-2.0... [the base's]"
        ),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="the posts' language, for the card [en]")
    ] = None,
    private: Annotated[
        bool, typer.Option("--private", help="create the Hub repo private (a new repo only)")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="publish even if the published model scores better")
    ] = False,
) -> None:
    """The options that describe a bot, shared by `train` and `plan` (see `_bot_spec`)."""


# Where each bot option goes in a BotSpec. Only the options typed count: every default is
# the settings models' own (tweetbots/stages/), kept in one place.
_BOT_FIELDS = {
    "name": ("name",),
    "source": ("sources",),
    "base_model": ("base_model",),
    "target": ("publish", "target"),
    "epochs": ("train", "epochs"),
    "batch_size": ("train", "batch_size"),
    "grad_accum": ("train", "grad_accum"),
    "compile_model": ("train", "compile"),
    "device": ("train", "device"),
    "learning_rate": ("train", "learning_rate"),
    "license_id": ("publish", "license"),
    "language": ("publish", "language"),
    "private": ("publish", "private"),
    "force": ("publish", "force"),
}


def _with_bot_options(command):
    """`command` with its own parameters, then the bot options: one list for both commands."""
    import functools
    import inspect

    @functools.wraps(command)
    def with_options(**options):
        return command(**options)

    shared = list(inspect.signature(_bot_options).parameters.values())
    own = [
        p
        for p in inspect.signature(command).parameters.values()
        if p.name != "ctx" and p.kind != p.VAR_KEYWORD
    ]
    with_options.__signature__ = inspect.Signature(shared[:2] + own + shared[2:])
    return with_options


def _bot_spec(ctx: typer.Context, options: dict):
    """The bot of the options typed (over a --config file's, if one is given)."""
    from tweetbots.botfile import bot_from

    given: dict = {}
    for option, (*parents, field) in _BOT_FIELDS.items():
        origin = ctx.get_parameter_source(option)
        if origin is None or origin.name not in {"COMMANDLINE", "ENVIRONMENT"}:
            continue
        node = given
        for parent in parents:
            node = node.setdefault(parent, {})
        node[field] = options[option]
    flags = {param.name: param.opts[0] for param in ctx.command.params}
    names = {".".join(path): flags[option] for option, path in _BOT_FIELDS.items()}
    return bot_from(given, options["config"], _name_from_handles, names)


@app.command("train")
@_with_bot_options
def train_command(ctx: typer.Context, **options) -> None:
    """Train one bot from its sources (or a --config file) and publish it."""
    _validated(configure_local_environment)
    if not options["source"] and options["config"] is None:
        _fail("missing option '--source' (or --config FILE); see `tweetbots train --help`", 2)
    _print_result(_run_train_bot(_validated(lambda: _bot_spec(ctx, options))))


def _name_from_handles(sources: list[str]) -> str:
    """The original's model name, from the sources' handles."""
    from tweetbots.card import model_name
    from tweetbots.sources import source_handles

    return model_name([handle for spec in sources for handle in source_handles(spec)])


@app.command()
def stats(
    source: Annotated[list[str], typer.Option("--source", "-s")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Count posts per user like the original card: downloaded, retweets, short, kept."""
    import pandas as pd

    from tweetbots.card import data_table
    from tweetbots.clean import clean_posts
    from tweetbots.sources import read_source, unique_posts

    raw = _validated(lambda: pd.concat([read_source(s).posts for s in source]))
    _, counts = clean_posts(unique_posts(raw))
    if as_json:
        typer.echo(json.dumps({u: s.model_dump() for u, s in counts.items()}, indent=2))
        return
    typer.echo(data_table(["Data", *counts], [s.model_dump() for s in counts.values()]))


@app.command()
def generate(
    model_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    prompt: str,
    n: Annotated[int, typer.Option("-n", min=1, max=50)] = 5,
) -> None:
    """Sample from a trained bot with the original's settings."""
    from tweetbots.evaluate import sample_predictions
    from tweetbots.stages.evaluate import EvalSettings

    # A folder that is no model is bad input: one line, exit 2 (a long prompt is cut).
    settings = EvalSettings(prompts=[prompt], samples_per_prompt=n)
    for sample in _validated(lambda: sample_predictions(model_dir, settings)):
        typer.echo(sample.text)


@app.command()
def serve(port: Annotated[int, typer.Option(min=1, max=65535)] = 4200) -> None:
    """Start the local stack: Prefect server and UI, work pool, deployments, a worker."""
    import os
    import signal
    import time

    root = _validated(lambda: configure_local_environment(local_stack=True))
    from flows import stack

    # Before Prefect is imported, and for every child: this server, and its login.
    os.environ.update(stack.client_settings(root, port))
    api_url = os.environ["PREFECT_API_URL"]

    # Ctrl-C and `kill` both end in the cleanup below, even when started in the background
    # (where a shell has SIGINT ignored).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    started = []
    try:
        started.append(stack.start_server(port, root, root / "logs" / "prefect-server.log"))
        stack.prepare(api_url, root)
        started.append(stack.start_worker(api_url, root, root / "logs" / "prefect-worker.log"))
        typer.echo(
            f"Prefect UI: http://127.0.0.1:{port}  (log in with the line in "
            f"{stack.login_file(root)}; logs in {root / 'logs'}; "
            "Ctrl-C stops the server and the worker)"
        )
        while all(process.poll() is None for process in started):
            time.sleep(1)
        typer.echo(f"error: a process of the stack exited; see {root / 'logs'}", err=True)
        raise typer.Exit(1)
    except stack.StackError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("stopping the worker and the server")
    finally:
        stack.stop_stack(started, api_url)


@app.command("plan")
@_with_bot_options
def plan_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="the plan as JSON")] = False,
    **options,
) -> None:
    """Which stages a run of the bot would execute now, and why; runs none of them.

    The bot is given as to `train`, or by its name alone when prefect.yaml's nightly lists
    it. Sensing is real: a network source's new posts are stored, and the run that follows
    does not fetch them again.
    """
    _validated(configure_local_environment)
    from tweetbots.plan import plan_bot

    if options["source"] or options["config"]:
        bot = _validated(lambda: _bot_spec(ctx, options))
    else:
        bot = _validated(lambda: _nightly_bot(options["name"]))
    plan = _validated(lambda: plan_bot(bot))
    if as_json:
        typer.echo(plan.model_dump_json(indent=2))
        return
    typer.echo(f"{plan.bot}: {'work to do' if plan.has_work else 'up to date'}")
    for stage in plan.stages:
        why = "; ".join(stage.reasons) if stage.runs else "up to date"
        typer.echo(f"  {stage.stage:<11} {'runs' if stage.runs else '-':<5} {why}")
    if plan.published_url:
        typer.echo(f"published: {plan.published_url}")


def _nightly_bot(name: str | None):
    """The bot of that name in prefect.yaml's nightly."""
    from flows.stack import nightly_bots
    from tweetbots.config import BotSpec

    listed = nightly_bots()
    if name not in listed:
        known = ", ".join(sorted(listed)) or "none"
        raise ValueError(
            f"no bot {name!r} in prefect.yaml's nightly (it lists: {known}): "
            "give its --source options or --config, or add it there"
        )
    return BotSpec.model_validate(listed[name])


lineage_app = typer.Typer(no_args_is_help=True, help="W&B lineage of the bots.")
app.add_typer(lineage_app, name="lineage")


@lineage_app.command("sync")
def lineage_sync(
    wandb_dir: Annotated[
        Path | None, typer.Option(help="the folder of offline-run-* (default: the data root's)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list the links, make none")] = False,
) -> None:
    """After `wandb sync`: declare each stage run's recorded inputs, linking the stages."""
    _validated(configure_local_environment)
    from tweetbots import lineage
    from tweetbots.wandb_records import offline_runs

    if not _importable("wandb"):
        typer.echo("error: lineage sync needs wandb: pip install wandb", err=True)
        raise typer.Exit(1)
    runs_dir = wandb_dir or lineage.offline_runs_dir()
    links = lineage.sync_plan(offline_runs(runs_dir))
    if not links:
        typer.echo(f"error: no offline W&B run under {runs_dir} recorded inputs", err=True)
        raise typer.Exit(1)
    for link in links:
        typer.echo(f"{link.job_type} {link.run_id} <- {link.artifact} ({link.digest})")
    if dry_run:
        return
    try:
        declared = lineage.sync_lineage(links, api_key=_wandb_key())
    except lineage.LineageSyncError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"declared {declared} of {len(links)} inputs")


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _wandb_key() -> str | None:
    """WANDB_API_KEY, else the Prefect Secret block when a Prefect server is configured
    (asking without one would start a temporary server); else W&B's own `wandb login`."""
    import os

    from flows.environment import users_prefect_api

    if os.environ.get("WANDB_API_KEY") or not users_prefect_api():
        return os.environ.get("WANDB_API_KEY")
    from tasks.runtime import secret

    return secret("wandb-api-key", "WANDB_API_KEY")


def _run_train_bot(bot):
    """Run the flow; its failure ends the command in one line, without a traceback.

    Our own errors (bad input) are ValueErrors whose message names the input and the fix;
    anything else (the network still failing after the retries) is named by its type,
    its traceback being in the flow run's logs.
    """
    from flows.train_bot import train_bot

    console = logging.getLogger().handlers
    for handler in console:
        handler.addFilter(_no_run_failure_logs)
    try:
        return train_bot(bot)
    except ValueError as error:
        _fail(str(error), 1)
    except Exception as error:  # noqa: BLE001 - one line for any failure, see above
        _fail(f"{type(error).__name__}: {error} (the flow run's logs have the details)", 1)
    finally:
        for handler in console:
            handler.removeFilter(_no_run_failure_logs)


def _no_run_failure_logs(record: logging.LogRecord) -> bool:
    """Keep Prefect's failure records (tracebacks) off the console, not out of the API.

    The command reports a failure itself, in one line; the flow run's logs in the UI
    keep the full record. A filter on the console handlers, not on Prefect's loggers,
    whose API handler must still see the record.
    """
    is_run_log = record.name.startswith(("prefect.flow_runs", "prefect.task_runs"))
    return not (is_run_log and record.levelno >= logging.ERROR)


def main() -> None:
    """The console script: usage errors (a missing option, a bad value) in one line too."""
    import sys

    try:
        code = app(standalone_mode=False)
    except Exception as error:  # noqa: BLE001 - typer may vendor click: match by class name
        code = _usage_error_code(error)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error_code(error: Exception) -> int:
    names = {cls.__name__ for cls in type(error).__mro__}
    context = getattr(error, "ctx", None)
    if "NoArgsIsHelpError" in names:
        typer.echo(context.get_help() if context else str(error), err=True)
        return 2
    if "UsageError" in names:
        command = context.command_path if context else "tweetbots"
        message = " ".join(error.format_message().split())
        typer.echo(f"error: {message} (see `{command} --help`)", err=True)
        return 2
    if "Abort" in names:  # Ctrl-C at a prompt
        return 130
    raise error


def _validated(build):
    """Turn bad input into a one-line error and exit code 2, not a traceback."""
    from pydantic import ValidationError

    try:
        return build()
    except ValidationError as error:
        _fail(error.errors()[0]["msg"].removeprefix("Value error, "), 2)
    except ValueError as error:
        _fail(str(error), 2)


def _fail(message: str, code: int):
    """End the command with `error: <message>` as one line on stderr."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def _print_result(published) -> None:
    summary = published.summary
    report = json.loads(Path(summary["report"]).read_text())
    typer.echo(f"card:        {summary['card']}")
    typer.echo(f"model:       {summary['model_dir']}")
    typer.echo(f"predictions: {summary['predictions']}")
    typer.echo(f"published:   {summary['url'] or 'no: ' + summary['reason']}")
    typer.echo(f"perplexity:  {report['perplexity']:.2f} (base {report['base_perplexity']:.2f})")
    typer.echo("samples:")
    for sample in report["samples"][:5]:
        typer.echo(f"  - {sample['text']}")
