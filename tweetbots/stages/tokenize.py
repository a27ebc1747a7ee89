"""tokenize: the clean posts as packed blocks of the base model's token ids.

Posts are split into train and validation by a hash of their id (a post never changes
side as the data grows), users are balanced on the train side only (a repeated post can
never leak into validation), and each side is joined with the end-of-text token and cut
into blocks of the context length. Output: `train.npy`, `val.npy`.
"""

from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from tweetbots import encode
from tweetbots.stages import output_key_of
from tweetbots.store import OutputKey, StageOutput, produce

NAME = "tokenize"
CODE = (__name__, "tweetbots.encode")
# Fewer held-out tokens than this measure nothing: perplexity would be noise or NaN.
MIN_VALIDATION_TOKENS = 32


class TokenizeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    block_size: Annotated[
        int, Field(ge=8, le=8192, description="tokens per training block (capped at the context)")
    ] = 1024
    val_fraction: Annotated[
        float, Field(gt=0, lt=0.5, description="share of posts held out for validation")
    ] = 0.1
    seed: Annotated[int, Field(description="seed of the cyborg balancing shuffle")] = 42


def output_key(cleaned: StageOutput, base: StageOutput, settings: TokenizeSettings) -> OutputKey:
    return output_key_of(NAME, CODE, [cleaned, base], settings.model_dump(mode="json"))


def run(cleaned: StageOutput, base: StageOutput, settings: TokenizeSettings) -> StageOutput:
    """Split posts by id hash, balance users (train only), pack into token blocks."""
    return produce(
        output_key(cleaned, base, settings), lambda tmp: _build(cleaned, base, settings, tmp)
    )


def _build(cleaned: StageOutput, base: StageOutput, settings: TokenizeSettings, tmp) -> dict:
    from transformers import AutoConfig, AutoTokenizer

    model_dir = base.summary["model_dir"]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    block = min(settings.block_size, AutoConfig.from_pretrained(model_dir).n_positions)
    posts = pd.read_parquet(cleaned.path / "posts.parquet")
    val_mask = encode.is_validation(posts["id"], settings.val_fraction)
    splits = {
        "train": encode.balance_users(posts[~val_mask], seed=settings.seed),
        "val": posts[val_mask],
    }
    dtype = encode.smallest_dtype(len(tokenizer))
    counts = {}
    for split, frame in splits.items():
        ids = encode.encode_texts(frame["text"].tolist(), tokenizer)
        blocks = encode.pack_blocks(ids, tokenizer.eos_token_id, block)
        np.save(tmp / f"{split}.npy", blocks.astype(dtype))
        counts[split] = {"posts": len(frame), "blocks": len(blocks), "tokens": int(blocks.size)}
    _require_validation(cleaned.bot, counts["val"], settings)
    return {"block_size": block, "settings": settings.model_dump(), **counts}


def _require_validation(bot: str, val: dict, settings: TokenizeSettings) -> None:
    """Fail before training, not with a NaN score after it, when nothing is held out."""
    if val["tokens"] < MIN_VALIDATION_TOKENS:
        raise ValueError(
            f"bot {bot!r}: only {val['tokens']} validation tokens from {val['posts']} posts "
            f"({MIN_VALIDATION_TOKENS} needed to judge the model): add posts, or raise "
            f"tokenize.val_fraction above {settings.val_fraction}"
        )
