"""Real tiny GPT-2 models for the tests (CPU, seconds), built once per session.

A pytest plugin (registered in tests/conftest.py): the base model, training, evaluation
and CLI tests share these fixtures.
"""

import random
from pathlib import Path

import pytest

from tweetbots.basemodel import build_tiny_model
from tweetbots.encode import encode_texts, pack_blocks
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.train import fine_tune

WORDS = "bread dough oven crust flour rise bake sourdough starter knead loaf warm".split()


def texts(n: int, seed: int = 0, words: list[str] = WORDS) -> list[str]:
    """`n` posts of 5 to 15 of `words`, the same for the same seed."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(5, 15))) for _ in range(n)]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """(the tiny base's directory, training blocks, validation blocks) of 64 tokens."""
    from transformers import AutoTokenizer

    directory = tmp_path_factory.mktemp("tiny")
    build_tiny_model(texts(400), directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    train = pack_blocks(encode_texts(texts(400, 1), tokenizer), tokenizer.eos_token_id, 64)
    val = pack_blocks(encode_texts(texts(60, 2), tokenizer), tokenizer.eos_token_id, 64)
    return directory, train, val


@pytest.fixture(scope="session")
def trained(tiny, tmp_path_factory):
    """(the tiny base fine-tuned on its training blocks: its directory, its metrics)."""
    base, train, _ = tiny
    out = tmp_path_factory.mktemp("model")
    metrics = fine_tune(base, train, TrainSettings(epochs=3, batch_size=8), 3e-3, out)
    return out, metrics


@pytest.fixture(scope="session")
def gpt2_in_hf_cache(session_dir):
    """A small model stored as `gpt2` in the session's HF cache, laid out as the Hub does."""
    from huggingface_hub.constants import HF_HUB_CACHE

    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = Path(HF_HUB_CACHE) / "models--gpt2"
    build_tiny_model(
        [f"a post about bread number {i}" for i in range(200)], repo / "snapshots" / revision
    )
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    return revision
