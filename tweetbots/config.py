"""A bot: where its posts come from, and each stage's settings, validated before any run.

This pydantic model is also the Prefect flow parameter, so the UI renders it as a form
and rejects bad values before a run starts. Each stage's settings model lives with its
stage (`tweetbots/stages/`). Secrets never live here: parameters are shown in the UI.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tweetbots.stages.evaluate import EvalSettings
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.stages.publish import PublishSettings
from tweetbots.stages.tokenize import TokenizeSettings
from tweetbots.store import BOT_NAME, checked_bot


class BotSpec(BaseModel):
    """One bot: where its posts come from and how to train, judge and publish it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The pattern is in the JSON schema, so the UI's form refuses a bad name before a run.
    name: Annotated[
        str,
        Field(
            pattern=BOT_NAME.pattern,
            description="the bot's name, also its directory and model repo: 1-96 of "
            "a-z 0-9 _ . - starting with a letter or digit",
        ),
    ]
    sources: Annotated[
        list[str],
        Field(
            min_length=1,
            max_length=10,  # the original allowed 3; balanced the same way
            description="one per user, up to 10 (a cyborg bot): archive:PATH, file:PATH, "
            "mastodon:@user@instance, bluesky:HANDLE",
        ),
    ]
    base_model: Annotated[
        str, Field(description="a Hub id (gpt2), a local save_pretrained directory, or tiny")
    ] = "gpt2"
    tokenize: Annotated[
        TokenizeSettings, Field(description="how the posts become training blocks")
    ] = TokenizeSettings()
    train: Annotated[TrainSettings, Field(description="fine-tuning")] = TrainSettings()
    evaluate: Annotated[
        EvalSettings, Field(description="how the model is judged: perplexity and samples")
    ] = EvalSettings()
    publish: Annotated[
        PublishSettings, Field(description="where the model goes, if it beats the published")
    ] = PublishSettings()

    # Before the pattern: a bad name gets our one line, not pydantic's "should match".
    @field_validator("name", mode="before")
    @classmethod
    def _safe_name(cls, name):
        # The name becomes a directory and a Hub repo name: no traversal, no spaces.
        return checked_bot(name) if isinstance(name, str) else name

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, sources: list[str]) -> list[str]:
        from tweetbots.sources import parse_spec

        for spec in sources:
            parse_spec(spec)
        return sources
