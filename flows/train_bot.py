"""One bot, every stage: scrape -> clean -> tokenize -> fine-tune -> evaluate -> publish."""

from prefect import flow

from tasks.base import prepare_base_model
from tasks.clean import clean_posts
from tasks.encode import tokenize_posts
from tasks.evaluate import evaluate_model
from tasks.publish import publish_model
from tasks.scrape import check_source, scrape_source
from tasks.train import fine_tune_model
from tweetbots.config import BotSpec
from tweetbots.store import StageOutput


@flow(name="train-bot", flow_run_name="train-{bot.name}")
def train_bot(bot: BotSpec) -> StageOutput:
    """Train, judge and publish one bot; every stage is cached by its inputs."""
    scrapes = [scrape_source(spec, bot.name, check_source(spec)) for spec in bot.sources]
    cleaned = clean_posts(scrapes, bot.name)
    base = prepare_base_model(bot.base_model, cleaned, bot.name)
    tokens = tokenize_posts(cleaned, base, bot.tokenize, bot.name)
    model = fine_tune_model(tokens, base, bot.train, bot.name)
    report = evaluate_model(model, base, tokens, cleaned, bot.evaluate, bot.name)
    return publish_model(model, report, cleaned, base, bot.publish, bot.name)
