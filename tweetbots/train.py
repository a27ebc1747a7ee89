"""Fine-tune a GPT-2-family model on packed blocks: a plain, fast training loop.

nanoGPT-style rather than the HF Trainer: the whole step is visible here. On CUDA it
uses bf16 autocast, SDPA attention, TF32 matmuls and fused AdamW, with optional
torch.compile; on CPU it runs the same loop in fp32. Defaults are the original's:
lr 1.372e-4, cosine to zero without warm-up, 4 epochs, one 1024-token block per step.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from pydantic import BaseModel
from tqdm import tqdm

if TYPE_CHECKING:
    from tweetbots.stages.fine_tune import TrainSettings

log = logging.getLogger(__name__)

# The original stored its sampling settings in the config so the Hub widget used them.
SAMPLING_PARAMS = {
    "do_sample": True,
    "min_length": 10,
    "max_length": 160,
    "temperature": 1.0,
    "top_p": 0.95,
    "prefix": "<|endoftext|>",
}


class TrainMetrics(BaseModel):
    steps: int
    tokens: int
    seconds: float
    tokens_per_s: float
    final_loss: float
    learning_rate: float
    device: str
    resumed_from_step: int = 0


class TrainProgress(NamedTuple):
    """One finished step, for progress bars and metric loggers (W&B) outside the library."""

    step: int
    total: int
    loss: float
    learning_rate: float
    tokens_per_s: float  # since the (re)start


CHECKPOINT = "checkpoint.pt"
ProgressCallback = Callable[[TrainProgress], None]


def pick_device(requested: str) -> str:
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("train device 'cuda' was requested but CUDA is not available: use auto")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def cosine_lr(step: int, total: int, peak: float) -> float:
    """Cosine from `peak` to 0 over `total` steps, no warm-up (the original's schedule)."""
    return 0.5 * peak * (1 + math.cos(math.pi * min(step, total) / max(total, 1)))


def fine_tune(
    base_dir: Path,
    blocks: np.ndarray,
    settings: TrainSettings,
    learning_rate: float,
    out_dir: Path,
    checkpoint_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> TrainMetrics:
    """Train on `blocks` (n_blocks x block_size token ids) and save to `out_dir`.

    With `checkpoint_dir`, state is saved every `settings.checkpoint_every` steps and a
    rerun resumes from it: the batch order is a pure function of the seed and the
    checkpoint holds the random generators' state (dropout), so the resumed run ends
    with the weights the uninterrupted one would have had (on CUDA, up to the float
    nondeterminism of its kernels, which an uninterrupted rerun has too).
    """
    import torch

    device = pick_device(settings.device)
    torch.manual_seed(settings.seed)
    model = load_for_training(base_dir, device, settings.compile)
    optimizer = make_optimizer(model, learning_rate, device)
    start = _resume(model, optimizer, checkpoint_dir)
    batches = batch_schedule(len(blocks), settings)
    data = torch.from_numpy(blocks.astype(np.int64))
    started, loss_value = time.perf_counter(), float("nan")
    progress = tqdm(
        range(start, len(batches)),
        desc="fine-tune",
        unit="step",
        initial=start,
        total=len(batches),
        disable=None,
    )  # disable=None: only on a TTY
    tokens_per_step = settings.batch_size * settings.grad_accum * blocks.shape[1]
    for step in progress:
        step_lr = cosine_lr(step, len(batches), learning_rate)
        for group in optimizer.param_groups:
            group["lr"] = step_lr
        loss_value = train_step(model, optimizer, data, batches[step], device)
        if checkpoint_dir and (step + 1) % settings.checkpoint_every == 0:
            _save_checkpoint(model, optimizer, step + 1, checkpoint_dir)
        rate = (step + 1 - start) * tokens_per_step / max(time.perf_counter() - started, 1e-9)
        if on_progress:
            on_progress(TrainProgress(step + 1, len(batches), loss_value, step_lr, rate))
        if (step + 1) % max(len(batches) // 10, 1) == 0:
            _log_progress(step + 1, len(batches), loss_value, rate)
    seconds = time.perf_counter() - started
    tokens = (len(batches) - start) * tokens_per_step
    _save(model, base_dir, out_dir)
    return TrainMetrics(
        steps=len(batches),
        tokens=tokens,
        seconds=round(seconds, 3),
        tokens_per_s=round(tokens / max(seconds, 1e-9), 1),
        final_loss=loss_value,
        learning_rate=learning_rate,
        device=device,
        resumed_from_step=start,
    )


def _log_progress(step: int, total: int, loss: float, tokens_per_s: float) -> None:
    """About ten lines per run: visible in the Prefect run logs while it trains."""
    log.info("fine-tune step %d/%d loss %.4f %.0f tokens/s", step, total, loss, tokens_per_s)


def _resume(model, optimizer, checkpoint_dir: Path | None) -> int:
    """Load the last checkpoint if there is one; return the step to continue from."""
    import torch

    path = checkpoint_dir / CHECKPOINT if checkpoint_dir else None
    if path is None or not path.is_file():
        return 0
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        step = int(state["step"])
        model_state, optimizer_state = state["model"], state["optimizer"]
    except Exception as error:  # noqa: BLE001 - any unreadable checkpoint: start over
        # A garbled file (a disk error, a copy cut short) costs the steps it saved, never
        # the run; torch's own advice (weights_only=False) would run whatever it holds.
        log.warning(
            "checkpoint %s is unreadable (%s): training from the start",
            path,
            type(error).__name__,
        )
        path.unlink(missing_ok=True)
        return 0
    getattr(model, "_orig_mod", model).load_state_dict(model_state)
    optimizer.load_state_dict(optimizer_state)
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng"):
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    log.info("resuming fine-tune from step %d (%s)", step, path)
    return step


def _save_checkpoint(model, optimizer, step: int, checkpoint_dir: Path) -> None:
    """Written beside, then renamed: a kill during the save keeps the previous one."""
    import torch

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    tmp = checkpoint_dir / f".{CHECKPOINT}.tmp"
    state = {
        "model": getattr(model, "_orig_mod", model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": step,
        # Dropout draws from these: restored, the next steps drop what the killed run's would.
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    torch.save(state, tmp)
    os.replace(tmp, checkpoint_dir / CHECKPOINT)


def load_for_training(base_dir: Path, device: str, compile_model: bool):
    """The base model in fp32, in training mode on `device`: SDPA attention, TF32 on CUDA.

    fp32 whatever the base was saved in: transformers 5 loads the saved dtype by default,
    and a bf16 base would then train in pure bf16; on CUDA, autocast does the bf16.
    """
    import torch
    from transformers import AutoModelForCausalLM

    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model = AutoModelForCausalLM.from_pretrained(
        base_dir, attn_implementation="sdpa", dtype=torch.float32
    )
    model.to(device).train()
    if not compile_model:
        return model
    log.info("torch.compile: the first steps include compiling the model")
    return torch.compile(model)


def batch_schedule(n_blocks: int, settings: TrainSettings) -> list[list[np.ndarray]]:
    """Per optimizer step, its micro-batches of block indices; reshuffled every epoch."""
    rng = np.random.default_rng(settings.seed)
    wanted = math.ceil(n_blocks * settings.epochs)
    order = np.concatenate([rng.permutation(n_blocks) for _ in range(math.ceil(settings.epochs))])[
        :wanted
    ]
    micro = [order[i : i + settings.batch_size] for i in range(0, wanted, settings.batch_size)]
    return [micro[i : i + settings.grad_accum] for i in range(0, len(micro), settings.grad_accum)]


def make_optimizer(model, learning_rate: float, device: str):
    """AdamW without weight decay (the original's); one fused kernel per step on CUDA."""
    import torch

    return torch.optim.AdamW(
        model.parameters(), lr=learning_rate, weight_decay=0.0, fused=device == "cuda"
    )


def train_step(model, optimizer, data, micro_batches, device: str) -> float:
    """One optimizer step over `micro_batches` (block indices into `data`); its mean loss.

    Public so that bench/train.py times exactly the step `fine_tune` runs.
    """
    import torch

    total = 0.0
    for indices in micro_batches:
        batch = data[torch.from_numpy(indices)].to(device, non_blocking=True)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = model(input_ids=batch, labels=batch).loss / len(micro_batches)
        loss.backward()
        total += loss.item()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total


def _save(model, base_dir: Path, out_dir: Path) -> None:
    """A standard save_pretrained directory (safetensors) with the tokenizer beside it."""
    from transformers import AutoTokenizer

    model = getattr(model, "_orig_mod", model)  # unwrap torch.compile
    model.config.task_specific_params = {"text-generation": dict(SAMPLING_PARAMS)}
    # transformers 5's pipeline ignores task_specific_params: it samples with
    # generation_config.json and puts config.prefix before every prompt.
    model.config.prefix = SAMPLING_PARAMS["prefix"]
    model.generation_config.update(**{k: v for k, v in SAMPLING_PARAMS.items() if k != "prefix"})
    model.save_pretrained(out_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(out_dir)
