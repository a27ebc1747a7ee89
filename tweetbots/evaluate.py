"""Judge a fine-tuned model honestly: held-out loss against its base, samples, copying.

- validation loss / perplexity of the base and the fine-tuned model on the same blocks;
- samples with the original's settings: prompt prefixed with `<|endoftext|>`, nucleus
  sampling, each sample cut at its first newline;
- memorisation rate: the share of samples that reproduce N consecutive words of a
  training post (a bot that copies is not writing "like" someone);
- distinct-2: unique word bigrams over all bigrams (a bot that repeats itself scores low).
"""

from __future__ import annotations

import logging
import math
import re
from contextlib import contextmanager
from pathlib import Path
from pickle import UnpicklingError
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from tweetbots import progress

if TYPE_CHECKING:
    from tweetbots.stages.evaluate import EvalSettings

log = logging.getLogger(__name__)

EOS = "<|endoftext|>"


class Sample(BaseModel):
    prompt: str
    text: str


class EvalReport(BaseModel):
    base_loss: float
    base_perplexity: float
    loss: float
    perplexity: float
    validation_tokens: int
    samples: list[Sample]
    memorisation_rate: float
    distinct_2: float


def validation_loss(model_dir: Path, blocks: np.ndarray, batch_size: int = 8) -> float:
    """Mean next-token cross-entropy over all blocks (token-weighted)."""
    import torch
    from transformers import AutoModelForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()
    data = torch.from_numpy(blocks.astype(np.int64))
    total, count = 0.0, 0
    starts = progress.bar(range(0, len(data), batch_size), desc="validation loss", unit="batch")
    with torch.inference_mode():
        for start in starts:
            batch = data[start : start + batch_size].to(device)
            loss = model(input_ids=batch, labels=batch).loss.item()
            n_predicted = batch.shape[0] * (batch.shape[1] - 1)
            total, count = total + loss * n_predicted, count + n_predicted
    return total / max(count, 1)


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 50.0))  # capped: an untrained model must not overflow


class ModelDirError(ValueError):
    """A folder that cannot be sampled from: one line naming it and the fix."""


_MODEL_FIX = (
    "pass the folder that `tweetbots train` printed as `model:` (config.json, the weights "
    "and the tokenizer's files)"
)
# A lone UTF-16 surrogate (an undecodable byte of a command-line argument, half an emoji)
# cannot be tokenized.
_SURROGATE = re.compile("[\ud800-\udfff]")


def sample_predictions(model_dir: Path, settings: EvalSettings) -> list[Sample]:
    """`samples_per_prompt` samples per prompt with the original sampling settings.

    A sample is `max_length` tokens, prompt included (the original's setting); a prompt
    too long to leave `min_length` tokens for the bot keeps its end, and says so.
    """
    import torch

    tokenizer, model = load_for_sampling(model_dir)
    torch.manual_seed(settings.seed)
    context = getattr(model.config, "max_position_embeddings", None) or settings.max_length
    max_length = min(settings.max_length, context)
    # The bot's room: the original's min_length, at least one token.
    room = min(max(settings.min_length, 1), max_length - 1)
    samples = []
    for prompt in progress.bar(settings.prompts, desc="samples", unit="prompt"):
        ids = _prompt_ids(tokenizer, prompt, max_length, room)
        with torch.inference_mode():
            outputs = model.generate(
                input_ids=torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                do_sample=True,
                top_p=settings.top_p,
                temperature=settings.temperature,
                max_length=max_length,
                min_length=min(settings.min_length, max_length),
                num_return_sequences=settings.samples_per_prompt,
                pad_token_id=tokenizer.eos_token_id,
            )
        for row in outputs:
            text = tokenizer.decode(row, skip_special_tokens=True)
            samples.append(Sample(prompt=prompt, text=sample_text(text)))
    return samples


def _prompt_ids(tokenizer, prompt: str, max_length: int, room: int) -> list[int]:
    """`<|endoftext|>` and the prompt's tokens; a prompt leaving the bot fewer than
    `room` of the `max_length` tokens keeps its end."""
    ids = tokenizer(EOS + _SURROGATE.sub("\ufffd", prompt), verbose=False)["input_ids"]
    most = max_length - room
    if len(ids) <= most:
        return ids
    log.warning(
        "the prompt (%d tokens) is cut to its last %d: a sample is %d tokens, prompt "
        "included, %d of them left for the bot",
        len(ids) - 1,
        most - 1,
        max_length,
        room,
    )
    return ids[:1] + ids[len(ids) - (most - 1) :]


def load_for_sampling(model_dir: Path):
    """(tokenizer, model) of a model folder, or a ModelDirError saying what is wrong."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    _loaded(
        model_dir, "no model config.json to read", lambda: AutoConfig.from_pretrained(model_dir)
    )
    tokenizer = _loaded(
        model_dir, "no tokenizer to read", lambda: AutoTokenizer.from_pretrained(model_dir)
    )
    model, info = _loaded(
        model_dir,
        "weights that cannot be loaded",
        lambda: AutoModelForCausalLM.from_pretrained(model_dir, output_loading_info=True),
    )
    missing = sorted(info["missing_keys"])
    if missing:  # transformers would sample from random weights in their place
        raise ModelDirError(
            f"{model_dir}: its weights lack {len(missing)} of the model's tensors (such as "
            f"{missing[0]}); {_MODEL_FIX}"
        )
    vocabulary = model.get_input_embeddings().num_embeddings
    if not tokenizer("I think that", verbose=False)["input_ids"] or len(tokenizer) > vocabulary:
        raise ModelDirError(
            f"{model_dir}: its tokenizer ({len(tokenizer)} tokens) does not fit the model "
            f"({vocabulary} tokens); {_MODEL_FIX}"
        )
    return tokenizer, model.eval()


def _loaded(model_dir: Path, what: str, load):
    from safetensors import SafetensorError

    try:
        with _transformers_quiet():
            return load()
    except (OSError, ValueError, RuntimeError, EOFError, SafetensorError, UnpicklingError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ModelDirError(f"{model_dir} has {what} ({reason}): {_MODEL_FIX}") from exc


@contextmanager
def _transformers_quiet():
    """transformers' warnings off while loading: what they report (a multi-line table of
    missing weights) is refused above in one line."""
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)


# C0 and C1 control characters become spaces: a sampled ESC or CSI would otherwise drive
# the terminal that `tweetbots generate` prints to, and means nothing in a card.
_CONTROLS_TO_SPACE = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)], " ")


def sample_text(decoded: str) -> str:
    """A decoded sample as shown: its first line, control characters as spaces, without
    the U+FFFD left at the end when max_length cut a multi-byte character (one inside the
    text is the model's own)."""
    line = decoded.split("\n")[0].translate(_CONTROLS_TO_SPACE)
    return line.strip().rstrip("\ufffd").rstrip()


def memorisation_rate(samples: list[Sample], training_texts: list[str], n_words: int) -> float:
    """Share of samples containing `n_words` consecutive words of one training post."""
    seen = {gram for text in training_texts for gram in _word_ngrams(text, n_words)}
    copied = sum(any(g in seen for g in _word_ngrams(s.text, n_words)) for s in samples)
    return copied / max(len(samples), 1)


def distinct_2(samples: list[Sample]) -> float:
    bigrams = [gram for s in samples for gram in _word_ngrams(s.text, 2)]
    return len(set(bigrams)) / max(len(bigrams), 1)


def _word_ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    words = text.split()
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def render_predictions_png(samples: list[Sample], title: str, path: Path) -> None:
    """A picture of the samples, used as the card's thumbnail (like the original's)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=18)
    lines = [title, ""] + [f"{s.text}"[:110] for s in samples]
    image = Image.new("RGB", (1200, 40 + 30 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        colour = "#1d4ed8" if row == 0 else "#111827"
        draw.text((20, 20 + 30 * row), line, fill=colour, font=font)
    image.save(path)
