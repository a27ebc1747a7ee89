"""Base models: a Hub id, a local directory, or `tiny`, built here from the corpus.

`tiny` exists so the whole DAG runs offline: a byte-level BPE tokenizer trained on the
bot's own posts and a randomly initialised 2-layer GPT-2, saved with `save_pretrained`
so every later stage treats it exactly like a downloaded model.
"""

import logging
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

EOS = "<|endoftext|>"
TINY_VOCAB = 1024
TINY_CONTEXT = 256


class BaseModelError(ValueError):
    """A base model that cannot be had: one line naming it and the fix."""


def build_tiny_model(texts: Iterable[str], out_dir: Path, seed: int = 0) -> None:
    """Train a small BPE tokenizer on `texts` and save a random tiny GPT-2 beside it."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=TINY_VOCAB, min_frequency=2, special_tokens=[EOS])
    tokenizer = GPT2TokenizerFast(
        tokenizer_object=bpe._tokenizer, eos_token=EOS, bos_token=EOS, unk_token=EOS
    )
    tokenizer.model_max_length = TINY_CONTEXT
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=TINY_CONTEXT,
        n_embd=64,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    GPT2LMHeadModel(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def resolve_pretrained(spec: str) -> tuple[Path, str]:
    """A local model directory or a Hub id -> (directory, revision)."""
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise BaseModelError(
                f"base model {spec!r}: no config.json in {path}; "
                "pass a directory written by save_pretrained"
            )
        return path.absolute(), "local"
    return _download_from_hub(spec)


def cached_revision(repo_id: str) -> str | None:
    """The commit of `repo_id` in the local HF cache (its `main` ref), if it is there.

    Part of the base stage's fingerprint: a newer snapshot of the same model id must
    retrain, not reuse a model fine-tuned from the old weights.
    """
    from huggingface_hub.constants import HF_HUB_CACHE

    ref = Path(HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}" / "refs" / "main"
    return ref.read_text().strip() if ref.is_file() else None


def _download_from_hub(repo_id: str) -> tuple[Path, str]:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model"]
    try:
        local = Path(snapshot_download(repo_id, allow_patterns=patterns))
    except HFValidationError as error:
        raise BaseModelError(
            f"base model {repo_id!r} is neither a directory nor a Hub id: check the spelling"
        ) from error
    except (LocalEntryNotFoundError, OSError) as error:
        raise BaseModelError(
            f"base model {repo_id!r} is not in the Hugging Face cache and the Hub is "
            f"unreachable: run `huggingface-cli download {repo_id}` where there is network, "
            "or pass --base-model tiny"
        ) from error
    return local, local.name
