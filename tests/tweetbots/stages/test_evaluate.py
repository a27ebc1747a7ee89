"""The evaluate stage: a score that is not a number must fail here, never reach a card."""

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.fakes.stages import finished_output
from tweetbots.basemodel import build_tiny_model
from tweetbots.stages import evaluate
from tweetbots.stages.evaluate import EvalSettings


def test_a_model_whose_validation_loss_is_not_a_number_fails_the_stage(data_root):
    texts = [f"post number {i} about bread and ovens and flour" for i in range(200)]
    base_dir = data_root / "tiny"
    build_tiny_model(texts, base_dir)
    fine_tuned = finished_output("fine-tune", data_root / "fine-tune" / "bot" / "m1")
    diverged = fine_tuned.path
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    with torch.no_grad():
        model.transformer.wte.weight.fill_(float("nan"))  # what a diverged run saves
    model.save_pretrained(diverged)
    build_tiny_model(texts, data_root / "tokenizer-only")  # the tokenizer beside it
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (diverged / name).write_bytes((data_root / "tokenizer-only" / name).read_bytes())

    tokens = finished_output(
        "tokenize", data_root / "tokenize" / "bot" / "t1", settings={"val_fraction": 0.1}
    )
    np.save(tokens.path / "val.npy", np.random.default_rng(0).integers(0, 200, (4, 32)))
    cleaned = finished_output("clean", data_root / "clean" / "bot" / "c1")
    pd.DataFrame({"id": ["1"], "text": ["a post"]}).to_parquet(cleaned.path / "posts.parquet")
    base = finished_output(
        "base-model", data_root / "base-model" / "bot" / "b1", model="tiny", model_dir=str(base_dir)
    )

    with pytest.raises(ValueError, match="not a score") as error:
        evaluate.run(fine_tuned, base, tokens, cleaned, EvalSettings(prompts=["I"]))
    assert "fine-tuned model" in str(error.value) and "learning_rate" in str(error.value)
    assert not (data_root / "evaluate").exists() or not list(
        (data_root / "evaluate").rglob("manifest.json")
    )
