"""evaluate: the fine-tuned model judged honestly against its base, on held-out posts.

Validation loss and perplexity of both on the same blocks, samples with the original's
sampling settings, the memorisation rate (samples copying a training post) and
distinct-2. Output: `report.json` and `predictions.png` (the card's thumbnail). A score
that is not a finite positive number fails the stage: it must never reach a card.
"""

import math
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from tweetbots import encode, evaluate
from tweetbots.stages import output_key_of
from tweetbots.store import OutputKey, StageOutput, produce

NAME = "evaluate"
CODE = (__name__, "tweetbots.evaluate", "tweetbots.encode")
DEFAULT_PROMPTS = ["My dream is", "I think that", "I like", "I don't like", "I want"]


class EvalSettings(BaseModel):
    """The original's sampling settings (reference/huggingtweets.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PROMPTS),
        min_length=1,
        description="prompts the samples start from",
    )
    samples_per_prompt: Annotated[
        int, Field(ge=1, le=50, description="samples generated from each prompt")
    ] = 2
    max_length: Annotated[int, Field(ge=16, le=1024, description="tokens per sample")] = 160
    min_length: Annotated[int, Field(ge=0, le=1024, description="least tokens per sample")] = 10
    top_p: Annotated[float, Field(gt=0, le=1, description="nucleus sampling")] = 0.95
    temperature: Annotated[
        float, Field(gt=0, le=10, description="sampling temperature: higher, wilder")
    ] = 1.0
    memorisation_words: Annotated[
        int, Field(ge=2, le=64, description="words in a row that count as copying a post")
    ] = 8
    seed: Annotated[int, Field(description="seed of the sampling")] = 0


def output_key(
    model: StageOutput,
    base: StageOutput,
    tokens: StageOutput,
    cleaned: StageOutput,
    settings: EvalSettings,
) -> OutputKey:
    inputs = [model, base, tokens, cleaned]
    return output_key_of(NAME, CODE, inputs, settings.model_dump(mode="json"))


def run(
    model: StageOutput,
    base: StageOutput,
    tokens: StageOutput,
    cleaned: StageOutput,
    settings: EvalSettings,
) -> StageOutput:
    """Base vs fine-tuned on held-out blocks, samples, memorisation, distinct-2."""
    key = output_key(model, base, tokens, cleaned, settings)
    return produce(key, lambda tmp: _build(model, base, tokens, cleaned, settings, tmp))


def _build(model, base, tokens, cleaned, settings: EvalSettings, tmp: Path) -> dict:
    val = np.load(tokens.path / "val.npy")
    base_loss = _finite(
        evaluate.validation_loss(Path(base.summary["model_dir"]), val),
        f"{model.bot}: the base model",
        "check the base model",
    )
    loss = _finite(
        evaluate.validation_loss(model.path, val),
        f"{model.bot}: the fine-tuned model",
        "training diverged; lower train.learning_rate and run again",
    )
    samples = evaluate.sample_predictions(model.path, settings)
    report = evaluate.EvalReport(
        base_loss=base_loss,
        base_perplexity=evaluate.perplexity(base_loss),
        loss=loss,
        perplexity=evaluate.perplexity(loss),
        validation_tokens=int(val.size),
        samples=samples,
        memorisation_rate=evaluate.memorisation_rate(
            samples, _train_texts(cleaned, tokens), settings.memorisation_words
        ),
        distinct_2=evaluate.distinct_2(samples),
    )
    (tmp / "report.json").write_text(report.model_dump_json(indent=2))
    evaluate.render_predictions_png(samples, f"@{model.bot}", tmp / "predictions.png")
    return report.model_dump(mode="json")


def _train_texts(cleaned: StageOutput, tokens: StageOutput) -> list[str]:
    posts = pd.read_parquet(cleaned.path / "posts.parquet")
    held_out = encode.is_validation(posts["id"], tokens.summary["settings"]["val_fraction"])
    return posts["text"][~held_out].tolist()


def _finite(loss: float, whose: str, fix: str) -> float:
    """A loss that is a score: NaN or infinity must fail here, never reach a card."""
    if not math.isfinite(loss) or loss < 0:
        raise ValueError(f"evaluate {whose}'s validation loss is {loss}, not a score: {fix}")
    return loss
