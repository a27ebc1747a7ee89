"""The evaluate task: the report and samples on the run's page and in W&B."""

from prefect.artifacts import create_markdown_artifact

from tasks.runtime import artifact_key
from tasks.stage import stage_task
from tweetbots.lineage import StageRun
from tweetbots.stages import evaluate as stage
from tweetbots.store import StageOutput

EVAL_METRICS = ("perplexity", "base_perplexity", "loss", "memorisation_rate", "distinct_2")


def show_eval_report(output: StageOutput) -> None:
    """Base against fine-tuned, and the sample predictions, on the run's page."""
    create_markdown_artifact(
        _report_markdown(output.summary),
        key=artifact_key(output.bot, "eval"),
        description="Evaluation report",
    )


def log_report(wandb_run: StageRun, output: StageOutput) -> None:
    report = output.summary
    samples = [[s["prompt"], s["text"]] for s in report["samples"]]
    wandb_run.log_table("samples", ["prompt", "text"], samples)
    wandb_run.summarize({k: report[k] for k in EVAL_METRICS})


def _report_markdown(report: dict) -> str:
    samples = "\n".join(
        f"| {s['prompt']} | {s['text'].replace('|', '/')} |" for s in report["samples"]
    )
    return (
        "| metric | base | fine-tuned |\n| --- | --- | --- |\n"
        f"| validation loss | {report['base_loss']:.3f} | {report['loss']:.3f} |\n"
        f"| perplexity | {report['base_perplexity']:.2f} | {report['perplexity']:.2f} |\n\n"
        f"Memorisation rate: {report['memorisation_rate']:.0%} · "
        f"distinct-2: {report['distinct_2']:.2f}\n\n"
        f"| prompt | sample |\n| --- | --- |\n{samples}\n"
    )


evaluate = stage_task(
    stage, timeout_seconds=30 * 60, to_wandb=log_report, run_page=show_eval_report
)
