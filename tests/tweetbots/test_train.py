"""Fine-tuning (tweetbots/train.py) on the real tiny GPT-2: it learns, saves the original's
sampling settings, resumes a killed run from its checkpoint exactly, and trains under
torch.compile and on CUDA with bf16.

Inductor needs over a minute on the 2-core CPU box to compile even the tiny model (73 s
measured, cold cache), so on the CPU the compile path runs with a recording backend:
dynamo really captures the model's graphs and `fine_tune` really gets the compiled
wrapper (checkpoints, resume and save must see through it); only inductor's code
generation is left out. Inductor itself, and bf16, run in the `gpu` tests.
"""

import functools
import json
import subprocess
import sys
import time
from datetime import datetime

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tweetbots.basemodel import build_tiny_model
from tweetbots.evaluate import (
    validation_loss,
)
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.train import CHECKPOINT, batch_schedule, cosine_lr, fine_tune


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


def test_cosine_schedule_has_no_warmup():
    assert cosine_lr(0, 100, 1.0) == 1.0
    assert cosine_lr(50, 100, 1.0) == pytest.approx(0.5)
    assert cosine_lr(100, 100, 1.0) == pytest.approx(0.0)


def test_fine_tune_batches_cover_each_block_once_per_epoch(tiny):
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


# -- a killed run resumes from its checkpoint -------------------------------------------


SETTINGS = {"epochs": 20, "batch_size": 2, "checkpoint_every": 5}
TRAIN_SCRIPT = """
import sys, numpy as np
from pathlib import Path
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.train import fine_tune
base, blocks, out, ckpt = map(Path, sys.argv[1:5])
fine_tune(base, np.load(blocks), TrainSettings(**{settings}), 3e-3, out, ckpt)
"""


@pytest.mark.slow
def test_killed_training_resumes_from_the_last_checkpoint(tmp_path):
    base = tmp_path / "base"
    build_tiny_model([f"post number {i} about bread and ovens" for i in range(300)], base)
    blocks = np.random.default_rng(0).integers(0, 250, size=(40, 32))
    np.save(tmp_path / "blocks.npy", blocks)
    checkpoints = tmp_path / "checkpoints"

    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            TRAIN_SCRIPT.format(settings=SETTINGS),
            str(base),
            str(tmp_path / "blocks.npy"),
            str(tmp_path / "killed"),
            str(checkpoints),
        ]
    )
    deadline = time.monotonic() + 120
    while not (checkpoints / CHECKPOINT).exists() and time.monotonic() < deadline:
        assert process.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    time.sleep(0.5)  # let it get a little past the checkpoint
    process.kill()
    process.wait()
    assert not (tmp_path / "killed" / "model.safetensors").exists()

    metrics = fine_tune(
        base, blocks, TrainSettings(**SETTINGS), 3e-3, tmp_path / "out", checkpoints
    )
    total_steps = 40 * 20 // 2
    assert metrics.resumed_from_step >= 5
    assert metrics.resumed_from_step % 5 == 0 and metrics.resumed_from_step < total_steps
    assert metrics.steps == total_steps

    whole = fine_tune(base, blocks, TrainSettings(**SETTINGS), 3e-3, tmp_path / "whole")
    assert metrics.final_loss == pytest.approx(whole.final_loss, rel=1e-5)
    resumed = load_file(tmp_path / "out" / "model.safetensors")
    uninterrupted = load_file(tmp_path / "whole" / "model.safetensors")
    assert resumed.keys() == uninterrupted.keys()
    for name, tensor in uninterrupted.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.slow
@pytest.mark.parametrize(
    "garbage",
    [b"\x00garbage, not a checkpoint", b"PK\x03\x04 a zip cut short", "pickle"],
    ids=["bytes", "truncated zip", "an arbitrary pickle"],
)
def test_a_garbled_checkpoint_restarts_training_and_never_shows_torchs_advice(
    tmp_path, caplog, garbage
):
    base = tmp_path / "base"
    build_tiny_model([f"post number {i} about bread and ovens" for i in range(300)], base)
    blocks = np.random.default_rng(0).integers(0, 250, size=(8, 32))
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    if garbage == "pickle":  # what weights_only=True refuses: torch suggests False
        torch.save({"step": 3, "model": datetime(2020, 1, 1)}, checkpoints / CHECKPOINT)
    else:
        (checkpoints / CHECKPOINT).write_bytes(garbage)

    settings = TrainSettings(epochs=1, batch_size=2, checkpoint_every=100)
    metrics = fine_tune(base, blocks, settings, 3e-3, tmp_path / "out", checkpoints)

    assert metrics.resumed_from_step == 0 and metrics.steps == 4
    assert (tmp_path / "out" / "model.safetensors").is_file()
    warned = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert warned and str(checkpoints / CHECKPOINT) in warned[0]
    assert "weights_only" not in caplog.text


# -- torch.compile, and CUDA with bf16 --------------------------------------------------


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    base = tmp_path_factory.mktemp("base")
    build_tiny_model([f"post number {i} about bread and ovens" for i in range(300)], base)
    return base


@pytest.fixture
def fresh_dynamo():
    """Compiled code is cached per function: no test may reuse another's backend."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _random_blocks(n: int = 8, length: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 250, size=(n, length))


def _pattern_blocks(n: int = 16, length: int = 32) -> np.ndarray:
    """A repeating sequence: any model that learns at all lowers its loss on it fast."""
    return np.tile(np.arange(3, 3 + length), (n, 1))


def _mean_loss(model_dir, blocks: np.ndarray, device: str) -> float:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()
    batch = torch.from_numpy(blocks).to(device)
    with torch.no_grad():
        return model(input_ids=batch, labels=batch).loss.item()


def test_compile_true_trains_the_compiled_model_and_saves_the_plain_one(
    tiny_base, tmp_path, monkeypatch, fresh_dynamo
):
    graphs = []

    def recording_backend(graph_module, example_inputs):
        graphs.append(graph_module)
        return graph_module.forward  # run the captured graph as is

    monkeypatch.setattr(
        torch, "compile", functools.partial(torch.compile, backend=recording_backend)
    )
    settings = TrainSettings(epochs=1, batch_size=2, checkpoint_every=3, device="cpu")
    checkpoints = tmp_path / "checkpoints"
    blocks = _random_blocks()  # 8 blocks, 2 a step: 4 steps, a checkpoint after the third

    with_compile = settings.model_copy(update={"compile": True})
    compiled = fine_tune(tiny_base, blocks, with_compile, 3e-3, tmp_path / "compiled", checkpoints)
    assert graphs, "compile=True must train through torch.compile"
    plain = fine_tune(tiny_base, blocks, settings, 3e-3, tmp_path / "plain")
    # The recording backend runs the captured graphs eagerly: the same training.
    assert compiled.final_loss == pytest.approx(plain.final_loss, rel=1e-4)

    saved = load_file(tmp_path / "compiled" / "model.safetensors")
    assert saved.keys() == load_file(tmp_path / "plain" / "model.safetensors").keys()
    state = torch.load(checkpoints / CHECKPOINT, weights_only=True)
    assert state["step"] == 3 and state["model"].keys() == _state_keys(tmp_path / "plain")

    resumed = fine_tune(tiny_base, blocks, with_compile, 3e-3, tmp_path / "resumed", checkpoints)
    assert resumed.resumed_from_step == 3 and resumed.steps == 4


def _state_keys(model_dir) -> set[str]:
    """The state dict keys of an uncompiled GPT-2 (no `_orig_mod.` prefix)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_dir).state_dict().keys()


@pytest.mark.gpu
@needs_cuda
def test_bf16_fine_tune_on_cuda_lowers_the_loss(tiny_base, tmp_path):
    blocks = _pattern_blocks()
    settings = TrainSettings(epochs=8, batch_size=4, device="cuda")
    metrics = fine_tune(tiny_base, blocks, settings, 3e-3, tmp_path / "model")
    assert metrics.device == "cuda" and metrics.steps == 32
    before = _mean_loss(tiny_base, blocks, "cuda")
    after = _mean_loss(tmp_path / "model", blocks, "cuda")
    assert after < before - 1.0, (before, after)


@pytest.mark.gpu
@needs_cuda
def test_inductor_compiled_fine_tune_on_cuda_lowers_the_loss(tiny_base, tmp_path, fresh_dynamo):
    blocks = _pattern_blocks()
    settings = TrainSettings(epochs=8, batch_size=4, device="cuda", compile=True)
    metrics = fine_tune(tiny_base, blocks, settings, 3e-3, tmp_path / "model")
    assert metrics.device == "cuda" and metrics.steps == 32
    before = _mean_loss(tiny_base, blocks, "cuda")
    after = _mean_loss(tmp_path / "model", blocks, "cuda")
    assert after < before - 1.0, (before, after)
