"""`fine_tune` under torch.compile, and on CUDA with bf16.

Inductor needs over a minute on the 2-core CPU box to compile even the tiny model (73 s
measured, cold cache), so on the CPU the compile path runs with a recording backend:
dynamo really captures the model's graphs and `fine_tune` really gets the compiled
wrapper (checkpoints, resume and save must see through it); only inductor's code
generation is left out. Inductor itself, and bf16, run in the `gpu` tests.
"""

import functools

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tweetbots.basemodel import build_tiny_model
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.train import CHECKPOINT, fine_tune

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
