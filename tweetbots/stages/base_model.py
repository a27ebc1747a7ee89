"""base-model: the model a bot is fine-tuned from, named by what it holds.

`tiny` is built here from the bot's clean posts (a BPE tokenizer trained on them and a
random 2-layer GPT-2), so the whole DAG runs offline. A Hub id is named by the commit its
`main` is at (one request a run; offline, the cached one) and downloaded at exactly that
commit; a local `save_pretrained` directory by its files' content. New weights, on the
Hub or on disk, are a new base model: the bot retrains.
"""

import pandas as pd

from tweetbots import basemodel
from tweetbots.code_version import code_version
from tweetbots.store import OutputKey, StageOutput, produce

NAME = "base-model"
CODE = (__name__, "tweetbots.basemodel")
TINY = "tiny"


def output_key(spec: str, cleaned: StageOutput) -> OutputKey:
    """Resolving a Hub id's commit is the one request this naming makes."""
    # The tiny model's tokenizer is trained on the corpus: the corpus is its input.
    held = (
        {"clean": cleaned.fingerprint}
        if spec == TINY
        else {"revision": basemodel.pinned_revision(spec)}
    )
    return OutputKey(
        stage=NAME,
        bot=cleaned.bot,
        code=code_version(*CODE),
        inputs=held,
        settings={"model": spec},
    )


def run(spec: str, cleaned: StageOutput) -> StageOutput:
    """Build `tiny`, or find a local directory or the Hub snapshot at its commit."""
    # Resolved once: the directory is named by the revision that is then fetched.
    key = output_key(spec, cleaned)
    return produce(key, lambda tmp: _build(spec, key, cleaned, tmp))


def _build(spec: str, key: OutputKey, cleaned: StageOutput, tmp) -> dict:
    if spec == TINY:
        texts = pd.read_parquet(cleaned.path / "posts.parquet")["text"]
        basemodel.build_tiny_model(texts.tolist(), tmp)
        return {"model": spec, "model_dir": str(key.path), "revision": "built-locally"}
    revision = key.inputs["revision"]
    model_dir = basemodel.fetch_pretrained(spec, revision)
    return {"model": spec, "model_dir": str(model_dir), "revision": revision}
