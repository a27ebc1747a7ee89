from prefect import task
from prefect.artifacts import create_markdown_artifact

from tasks._caching import stage_cache
from tasks._common import artifact_key, lineage_run, show_on_run_page
from tweetbots import pipeline
from tweetbots.config import EvalSettings
from tweetbots.lineage import artifact_ref
from tweetbots.store import StageOutput

EVAL_METRICS = ("perplexity", "base_perplexity", "loss", "memorisation_rate", "distinct_2")


def show_eval_report(output: StageOutput) -> None:
    """Base against fine-tuned, and the sample predictions, on the run's page."""
    create_markdown_artifact(
        _report_markdown(output.summary),
        key=artifact_key(output.bot, "eval"),
        description="Evaluation report",
    )


@task(
    name="evaluate",
    cache_policy=stage_cache(pipeline.eval_dir),
    retries=0,
    on_completion=[show_on_run_page(show_eval_report)],
)
def evaluate_model(
    model: StageOutput,
    base: StageOutput,
    tokens: StageOutput,
    clean_output: StageOutput,
    settings: EvalSettings,
    bot: str,
) -> StageOutput:
    """Compare base and fine-tuned on held-out posts; sample predictions."""
    output = pipeline.run_evaluate(model, base, tokens, clean_output, settings, bot)
    report = output.summary
    samples = [[s["prompt"], s["text"]] for s in report["samples"]]
    with lineage_run("evaluate", bot, [model, base, tokens, clean_output]) as wandb_run:
        wandb_run.log_table("samples", ["prompt", "text"], samples)
        wandb_run.log_outputs([artifact_ref(output)])
        wandb_run.summarize({k: report[k] for k in EVAL_METRICS})
    return output


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
