"""Tokenize posts and pack them into fixed blocks (the original's dataset, made stable).

Posts are joined with the end-of-text token, `EOS + join(EOS) + EOS`, and cut into
blocks of the context length, so short tweets share a block instead of being padded.
The train/validation split is by a hash of the post id, so a post never changes side as
the data grows night after night. Cyborg bots are balanced on the train side: each
user's posts are repeated until every user has about the largest user's characters.
"""

import hashlib

import numpy as np
import pandas as pd

from tweetbots import progress

# Texts tokenized per call: large enough for the fast tokenizer's batching, small enough
# for the progress bar to move on a large archive.
ENCODE_BATCH = 4096


def is_validation(ids: pd.Series, val_fraction: float) -> np.ndarray:
    """True for the posts whose id hashes into the validation share."""
    buckets = np.array(
        [int.from_bytes(hashlib.blake2b(i.encode(), digest_size=4).digest()) for i in ids],
        dtype=np.uint64,
    )
    return (buckets % 10_000) < round(val_fraction * 10_000)


def encode_texts(texts: list[str], tokenizer) -> list[list[int]]:
    """Token ids of each text, no special tokens (EOS is added when packing).

    In batches, for the progress bar: each text is tokenized on its own either way.
    """
    ids: list[list[int]] = []
    with progress.bar(desc="tokenize", unit="post", total=len(texts)) as shown:
        for start in range(0, len(texts), ENCODE_BATCH):
            batch = texts[start : start + ENCODE_BATCH]
            ids.extend(tokenizer(batch, add_special_tokens=False)["input_ids"])
            shown.update(len(batch))
    return ids


def pack_blocks(token_lists: list[list[int]], eos_id: int, block_size: int) -> np.ndarray:
    """`EOS + join(EOS) + EOS`, cut into rows of `block_size`; the remainder is dropped.

    A stream shorter than one block becomes a single shorter row, so a small validation
    split still measures something.
    """
    lengths = [len(t) + 1 for t in token_lists]
    stream = np.full(sum(lengths) + 1, eos_id, dtype=np.int64)
    offset = 1
    for tokens, length in zip(token_lists, lengths, strict=True):
        stream[offset : offset + length - 1] = tokens
        offset += length
    if len(stream) < block_size:
        return stream[np.newaxis, :]
    n_blocks = len(stream) // block_size
    return stream[: n_blocks * block_size].reshape(n_blocks, block_size)


def smallest_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32)


def balance_users(posts: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Repeat each user's posts until every user has about the largest user's characters.

    The target is the largest user's total characters. Each user gets whole passes over
    their posts, each pass a fresh shuffle, while a whole pass still fits under the
    target; then posts from one more fresh shuffle, in order, until the target is reached.
    So every user ends with at least the target and less than the target plus their
    longest post; the largest user gets exactly one (shuffled) pass. Rows come grouped by
    user in first-appearance order, with a fresh index. One user (or none): `posts` is
    returned unchanged. The same seed gives the same rows.
    """
    codes, _ = pd.factorize(posts["user"], use_na_sentinel=False)
    if codes.size == 0 or codes.max() == 0:
        return posts
    lengths = posts["text"].str.len().to_numpy(dtype=np.int64)
    target = int(np.bincount(codes, weights=lengths).max())
    rng = np.random.default_rng(seed)
    order = [
        _balanced_rows(np.flatnonzero(codes == code), lengths, target, rng)
        for code in range(codes.max() + 1)
    ]
    return posts.iloc[np.concatenate(order)].reset_index(drop=True)


def _balanced_rows(
    rows: np.ndarray, lengths: np.ndarray, target: int, rng: np.random.Generator
) -> np.ndarray:
    pass_chars = int(lengths[rows].sum())
    if pass_chars == 0:
        return rng.permutation(rows)
    whole_passes = max(1, target // pass_chars)
    passes = [rng.permutation(rows) for _ in range(whole_passes)]
    missing = target - whole_passes * pass_chars
    if missing > 0:
        last = rng.permutation(rows)
        enough = int(np.searchsorted(np.cumsum(lengths[last]), missing)) + 1
        passes.append(last[:enough])
    return np.concatenate(passes)
