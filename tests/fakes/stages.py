"""Stage outputs for tests: a real source scraped, or a finished output made by hand."""

from pathlib import Path

from tests.fakes.sources import long_posts, write_csv
from tweetbots.stages import clean, scrape
from tweetbots.store import StageOutput, building, write_manifest


def scrape_source(spec: str, bot: str) -> StageOutput:
    """Sense the source, then scrape it, as the flow does."""
    return scrape.run(spec, bot, scrape.fetch_new_posts(spec))


def finished_output(
    stage: str,
    directory: Path,
    bot: str = "bot",
    *,
    files: dict[str, bytes] | None = None,
    key: dict | None = None,
    **summary,
) -> StageOutput:
    """A finished stage output as a real directory, without running the stage: `files` in
    it, and a manifest of its `key` and `summary`."""
    with building(directory) as tmp:
        for name, content in (files or {}).items():
            (tmp / name).write_bytes(content)
        keyed = {} if key is None else {"key": key}
        write_manifest(
            tmp, stage=stage, bot=bot, fingerprint=directory.name, summary=summary, **keyed
        )
    return StageOutput(
        stage=stage, bot=bot, path=directory, fingerprint=directory.name, summary=summary
    )


def build_bot(bot) -> StageOutput:
    """Every stage of `bot`, in the order flows/train_bot.py runs them, without Prefect."""
    from tweetbots.stages import base_model, evaluate, fine_tune, publish, tokenize

    scrapes = [scrape_source(spec, bot.name) for spec in bot.sources]
    cleaned = clean.run(scrapes)
    base = base_model.run(bot.base_model, cleaned)
    tokens = tokenize.run(cleaned, base, bot.tokenize)
    model = fine_tune.run(tokens, base, bot.train)
    report = evaluate.run(model, base, tokens, cleaned, bot.evaluate)
    return publish.run(model, report, cleaned, base, bot.publish)


def publishable_stages(root: Path) -> tuple[StageOutput, ...]:
    """(model, report, cleaned, base): finished outputs a publish needs, nothing trained."""
    model = finished_output("fine-tune", root / "fine-tune" / "bot" / "fp")
    report = finished_output(
        "evaluate", root / "evaluate" / "bot" / "fp", perplexity=20.0, base_perplexity=90.0
    )
    cleaned = finished_output("clean", root / "clean" / "bot" / "fp", profiles=[], stats={})
    base = finished_output(
        "base-model", root / "base-model" / "bot" / "fp", model="tiny", model_dir="x"
    )
    return model, report, cleaned, base


def store_a_bot(root: Path, sources: Path) -> Path:
    """A data root holding bot `ada`: its raw posts (from a CSV written in `sources`) and
    its clean dataset."""
    scraped = scrape_source(f"file:{write_csv(sources / 'ada.csv', long_posts(120))}", "ada")
    clean.run([scraped])
    return root
