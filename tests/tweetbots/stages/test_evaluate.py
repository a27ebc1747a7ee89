"""The evaluate stage: the report and the picture it writes; a score that is not a number
must fail here, never reach a card."""

import functools
import json

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.fakes.models import texts
from tests.fakes.stages import finished_output
from tweetbots.basemodel import build_tiny_model
from tweetbots.stages import evaluate
from tweetbots.stages.evaluate import DEFAULT_PROMPTS, EvalSettings
from tweetbots.store import StageOutput


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


# -- the report and the picture ---------------------------------------------------------


def test_evaluate_stage_writes_the_report_and_a_picture(tiny, trained, data_root, tmp_path):
    from PIL import Image

    out = _run_evaluate(tiny, trained, tmp_path).path
    report = json.loads((out / "report.json").read_text())
    for key in ("base_loss", "base_perplexity", "loss", "perplexity"):
        assert np.isfinite(report[key]) and report[key] > 0
    settings = EvalSettings()
    assert [s["prompt"] for s in report["samples"]] == [
        p for p in DEFAULT_PROMPTS for _ in range(settings.samples_per_prompt)
    ]
    assert all(isinstance(s["text"], str) for s in report["samples"])
    assert 0 <= report["memorisation_rate"] <= 1 and 0 <= report["distinct_2"] <= 1
    with Image.open(out / "predictions.png") as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width >= 600 and height >= 20 * len(report["samples"])


def _run_evaluate(tiny, trained, tmp_path) -> StageOutput:
    """The evaluate stage on the tiny base, its fine-tuned model and held-out posts."""
    base_dir, _, val = tiny
    (tmp_path / "tokens").mkdir()
    np.save(tmp_path / "tokens" / "val.npy", val)
    (tmp_path / "clean").mkdir()
    kept = texts(200, 1)
    posts = pd.DataFrame({"id": [str(i) for i in range(len(kept))], "text": kept})
    posts.to_parquet(tmp_path / "clean" / "posts.parquet", index=False)
    stage = functools.partial(StageOutput, bot="bot")
    return evaluate.run(
        stage(stage="fine-tune", path=trained[0], fingerprint="m1"),
        stage(
            stage="base-model",
            path=base_dir,
            fingerprint="b1",
            summary={"model": "tiny", "model_dir": str(base_dir)},
        ),
        stage(
            stage="tokenize",
            path=tmp_path / "tokens",
            fingerprint="t1",
            summary={"settings": {"val_fraction": 0.1}},
        ),
        stage(stage="clean", path=tmp_path / "clean", fingerprint="c1"),
        EvalSettings(),
    )
