"""Progress bars for scrape, tokenize and evaluate (fine-tune has its own): drawn on a
terminal, absent from logs and captured output; the results are the same either way."""

import io
import sys

import pandas as pd
import pytest

from tests.fakes.models import texts
from tweetbots import encode, rawstore
from tweetbots.basemodel import build_tiny_model
from tweetbots.evaluate import sample_predictions, validation_loss
from tweetbots.stages.evaluate import EvalSettings

WORDS = "comet nebula lens orbit dusk telescope moon star galaxy night".split()


class Screen(io.StringIO):
    """stderr as tqdm sees it: a terminal, or not."""

    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.fixture(params=[True, False], ids=["terminal", "log file"])
def stderr(request, monkeypatch) -> Screen:
    """A Screen that becomes sys.stderr once the test runs (pytest's capture replaces
    sys.stderr between a fixture's setup and the test)."""
    screen = Screen(terminal=request.param)
    screen.install = lambda: monkeypatch.setattr(sys, "stderr", screen)
    return screen


def assert_bar(stderr: Screen, desc: str, unit: str) -> None:
    drawn = stderr.getvalue()
    if stderr.terminal:
        assert f"{desc}: " in drawn and unit in drawn, drawn
    else:  # not a line of ours in a log (transformers draws its weight loading anyway)
        assert desc not in drawn, drawn


@pytest.fixture(scope="module")
def star_model(tmp_path_factory):
    """(a tiny base built from this module's words, its tokenizer)."""
    from transformers import AutoTokenizer

    directory = tmp_path_factory.mktemp("tiny")
    build_tiny_model(texts(300, words=WORDS), directory)
    return directory, AutoTokenizer.from_pretrained(directory)


def test_scrape_shows_the_posts_it_stores(stderr, tmp_path):
    posts = pd.DataFrame(
        {
            "id": [str(i) for i in range(30)],
            "user": ["ada"] * 20 + ["bob"] * 10,
            "created_at": pd.Timestamp("2024-01-01", tz="UTC"),
            "text": texts(30, words=WORDS),
            "is_retweet": False,
            "is_reply": False,
            "platform": "file",
            "url": "",
        }
    )
    stderr.install()
    users = rawstore.append_posts(posts, tmp_path)
    assert [u["user"] for u in users] == ["ada", "bob"]
    assert_bar(stderr, "scrape: store", "post")


def test_tokenize_shows_the_posts_it_encodes_in_batches(stderr, star_model, monkeypatch):
    _, tokenizer = star_model
    posts = texts(250, seed=1, words=WORDS)
    whole = tokenizer(posts, add_special_tokens=False)["input_ids"]
    monkeypatch.setattr(encode, "ENCODE_BATCH", 64)  # four batches, the last one short
    stderr.install()
    assert encode.encode_texts(posts, tokenizer) == whole  # batching changes no token
    assert_bar(stderr, "tokenize", "post")
    assert encode.encode_texts([], tokenizer) == []


def test_evaluate_shows_the_validation_batches_and_the_prompts(stderr, star_model):
    directory, tokenizer = star_model
    ids = encode.encode_texts(texts(80, seed=2, words=WORDS), tokenizer)
    blocks = encode.pack_blocks(ids, tokenizer.eos_token_id, 32)
    stderr.install()
    assert validation_loss(directory, blocks, batch_size=4) > 0
    assert_bar(stderr, "validation loss", "batch")

    settings = EvalSettings(prompts=["comet", "moon"], samples_per_prompt=1, max_length=16)
    assert len(sample_predictions(directory, settings)) == 2
    assert_bar(stderr, "samples", "prompt")
