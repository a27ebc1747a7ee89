"""Kill a real training process mid-run; the rerun continues from its checkpoint and ends
where an uninterrupted run ends (same batch order, same dropout draws)."""

import subprocess
import sys
import time
from datetime import datetime

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tweetbots.basemodel import build_tiny_model
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.train import CHECKPOINT, fine_tune

pytestmark = pytest.mark.slow

SETTINGS = {"epochs": 20, "batch_size": 2, "checkpoint_every": 5}
TRAIN_SCRIPT = """
import sys, numpy as np
from pathlib import Path
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.train import fine_tune
base, blocks, out, ckpt = map(Path, sys.argv[1:5])
fine_tune(base, np.load(blocks), TrainSettings(**{settings}), 3e-3, out, ckpt)
"""


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
