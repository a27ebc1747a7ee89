"""Base models: a Hub id, a local directory, or `tiny`, built here from the corpus.

`tiny` exists so the whole DAG runs offline: a byte-level BPE tokenizer trained on the
bot's own posts and a randomly initialised 2-layer GPT-2, saved with `save_pretrained`
so every later stage treats it exactly like a downloaded model.
"""

import logging
from collections.abc import Iterable
from pathlib import Path

from tweetbots.store import file_digest, fingerprint

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


def pinned_revision(spec: str) -> str:
    """What `spec` holds now: a local directory's content digest, a Hub id's commit.

    The base stage's output is named by it, so new weights (in the same directory, or a
    newer commit on the Hub) retrain instead of reusing a model tuned from the old ones.
    It is asked on every flow run (the cache key), so it costs one Hub request, or one
    read of the directory's files per process while they are unchanged.
    """
    directory = _local_directory(spec)
    if directory is not None:
        return directory_digest(directory)
    return _hub_revision(spec)


def fetch_pretrained(spec: str, revision: str) -> Path:
    """The directory holding `spec` at `revision` (from `pinned_revision`): downloaded
    from the Hub at exactly that commit if need be, so it holds what the key names."""
    directory = _local_directory(spec)
    return directory if directory is not None else _download_from_hub(spec, revision)


def local_path(spec: str) -> Path | None:
    """The local file or directory `spec` names, if one exists; None for a Hub id."""
    path = Path(spec).expanduser()
    return path if path.exists() else None


def _local_directory(spec: str) -> Path | None:
    path = local_path(spec)
    if path is None:
        return None
    if not (path / "config.json").is_file():
        raise BaseModelError(
            f"base model {spec!r}: no config.json in {path}; "
            "pass a directory written by save_pretrained"
        )
    return path.absolute()


_digests: dict[tuple, str] = {}


def directory_digest(directory: Path) -> str:
    """Digest of the files `from_pretrained` reads (the top level), remembered per process
    while their sizes and mtimes are unchanged: a cache key and its stage hash them once."""
    files = sorted(p for p in directory.iterdir() if p.is_file())
    signature = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (str(directory), signature)
    if key not in _digests:
        _digests[key] = fingerprint([(p.name, file_digest(p)) for p in files])
    return _digests[key]


def _hub_revision(repo_id: str) -> str:
    """The commit the Hub's `main` of `repo_id` is at; offline, or with the Hub down, the
    one in the local HF cache (huggingface_hub's `resolve_revision` keeps it there)."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import (
        HFValidationError,
        RepositoryNotFoundError,
        RevisionResolutionError,
    )

    try:
        # Offline: read the cache directly, without a "could not reach the Hub" warning.
        resolved = HfApi().resolve_revision(repo_id, local_files_only=constants.HF_HUB_OFFLINE)
    except HFValidationError as error:
        raise BaseModelError(
            f"base model {repo_id!r} is neither a directory nor a Hub id: check the spelling"
        ) from error
    except RepositoryNotFoundError as error:
        raise BaseModelError(
            f"no model {repo_id!r} on the Hub: check the id (a private one needs HF_TOKEN)"
        ) from error
    except RevisionResolutionError as error:
        raise _not_in_cache(repo_id) from error
    return resolved.resolved


def _download_from_hub(repo_id: str, revision: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model"]
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns))
    except GatedRepoError as error:  # its metadata is public, its files are not
        raise BaseModelError(
            f"base model {repo_id!r} is gated: accept its terms on the Hub and set HF_TOKEN"
        ) from error
    except OSError as error:  # offline with the snapshot missing or incomplete, or a dead link
        raise _not_in_cache(repo_id) from error


def _not_in_cache(repo_id: str) -> BaseModelError:
    return BaseModelError(
        f"base model {repo_id!r} is not in the Hugging Face cache and the Hub is "
        f"unreachable: run `hf download {repo_id}` where there is network, "
        "or pass --base-model tiny"
    )
