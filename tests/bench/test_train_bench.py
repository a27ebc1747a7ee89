"""bench/train.py still runs: a GPU session has minutes for it, none to debug it."""

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"


def _bench_module():
    sys.path.insert(0, str(BENCH))  # bench/train.py imports bench/clean.py as `clean`
    try:
        spec = importlib.util.spec_from_file_location("bench_train", BENCH / "train.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize(
    ("device", "tflops"),
    [
        ("NVIDIA H100 80GB HBM3", 989),
        ("NVIDIA H100 PCIe", 756),
        ("NVIDIA H200", 989),
        ("NVIDIA A100-SXM4-80GB", 312),
        ("NVIDIA GeForce RTX 4090", None),  # unknown: MFU n/a unless --peak-tflops
    ],
)
def test_mfu_uses_the_dense_bf16_peak_of_the_gpu_torch_names(device, tflops):
    peak = _bench_module().peak_flops(device, None)
    assert peak == (tflops * 1e12 if tflops else None)


def test_flops_per_token_is_nanogpts_for_gpt2_124m():
    from transformers import GPT2Config

    bench = _bench_module()
    config = GPT2Config()
    n_params = 124_439_808 - config.n_positions * config.n_embd  # tied head, less positions
    # GPT-2 124M at T=1024: 6N = 0.74 GFLOP per token, attention 0.11 more.
    flops = bench.flops_per_token(config, n_params, 1024)
    assert flops == 6 * n_params + 12 * 12 * 12 * 64 * 1024
    assert 0.85e9 < flops < 0.86e9


@pytest.mark.slow
def test_the_cpu_smoke_run_measures_both_steps_and_trains_one_bot():
    run = subprocess.run(
        [sys.executable, str(BENCH / "train.py"), "--small", "--steps", "3", "--warmup", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = dict(re.findall(r"^(baseline \(original\)|ours)\s+\d+ .* (\d+\.\d)x", run.stdout, re.M))
    assert set(rows) == {"baseline (original)", "ours"}, run.stdout
    assert rows["baseline (original)"] == "1.0" and float(rows["ours"]) > 0
    bot = re.search(r"= (\d+) steps of 8; final loss (\d+\.\d+)", run.stdout)
    assert bot, run.stdout
    # 130 train blocks x 4 epochs in steps of 8; trained below the uniform guess's loss.
    assert int(bot.group(1)) == 65 and float(bot.group(2)) < math.log(1024)
    assert re.search(r"= \d+\.\d s end to end", run.stdout)
