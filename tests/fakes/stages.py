"""Stage outputs for tests: a real source scraped, or a finished output made by hand."""

from pathlib import Path

from tweetbots.stages import scrape
from tweetbots.store import StageOutput, building, write_manifest


def scrape_source(spec: str, bot: str) -> StageOutput:
    """Sense the source, then scrape it, as the flow does."""
    return scrape.run(spec, bot, scrape.fetch_new_posts(spec))


def finished_output(stage: str, directory: Path, bot: str = "bot", **summary) -> StageOutput:
    """A finished stage output as a real directory, without running the stage."""
    with building(directory) as tmp:
        write_manifest(tmp, stage=stage, bot=bot, fingerprint=directory.name, summary=summary)
    return StageOutput(
        stage=stage, bot=bot, path=directory, fingerprint=directory.name, summary=summary
    )


def build_bot(bot) -> StageOutput:
    """Every stage of `bot`, in the order flows/train_bot.py runs them, without Prefect."""
    from tweetbots.stages import base_model, clean, evaluate, fine_tune, publish, tokenize

    scrapes = [scrape_source(spec, bot.name) for spec in bot.sources]
    cleaned = clean.run(scrapes)
    base = base_model.run(bot.base_model, cleaned)
    tokens = tokenize.run(cleaned, base, bot.tokenize)
    model = fine_tune.run(tokens, base, bot.train)
    report = evaluate.run(model, base, tokens, cleaned, bot.evaluate)
    return publish.run(model, report, cleaned, base, bot.publish)
