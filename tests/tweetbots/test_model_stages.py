"""Base model, fine-tune and evaluate on the real tiny GPT-2 (CPU, seconds)."""

import functools
import json
import random

import numpy as np
import pandas as pd
import pytest

from tweetbots.basemodel import BaseModelError, build_tiny_model, fetch_pretrained, pinned_revision
from tweetbots.encode import encode_texts, pack_blocks
from tweetbots.evaluate import (
    Sample,
    distinct_2,
    memorisation_rate,
    sample_predictions,
    sample_text,
    validation_loss,
)
from tweetbots.stages import base_model
from tweetbots.stages import evaluate as evaluate_stage
from tweetbots.stages.evaluate import DEFAULT_PROMPTS, EvalSettings
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.store import StageOutput
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
    assert fetch_pretrained(str(directory), pinned_revision(str(directory))) == directory


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


def test_saved_model_samples_like_the_original_in_a_local_pipeline(trained):
    """transformers 5's pipeline reads generation_config.json and config.prefix."""
    from transformers import AutoConfig, GenerationConfig

    model, _ = trained
    generation = GenerationConfig.from_pretrained(model)
    assert generation.do_sample is True
    assert (generation.top_p, generation.temperature) == (0.95, 1.0)
    assert (generation.max_length, generation.min_length) == (160, 10)
    assert AutoConfig.from_pretrained(model).prefix == "<|endoftext|>"


def test_samples_are_cut_at_the_first_newline_and_seeded(trained):
    model, _ = trained
    settings = EvalSettings(prompts=["bread"], samples_per_prompt=3)
    first = sample_predictions(model, settings)
    assert len(first) == 3 and all("\n" not in s.text for s in first)
    assert first == sample_predictions(model, settings)


def test_a_prompt_too_long_for_a_sample_keeps_its_end(trained, caplog):
    """A sample is 160 tokens, prompt included; a longer prompt keeps its last 149 (the
    original's min_length of 10 left for the bot, and <|endoftext|> before it)."""
    from transformers import AutoTokenizer

    model, _ = trained
    prompt = " ".join(_texts(80, seed=3))
    prompt_ids = AutoTokenizer.from_pretrained(model)(prompt)["input_ids"]
    assert len(prompt_ids) > 300  # past the tiny model's 256 of context too
    with caplog.at_level("WARNING", logger="tweetbots.evaluate"):
        [sample] = sample_predictions(model, EvalSettings(prompts=[prompt], samples_per_prompt=1))
    kept = AutoTokenizer.from_pretrained(model).decode(prompt_ids[-149:]).strip()
    assert sample.text.startswith(kept) and len(sample.text) > len(kept)
    assert any("cut to its last 149" in r.getMessage() for r in caplog.records)


def test_a_multi_byte_character_cut_at_max_length_leaves_no_replacement_character(tiny):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny[0])
    cut = tokenizer.decode(tokenizer("I think that 🍞")["input_ids"][:-1])
    assert cut.endswith("\ufffd")  # the emoji's last byte fell past max_length
    assert sample_text(cut) == "I think that"
    assert sample_text("a \ufffd b \ufffd\ufffd\nnext line") == "a \ufffd b"  # only trailing


def test_a_sample_cannot_drive_the_terminal_it_is_printed_to():
    sampled = "\x1b]0;owned\x07red \x1b[31mtext\x9b2J\tend\r\nnext line"
    shown = sample_text(sampled)
    assert shown == "]0;owned red  [31mtext 2J end"
    assert all(ch.isprintable() for ch in shown)


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
    texts = _texts(200, 1)
    posts = pd.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts})
    posts.to_parquet(tmp_path / "clean" / "posts.parquet", index=False)
    stage = functools.partial(StageOutput, bot="bot")
    return evaluate_stage.run(
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
    with pytest.raises(BaseModelError, match="`hf download distilgpt2`") as error:
        pinned_revision("distilgpt2")
    assert "\n" not in str(error.value)


def test_fine_tune_batches_cover_each_block_once_per_epoch(tiny):
    from tweetbots.train import batch_schedule

    schedule = batch_schedule(10, TrainSettings(epochs=2, batch_size=3, grad_accum=2))
    indices = np.concatenate([m for step in schedule for m in step])
    assert sorted(indices[:10]) == list(range(10)) and len(indices) == 20


def test_training_loads_a_bf16_base_in_fp32(tiny, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from tweetbots.train import load_for_training

    AutoModelForCausalLM.from_pretrained(tiny[0]).to(torch.bfloat16).save_pretrained(tmp_path)
    model = load_for_training(tmp_path, "cpu", compile_model=False)
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def _local_base(tiny, directory):
    """A copy of the tiny base: a local directory whose weights a test may replace."""
    import shutil

    shutil.copytree(tiny[0], directory)
    return directory


def _clean_output():
    from tweetbots.store import StageOutput

    # A Hub or local base does not read the corpus: only `tiny` is built from it.
    return StageOutput(stage="clean", bot="bot", path="/nowhere", fingerprint="0" * 16)


def test_new_weights_in_a_local_base_directory_are_a_new_base(tiny, tmp_path, data_root):
    from transformers import AutoModelForCausalLM

    local = _local_base(tiny, tmp_path / "mine")
    first = base_model.run(str(local), _clean_output())
    assert first.path == base_model.output_key(str(local), _clean_output()).path

    model = AutoModelForCausalLM.from_pretrained(local)
    model.transformer.wte.weight.data.mul_(2)  # retrained in place: same files, new bytes
    model.save_pretrained(local)

    second = base_model.run(str(local), _clean_output())
    assert second.path != first.path
    assert second.summary["revision"] != first.summary["revision"]
    assert second.path.parent == first.path.parent


TOKEN = "hf_fake_read_token_0123456789"


@pytest.fixture
def online_hub(monkeypatch, tmp_path):
    """The fake Hub of test_publish_hub.py, huggingface_hub online and pointed at it."""
    from huggingface_hub import constants

    from tests.fakes.hub import FakeHub

    with FakeHub(TOKEN) as fake:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
        monkeypatch.setattr(constants, "ENDPOINT", fake.url)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        yield fake


def test_misspelt_hub_id_online_is_its_own_one_line_error(online_hub):
    with pytest.raises(BaseModelError) as error:
        pinned_revision("me/gtp2")
    assert str(error.value).startswith("no model 'me/gtp2' on the Hub: check the id")
    assert "\n" not in str(error.value)


def test_a_hub_base_is_named_by_the_hubs_commit_before_the_download(
    online_hub, tiny, tmp_path, monkeypatch, data_root
):
    import huggingface_hub

    from tests.fakes.hub import Repo

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    repo = online_hub.repos["me/base"] = Repo()
    repo.commit("first weights", "", {"config.json": b"{}"})
    downloads = []

    def snapshot_download(repo_id, revision=None, **_):
        # The fake Hub serves no files: stand in for the download of one commit.
        downloads.append(revision)
        return _local_base(tiny, tmp_path / "snapshots" / str(revision))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    key = base_model.output_key("me/base", _clean_output()).path  # a fresh cache: nothing local
    base = base_model.run("me/base", _clean_output())
    assert base.path == key and downloads == [repo.head]
    assert base.summary["revision"] == repo.head
    assert base.summary["model_dir"].endswith(repo.head)

    repo.commit("new weights", "", {"config.json": b'{"n": 1}'})
    assert base_model.output_key("me/base", _clean_output()).path != key
