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
