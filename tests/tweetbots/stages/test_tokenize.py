"""The tokenize stage: posts into packed token blocks, split by a hash of their ids; hostile
text (NUL, lone surrogates, right-to-left, 100 KB) survives scrape, clean and tokenize."""

import json

import numpy as np
import pandas as pd
import pytest

from tests.fakes.sources import long_posts
from tests.fakes.stages import finished_output, scrape_source
from tweetbots.basemodel import build_tiny_model
from tweetbots.stages import base_model, clean, tokenize
from tweetbots.stages.tokenize import TokenizeSettings

WORDS = "bread oven crumb flour starter loaf crust proof knead bake".split()


def _inputs(data_root, n_posts: int):
    texts = [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(8)) for i in range(n_posts)]
    cleaned = finished_output("clean", data_root / "clean" / "bot" / f"c{n_posts}")
    posts = pd.DataFrame({"id": [str(i) for i in range(n_posts)], "user": "u", "text": texts})
    posts.to_parquet(cleaned.path / "posts.parquet", index=False)
    model_dir = data_root / "tiny"
    build_tiny_model(texts * 10, model_dir)
    base = finished_output(
        "base-model",
        data_root / "base-model" / "bot" / "b1",
        model="tiny",
        model_dir=str(model_dir),
    )
    return cleaned, base


def test_posts_are_packed_into_train_and_validation_blocks(data_root):
    cleaned, base = _inputs(data_root, 300)
    tokens = tokenize.run(cleaned, base, TokenizeSettings(block_size=32))
    train, val = (np.load(tokens.path / f"{split}.npy") for split in ("train", "val"))
    assert train.shape[1] == val.shape[1] == 32
    assert tokens.summary["train"]["posts"] + tokens.summary["val"]["posts"] == 300
    assert 0 < tokens.summary["val"]["posts"] < 60  # about 10%, by the ids' hash


def test_a_validation_split_too_small_to_judge_fails_before_training(data_root):
    """Today's NaN score came from a validation split of one token: refused here."""
    cleaned, base = _inputs(data_root, 5)
    with pytest.raises(ValueError, match="validation tokens") as error:
        tokenize.run(cleaned, base, TokenizeSettings(block_size=32, val_fraction=0.01))
    message = str(error.value)
    assert "\n" not in message and "tokenize.val_fraction" in message and "add posts" in message
    assert not list((data_root / "tokenize" / "bot").glob("*/manifest.json"))


# -- hostile text survives scrape, clean and tokenize -----------------------------------


HOSTILE_TEXTS = {
    "nul bytes": "bread\x00 with a nul byte inside the crumb and oven words",
    "lone surrogate": "a broken emoji \ud83d in the middle of a long enough post",
    "right-to-left": "שלום עולם this bakery post mixes \u202eright-to-left\u202c scripts",
    "100 KB of text": " ".join(["sourdough"] * 10_000) + " end",
}


def test_hostile_text_survives_scrape_clean_and_tokenize(data_root, tmp_path):
    # Lone surrogates only exist in JSON (as an escape): a .jsonl source carries them.
    path = tmp_path / "odd.jsonl"
    records = [{"id": f"h{i}", "text": t} for i, t in enumerate(HOSTILE_TEXTS.values())]
    records += [{"id": str(i), "text": t} for i, t in enumerate(long_posts(120))]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    scrape = scrape_source(f"file:{path}", "odd")
    cleaned = clean.run([scrape])
    base = base_model.run("tiny", cleaned)
    tokens = tokenize.run(cleaned, base, TokenizeSettings(block_size=64))

    kept = pd.read_parquet(cleaned.path / "posts.parquet").set_index("id")["text"]
    nul, surrogate, rtl, big = (kept[f"h{i}"] for i in range(4))
    assert "\x00" in nul
    assert "\ufffd" in surrogate and "\ud83d" not in surrogate
    assert rtl == HOSTILE_TEXTS["right-to-left"]
    assert len(big) == len(HOSTILE_TEXTS["100 KB of text"])
    assert tokens.summary["train"]["tokens"] + tokens.summary["val"]["tokens"] > 10_000
