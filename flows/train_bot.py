"""One bot, every stage: scrape -> clean -> base model -> tokenize -> fine-tune -> evaluate
-> publish. Each stage is cached by its inputs: a rerun starts at the first stage whose
output is missing or out of date. A run started through the API or UI first checks that
the bot's local paths lie inside the allowed roots."""

from prefect import flow

from tasks.allowed import check_allowed_paths
from tasks.base_model import base_model
from tasks.clean import clean
from tasks.evaluate import evaluate
from tasks.fine_tune import fine_tune
from tasks.publish import publish
from tasks.scrape import fetch_new_posts, scrape
from tasks.tokenize import tokenize
from tweetbots.config import BotSpec
from tweetbots.store import StageOutput


@flow(name="train-bot", flow_run_name="train-{bot.name}")
def train_bot(bot: BotSpec, source_states: dict[str, str] | None = None) -> StageOutput:
    """Train, judge and publish one bot; every stage is cached by its inputs.

    Args:
        bot: The bot: its sources and each stage's settings.
        source_states: What the nightly sensed of each source; leave it empty.
    """
    check_allowed_paths(bot)
    sensed = source_states or {}
    scrapes = [scrape(s, bot.name, sensed.get(s) or fetch_new_posts(s)) for s in bot.sources]
    cleaned = clean(scrapes)
    base = base_model(bot.base_model, cleaned)
    tokens = tokenize(cleaned, base, bot.tokenize)
    model = fine_tune(tokens, base, bot.train)
    report = evaluate(model, base, tokens, cleaned, bot.evaluate)
    return publish(model, report, cleaned, base, bot.publish)
