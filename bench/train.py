"""Benchmark: our fine-tuning step against the way the original trained, and one bot.

    python bench/train.py              # GPT-2 124M on 1024-token blocks, on a CUDA GPU
    python bench/train.py --small      # a tiny GPT-2 on the CPU: a smoke run of the bench

Training throughput on packed blocks, each variant in its own child process (its own CUDA
state, TF32 flags, compile cache and peak memory), tokens/s and MFU side by side:

- baseline: the original's way: fp32, one block per step, eager attention, torch's
  default (foreach, non-fused) AdamW, no compile;
- ours: `tweetbots.train.train_step`, the step `fine_tune` runs, on the model and
  optimizer `fine_tune` builds (bf16 autocast, SDPA attention, TF32, fused AdamW on CUDA)
  with a batch of blocks; and the same under torch.compile (CUDA by default, `--compile on`
  elsewhere).

Then one bot end to end, per variant of ours: 3,200 real-looking posts (bench/clean.py's
generator), 4 epochs, timed from the start of the tokenize stage to the saved model,
through the stage modules of `tweetbots.stages` (what the Prefect tasks call), with a cold
torch.compile cache, as a first bot on a fresh machine would have.

The model is built from `GPT2Config()` with random weights, and its tokenizer is a
byte-level BPE trained on the posts (the GPU machine has no network to fetch GPT-2's):
throughput does not depend on the weights, and the posts' token counts are close to what
GPT-2's tokenizer gives. `--base DIR` uses a real save_pretrained directory instead.

MFU is nanoGPT's `estimate_mfu`: 6 N + 12 L H Q T FLOPs per token (N the parameters less
the position embeddings), against the GPU's dense bf16 peak, for the baseline too. The
issue's goals on an H100: MFU >= 40%, >= 3x the baseline, one bot <= 60 s end to end.
"""

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clean import generate_posts  # noqa: E402 (bench/clean.py: the same real-looking posts)

BOT = "benchbot"
POSTS = 3200  # the original's download limit: one bot's worth
EPOCHS = 4
# Dense bf16 tensor-core peak in FLOP/s (NVIDIA data sheets); the first match wins.
PEAK_BF16_FLOPS = (("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("A100", 312e12))


@dataclass(frozen=True)
class Shape:
    """What is trained: the model's size and the blocks it sees."""

    n_layer: int
    n_head: int
    n_embd: int
    vocab_size: int
    block_size: int
    batch_size: int

    @property
    def label(self) -> str:
        return f"GPT-2 {self.n_layer}x{self.n_embd}, {self.block_size}-token blocks"


GPT2_124M = Shape(
    n_layer=12, n_head=12, n_embd=768, vocab_size=50257, block_size=1024, batch_size=16
)
# The size of the `tiny` base model: the smoke run must finish in minutes on 2 CPU cores.
SMALL = Shape(n_layer=2, n_head=2, n_embd=64, vocab_size=1024, block_size=256, batch_size=8)


@dataclass(frozen=True)
class Variant:
    name: str
    batch_size: int
    compile: bool = False
    baseline: bool = False


# -- the model ---------------------------------------------------------------------------


def write_base_model(out_dir: Path, shape: Shape, texts: list[str]) -> None:
    """A BPE tokenizer trained on `texts` and a randomly initialised GPT-2 of `shape`."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    eos = "<|endoftext|>"
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=shape.vocab_size, special_tokens=[eos])
    tokenizer = GPT2TokenizerFast(
        tokenizer_object=bpe._tokenizer, eos_token=eos, bos_token=eos, unk_token=eos
    )
    tokenizer.model_max_length = shape.block_size
    config = GPT2Config(
        n_layer=shape.n_layer,
        n_head=shape.n_head,
        n_embd=shape.n_embd,
        vocab_size=shape.vocab_size,
        n_positions=shape.block_size,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def flops_per_token(config, n_params: int, block_size: int) -> float:
    """nanoGPT's estimate: 6N for the matmuls forward and backward, plus attention's."""
    head_dim = config.n_embd // config.n_head
    return 6 * n_params + 12 * config.n_layer * config.n_head * head_dim * block_size


def peak_flops(device_name: str, override_tflops: float | None) -> float | None:
    if override_tflops:
        return override_tflops * 1e12
    return next((flops for name, flops in PEAK_BF16_FLOPS if name in device_name), None)


# -- throughput (in a child process per variant) ------------------------------------------


def _ours(base_dir: Path, variant: Variant, data, device: str):
    """Our step on the model and optimizer `fine_tune` builds: a batch of blocks a step."""
    import numpy as np

    from tweetbots import train
    from tweetbots.stages.fine_tune import ORIGINAL_LEARNING_RATE

    model = train.load_for_training(base_dir, device, variant.compile)
    optimizer = train.make_optimizer(model, ORIGINAL_LEARNING_RATE, device)
    rng = np.random.default_rng(0)

    def step() -> None:
        batch = rng.integers(0, len(data), size=variant.batch_size)
        train.train_step(model, optimizer, data, [batch], device)

    return model, step


def _baseline(base_dir: Path, data, device: str):
    """The original's way: fp32 (no TF32), eager attention, one block a step, no compile.

    The loss stays on the device, as the HF Trainer keeps it between logging steps.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from tweetbots.stages.fine_tune import ORIGINAL_LEARNING_RATE

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    # fp32 even for a base saved in bf16 (transformers 5 would load it as saved).
    model = AutoModelForCausalLM.from_pretrained(
        base_dir, attn_implementation="eager", dtype=torch.float32
    )
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=ORIGINAL_LEARNING_RATE, weight_decay=0.0)
    position = [0]

    def step() -> None:
        block = data[position[0] % len(data)].unsqueeze(0).to(device)
        position[0] += 1
        model(input_ids=block, labels=block).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return model, step


def measure_throughput(base_dir: str, variant: Variant, steps: int, warmup: int) -> dict:
    """Warm-up steps (compiling, if asked), then `steps` timed steps: tokens/s and more."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    config = _config(base_dir)
    data = torch.randint(0, config.vocab_size, (64, config.n_positions))
    if variant.baseline:
        model, step = _baseline(Path(base_dir), data, device)
    else:
        model, step = _ours(Path(base_dir), variant, data, device)
    started = time.perf_counter()
    for _ in range(warmup):
        step()
    _synchronize(device)
    warmed = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(device)
    seconds = time.perf_counter() - warmed
    module = getattr(model, "_orig_mod", model)
    return {
        "warmup_s": warmed - started,
        "tokens_per_s": steps * variant.batch_size * config.n_positions / seconds,
        "n_params": module.num_parameters() - module.transformer.wpe.weight.numel(),
        "peak_gb": torch.cuda.max_memory_allocated() / 1e9 if device == "cuda" else None,
    }


def _config(base_dir: str):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(base_dir)


def _synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


# -- one bot end to end (in a child process per variant) ----------------------------------


def one_bot(base_dir: str, posts_path: str, variant: Variant, block_size: int) -> dict:
    """Scrape and clean first (untimed), then tokenize and fine-tune: the timed part."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TWEETBOTS_HOME"] = str(Path(tmp) / "home")
        from tweetbots.stages import base_model, clean, fine_tune, scrape, tokenize
        from tweetbots.stages.fine_tune import TrainSettings
        from tweetbots.stages.tokenize import TokenizeSettings

        spec = f"file:{posts_path}"
        scraped = scrape.run(spec, BOT, scrape.fetch_new_posts(spec))
        cleaned = clean.run([scraped])
        base = base_model.run(base_dir, cleaned)
        settings = TrainSettings(
            epochs=EPOCHS, batch_size=variant.batch_size, compile=variant.compile
        )
        started = time.perf_counter()
        tokens = tokenize.run(cleaned, base, TokenizeSettings(block_size=block_size))
        tokenized = time.perf_counter()
        model = fine_tune.run(tokens, base, settings)
        done = time.perf_counter()
        assert (model.path / "model.safetensors").is_file()
        return {
            "kept": sum(s["kept"] for s in cleaned.summary["stats"].values()),
            "train_blocks": tokens.summary["train"]["blocks"],
            "steps": model.summary["steps"],
            "final_loss": model.summary["final_loss"],
            "tokenize_s": tokenized - started,
            "fine_tune_s": done - tokenized,
            "total_s": done - started,
        }


def _child(function, args: tuple, results) -> None:
    # A fresh compile cache per child: compile times are a cold start's, never a reuse.
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
        results.put(function(*args))


def in_child(function, *args):
    """`function(*args)` in a spawned process: its own CUDA context, flags and memory."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_child, args=(function, args, results))
    child.start()
    child.join()  # the result is a few numbers: it fits the pipe, no deadlock waiting here
    if child.exitcode != 0:
        raise RuntimeError(f"{function.__name__} failed in its child (exit {child.exitcode})")
    return results.get()


# -- main ---------------------------------------------------------------------------------


def variants(shape: Shape, compile_mode: str, cuda: bool) -> list[Variant]:
    ours = [Variant("ours", shape.batch_size)]
    if compile_mode == "on" or (compile_mode == "auto" and cuda):
        ours.append(Variant("ours + compile", shape.batch_size, compile=True))
    return [Variant("baseline (original)", 1, baseline=True), *ours]


def main() -> None:
    args = _parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch, here and in children
    import torch

    cuda = torch.cuda.is_available()
    shape = SMALL if args.small else GPT2_124M
    shape = Shape(**{**asdict(shape), "batch_size": args.batch_size or shape.batch_size})
    device_name = torch.cuda.get_device_name() if cuda else f"CPU ({os.cpu_count()} cores)"
    if not cuda:
        device_name += f", torch threads: {torch.get_num_threads()}"
    peak = peak_flops(device_name, args.peak_tflops) if cuda else None
    chosen = variants(shape, args.compile, cuda)
    with tempfile.TemporaryDirectory() as tmp:
        posts_path = Path(tmp) / "posts.parquet"
        posts = generate_posts(POSTS, seed=0)
        posts.to_parquet(posts_path, index=False)
        base_dir = args.base or Path(tmp) / "base"
        if args.base is None:
            write_base_model(base_dir, shape, posts["text"].tolist())
        config = _config(str(base_dir))
        weights = "random init" if args.base is None else str(base_dir)
        print(f"{device_name}; {shape.label}, {weights}")
        rows = {
            v.name: in_child(measure_throughput, str(base_dir), v, args.steps, args.warmup)
            for v in chosen
        }
        _print_throughput(chosen, rows, config, peak)
        for variant in (v for v in chosen if not v.baseline):
            bot = in_child(one_bot, str(base_dir), str(posts_path), variant, config.n_positions)
            _print_bot(variant, bot)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", action="store_true", help="a tiny GPT-2 and 256-token blocks: a CPU smoke run"
    )
    parser.add_argument("--base", type=Path, help="a save_pretrained dir to use instead")
    parser.add_argument("--batch-size", type=int, help="blocks per step of ours")
    parser.add_argument("--steps", type=int, help="timed steps per variant (50; small: 30)")
    parser.add_argument("--warmup", type=int, help="untimed steps first (5; small: 2)")
    parser.add_argument(
        "--compile",
        choices=["auto", "on", "off"],
        default="auto",
        help="measure ours under torch.compile too (auto: on CUDA)",
    )
    parser.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (small: 1)")
    args = parser.parse_args()
    args.steps = args.steps or (30 if args.small else 50)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.small else 5)
    # On a shared 2-core box, torch's 2 OpenMP threads ran 10x slower than one thread.
    args.threads = args.threads or (1 if args.small else None)
    return args


def _print_throughput(chosen: list[Variant], rows: dict, config, peak: float | None) -> None:
    baseline = rows[chosen[0].name]["tokens_per_s"]
    flops = flops_per_token(config, rows[chosen[0].name]["n_params"], config.n_positions)
    print(
        f"N = {rows[chosen[0].name]['n_params'] / 1e6:.1f}M parameters (less positions), "
        f"{flops / 1e9:.2f} GFLOP per token; peak "
        f"{f'{peak / 1e12:.0f} TFLOP/s bf16 dense' if peak else 'unknown: MFU n/a'}"
    )
    print(
        f"\n{'variant':<20} {'batch':>5} {'warm-up s':>9} {'tokens/s':>10} {'MFU':>6} "
        f"{'ratio':>6} {'peak GB':>7}"
    )
    for variant in chosen:
        row = rows[variant.name]
        mfu = f"{row['tokens_per_s'] * flops / peak:.1%}" if peak else "n/a"
        memory = f"{row['peak_gb']:.1f}" if row["peak_gb"] is not None else "n/a"
        print(
            f"{variant.name:<20} {variant.batch_size:>5} {row['warmup_s']:>9.1f} "
            f"{row['tokens_per_s']:>10,.0f} {mfu:>6} "
            f"{row['tokens_per_s'] / baseline:>5.1f}x {memory:>7}"
        )


def _print_bot(variant: Variant, bot: dict) -> None:
    print(
        f"\none bot, {variant.name}: {POSTS:,} posts -> {bot['kept']:,} kept -> "
        f"{bot['train_blocks']} train blocks x {EPOCHS} epochs = {bot['steps']} steps of "
        f"{variant.batch_size}; final loss {bot['final_loss']:.3f}"
    )
    print(
        f"  tokenize {bot['tokenize_s']:.1f} s + fine-tune {bot['fine_tune_s']:.1f} s "
        f"(load, compile if any, train, save) = {bot['total_s']:.1f} s end to end"
    )


if __name__ == "__main__":
    main()
