"""fine-tune: the base model trained on the bot's token blocks.

A plain PyTorch loop (`tweetbots.train`) with the original's hyper-parameters by default.
Checkpoints are kept beside the output while it trains, so a killed run resumes where
it stopped; the output is a standard `save_pretrained` directory (safetensors), with the
run's metrics in `metrics.json`.
"""

import shutil
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tweetbots import train
from tweetbots.stages import output_key_of
from tweetbots.store import OutputKey, StageOutput, produce

NAME = "fine-tune"
CODE = (__name__, "tweetbots.train")
ORIGINAL_LEARNING_RATE = 1.372e-4
# A tiny model trained from scratch learns nothing at the fine-tuning rate above.
TINY_LEARNING_RATE = 3e-3


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: Annotated[float, Field(gt=0, le=100, description="passes over the train blocks")] = 4
    learning_rate: Annotated[
        float | None,
        Field(gt=0, lt=1, description="peak learning rate; empty: the original's (tiny: 3e-3)"),
    ] = None
    batch_size: Annotated[int, Field(ge=1, le=512, description="blocks per micro-batch")] = 1
    grad_accum: Annotated[
        int, Field(ge=1, le=512, description="micro-batches per optimizer step")
    ] = 1
    seed: Annotated[int, Field(description="seed of the weights' shuffle and dropout")] = 42
    device: Annotated[
        Literal["auto", "cpu", "cuda"], Field(description="auto: CUDA when there is one")
    ] = "auto"
    compile: Annotated[bool, Field(description="torch.compile the model (CUDA)")] = False
    checkpoint_every: Annotated[
        int, Field(ge=1, description="steps between checkpoints a killed run resumes from")
    ] = 200

    def learning_rate_for(self, base_model: str) -> float:
        """The original's rate for pretrained bases; a higher one for `tiny`."""
        if self.learning_rate is not None:
            return self.learning_rate
        return TINY_LEARNING_RATE if base_model == "tiny" else ORIGINAL_LEARNING_RATE


def output_key(tokens: StageOutput, base: StageOutput, settings: TrainSettings) -> OutputKey:
    return output_key_of(NAME, CODE, [tokens, base], settings.model_dump(mode="json"))


def run(
    tokens: StageOutput,
    base: StageOutput,
    settings: TrainSettings,
    *,
    on_progress: train.ProgressCallback | None = None,
) -> StageOutput:
    """Fine-tune the base on the train blocks; save a standard save_pretrained dir."""
    key = output_key(tokens, base, settings)
    # Beside the output, not inside its temp dir: it must survive a killed process.
    checkpoints = key.path.with_name(f"{key.path.name}.checkpoint")
    output = produce(key, lambda tmp: _build(tokens, base, settings, tmp, checkpoints, on_progress))
    shutil.rmtree(checkpoints, ignore_errors=True)
    return output


def _build(tokens, base, settings: TrainSettings, tmp: Path, checkpoints: Path, on_progress):
    metrics = train.fine_tune(
        Path(base.summary["model_dir"]),
        np.load(tokens.path / "train.npy"),
        settings,
        settings.learning_rate_for(base.summary["model"]),
        tmp,
        checkpoints,
        on_progress,
    )
    (tmp / "metrics.json").write_text(metrics.model_dump_json(indent=2))
    return {"settings": settings.model_dump(), **metrics.model_dump()}
