"""tweetbots: turn anyone's public posts into a GPT-2 bot that writes like them.

The library layer: what each stage does, as plain Python. Prefect lives in `tasks/`
and `flows/`, never here, so every stage runs (and is tested) without an orchestrator.
"""

import hashlib
from functools import cache
from pathlib import Path

__version__ = "0.1.0"


@cache
def code_version() -> str:
    """A hash of the library's source: part of every stage fingerprint and cache key.

    Prefect's TASK_SOURCE only hashes the task function's own text, so an edit in a
    helper it calls would otherwise reuse stale outputs (prefect.md, upstream #23062).
    """
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.relative_to(Path(__file__).parent).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
