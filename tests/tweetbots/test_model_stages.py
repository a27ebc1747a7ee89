"""Base model, fine-tune and evaluate on the real tiny GPT-2 (CPU, seconds)."""

import json
import random

import numpy as np
import pytest

from tweetbots.basemodel import BaseModelError, build_tiny_model, resolve_pretrained
from tweetbots.config import EvalSettings, TrainSettings
from tweetbots.encode import encode_texts, pack_blocks
from tweetbots.evaluate import (
    Sample,
    distinct_2,
    memorisation_rate,
    sample_predictions,
    validation_loss,
)
from tweetbots.train import cosine_lr, fine_tune

WORDS = "bread dough oven crust flour rise bake sourdough starter knead loaf warm".split()


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 15))) for _ in range(n)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoTokenizer

    directory = tmp_path_factory.mktemp("tiny")
    build_tiny_model(_texts(400), directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    train = pack_blocks(encode_texts(_texts(400, 1), tokenizer), tokenizer.eos_token_id, 64)
    val = pack_blocks(encode_texts(_texts(60, 2), tokenizer), tokenizer.eos_token_id, 64)
    return directory, train, val


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    base, train, _ = tiny
    out = tmp_path_factory.mktemp("model")
    metrics = fine_tune(base, train, TrainSettings(epochs=3, batch_size=8), 3e-3, out)
    return out, metrics


def test_tiny_base_is_a_standard_directory(tiny):
    directory, _, _ = tiny
    assert (directory / "model.safetensors").is_file()
    assert json.loads((directory / "config.json").read_text())["n_layer"] == 2
    assert resolve_pretrained(str(directory))[0] == directory


def test_fine_tune_learns_the_corpus(tiny, trained):
    base, _, val = tiny
    model, metrics = trained
    assert metrics.steps > 0 and metrics.tokens_per_s > 0
    # A random base is near ln(vocab); the trained model must be far below it.
    assert validation_loss(model, val) < validation_loss(base, val) - 1.5


def test_saved_model_carries_the_original_sampling_settings(trained):
    model, _ = trained
    config = json.loads((model / "config.json").read_text())
    params = config["task_specific_params"]["text-generation"]
    assert params == {
        "do_sample": True,
        "min_length": 10,
        "max_length": 160,
        "temperature": 1.0,
        "top_p": 0.95,
        "prefix": "<|endoftext|>",
    }
    assert (model / "model.safetensors").is_file() and (model / "tokenizer.json").is_file()


def test_samples_are_cut_at_the_first_newline_and_seeded(trained):
    model, _ = trained
    settings = EvalSettings(prompts=["bread"], samples_per_prompt=3)
    first = sample_predictions(model, settings)
    assert len(first) == 3 and all("\n" not in s.text for s in first)
    assert first == sample_predictions(model, settings)


def test_cosine_schedule_has_no_warmup():
    assert cosine_lr(0, 100, 1.0) == 1.0
    assert cosine_lr(50, 100, 1.0) == pytest.approx(0.5)
    assert cosine_lr(100, 100, 1.0) == pytest.approx(0.0)


def test_memorisation_counts_samples_copying_eight_words():
    train = ["one two three four five six seven eight nine"]
    copied = Sample(prompt="p", text="so one two three four five six seven eight")
    fresh = Sample(prompt="p", text="one two three four five six seven nine")
    assert memorisation_rate([copied, fresh], train, 8) == 0.5


def test_distinct_2():
    assert distinct_2([Sample(prompt="", text="a b a b")]) == pytest.approx(2 / 3)


def test_unknown_base_model_offline_says_how_to_fetch(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BaseModelError, match="huggingface-cli download") as error:
        resolve_pretrained("distilgpt2")
    assert "\n" not in str(error.value)


def test_fine_tune_batches_cover_each_block_once_per_epoch(tiny):
    from tweetbots.train import _batch_schedule

    schedule = _batch_schedule(10, TrainSettings(epochs=2, batch_size=3, grad_accum=2))
    indices = np.concatenate([m for step in schedule for m in step])
    assert sorted(indices[:10]) == list(range(10)) and len(indices) == 20
