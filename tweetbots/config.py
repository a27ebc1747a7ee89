"""Typed settings of each stage and of a bot, validated before anything runs.

These pydantic models are also the Prefect flow parameters, so the UI renders them as
forms and rejects bad values before a run starts. Secrets never live here: parameters
are shown in the UI.
"""

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ORIGINAL_LEARNING_RATE = 1.372e-4
# A tiny model trained from scratch learns nothing at the fine-tuning rate above.
TINY_LEARNING_RATE = 3e-3
DEFAULT_PROMPTS = ["My dream is", "I think that", "I like", "I don't like", "I want"]

_BOT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,95}$")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenizeSettings(_Settings):
    block_size: Annotated[int, Field(ge=8, le=8192)] = 1024
    val_fraction: Annotated[float, Field(gt=0, lt=0.5)] = 0.1
    seed: int = 42


class TrainSettings(_Settings):
    epochs: Annotated[float, Field(gt=0, le=100)] = 4
    learning_rate: Annotated[float | None, Field(gt=0, lt=1)] = None
    batch_size: Annotated[int, Field(ge=1, le=512)] = 1
    grad_accum: Annotated[int, Field(ge=1, le=512)] = 1
    seed: int = 42
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compile: bool = False
    # A killed run resumes from the last checkpoint instead of starting over.
    checkpoint_every: Annotated[int, Field(ge=1)] = 200

    def learning_rate_for(self, base_model: str) -> float:
        """The original's rate for pretrained bases; a higher one for `tiny`."""
        if self.learning_rate is not None:
            return self.learning_rate
        return TINY_LEARNING_RATE if base_model == "tiny" else ORIGINAL_LEARNING_RATE


class EvalSettings(_Settings):
    """The original's sampling settings (reference/huggingtweets.md)."""

    prompts: list[str] = Field(default_factory=lambda: list(DEFAULT_PROMPTS), min_length=1)
    samples_per_prompt: Annotated[int, Field(ge=1, le=50)] = 2
    max_length: Annotated[int, Field(ge=16, le=1024)] = 160
    min_length: Annotated[int, Field(ge=0, le=1024)] = 10
    top_p: Annotated[float, Field(gt=0, le=1)] = 0.95
    temperature: Annotated[float, Field(gt=0, le=10)] = 1.0
    memorisation_words: Annotated[int, Field(ge=2, le=64)] = 8
    seed: int = 0


class PublishSettings(_Settings):
    # None: `file://<data root>/published`.
    target: str | None = None
    force: bool = False

    @field_validator("target")
    @classmethod
    def _known_scheme(cls, target: str | None) -> str | None:
        if target is not None and not re.match(r"^(file://.+|hf://[\w.-]+/[\w.-]+)$", target):
            raise ValueError(
                f"target {target!r} is not a target URI: use file://DIR or hf://namespace/name"
            )
        return target


class BotSpec(_Settings):
    """One bot: where its posts come from and how to train, judge and publish it."""

    name: str
    sources: list[str] = Field(min_length=1, max_length=10)  # the original allowed 3
    base_model: str = "gpt2"
    tokenize: TokenizeSettings = TokenizeSettings()
    train: TrainSettings = TrainSettings()
    evaluate: EvalSettings = EvalSettings()
    publish: PublishSettings = PublishSettings()

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        # The name becomes a directory and a Hub repo name: no traversal, no spaces.
        if not _BOT_NAME.match(name):
            raise ValueError(
                f"bot name {name!r} is invalid: use 1-96 of a-z 0-9 _ . - (start alphanumeric)"
            )
        return name

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, sources: list[str]) -> list[str]:
        from tweetbots.sources import parse_spec

        for spec in sources:
            parse_spec(spec)
        return sources
