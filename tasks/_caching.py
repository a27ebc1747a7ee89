"""Cache keys from stage fingerprints, and recomputation when an output was deleted.

A stage's output directory is named by the fingerprint of its inputs, settings and the
library code version, so that name is the natural cache key. One gap: Prefect would
return a cached result even if someone deleted the directory it points to. So each key
also carries a token that is renewed whenever the directory is absent: the key is stable
while the output exists, and changes (a cache miss, the stage recomputes) once it's gone.
"""

import inspect
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect.cache_policies import TASK_SOURCE, CachePolicy

from tweetbots.store import data_root, fingerprint, is_complete

OutputDirFn = Callable[..., Path | None]


def stage_cache(output_dir: OutputDirFn, is_valid: Callable[[Path], bool] = is_complete):
    """Cache policy: task source + the stage's output directory + its presence token."""
    return TASK_SOURCE + CachePolicy.from_cache_key_fn(stage_key(output_dir, is_valid))


def stage_key(output_dir: OutputDirFn, is_valid: Callable[[Path], bool] = is_complete):
    """The key function: output directory name + presence token."""
    wanted = list(inspect.signature(output_dir).parameters)

    def key(_context: Any, parameters: dict[str, Any]) -> str:
        out = output_dir(**{name: parameters[name] for name in wanted if name in parameters})
        if out is None:  # no fixed output (network sources): never reuse
            return uuid.uuid4().hex
        return f"{out.name}-{_presence_token(out, is_valid)}"

    return key


def _presence_token(out: Path, is_valid: Callable[[Path], bool]) -> str:
    token_file = data_root() / "cache" / "tokens" / fingerprint(str(out))
    if is_valid(out) and token_file.is_file():
        return token_file.read_text()
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    token_file.write_text(token)
    return token
