"""The data root and its content-addressed stage directories.

Every stage writes into `<root>/<stage>/<bot>/<fingerprint>/`, the fingerprint being a
hash of its inputs' fingerprints, its settings and the library code version. Outputs
are built in a temporary sibling and renamed into place, so a crash never leaves a half
output under the final name.
"""

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tweetbots import __version__, code_version

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def data_root() -> Path:
    """`TWEETBOTS_HOME`, or `./.tweetbots` in the working directory."""
    return Path(os.environ.get("TWEETBOTS_HOME", ".tweetbots")).absolute()


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (pydantic models are dumped first)."""
    normalised = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in parts]
    blob = json.dumps(normalised, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stage_dir(stage: str, bot: str, *inputs: Any, root: Path | None = None) -> Path:
    """The output directory of `stage` for `bot` given everything that determines it."""
    return (root or data_root()) / stage / bot / fingerprint(stage, code_version(), *inputs)


def versions() -> dict[str, str]:
    """Versions recorded in every manifest, for reproducibility."""
    import importlib.metadata as md

    found = {"tweetbots": __version__, "code": code_version()}
    for package in ("torch", "transformers", "pandas", "pyarrow"):
        try:
            found[package] = md.version(package)
        except md.PackageNotFoundError:
            continue
    return found


def write_manifest(directory: Path, **fields: Any) -> dict[str, Any]:
    """Write `manifest.json` with the given fields plus creation time and versions."""
    manifest = {"created_at": datetime.now(UTC).isoformat(), "versions": versions(), **fields}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    return json.loads((directory / MANIFEST).read_text())


def is_complete(directory: Path) -> bool:
    """An output counts only once its manifest is in place (written last, then renamed)."""
    return (directory / MANIFEST).is_file()


@contextmanager
def building(final: Path) -> Iterator[Path]:
    """Yield a temp dir to fill; on success it is renamed to `final` atomically.

    If `final` already exists complete (an identical run finished first) the new build
    is discarded: outputs are addressed by content, so both are the same.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        if final.exists() and not is_complete(final):
            shutil.rmtree(final)  # leftover of a crash between rmtree and rename
        try:
            tmp.rename(final)
        except OSError:
            if not is_complete(final):
                raise
            log.info("%s was built concurrently; keeping the existing copy", final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class StageOutput(BaseModel):
    """What one stage hands the next: where its output lives and a small summary.

    Small on purpose: Prefect persists it as the task's cached result.
    """

    stage: str
    bot: str
    path: Path
    fingerprint: str
    summary: dict[str, Any] = {}


def load_output(stage: str, bot: str, directory: Path) -> StageOutput:
    """The StageOutput recorded in a complete stage directory."""
    manifest = read_manifest(directory)
    return StageOutput(
        stage=stage,
        bot=bot,
        path=directory,
        fingerprint=manifest["fingerprint"],
        summary=manifest.get("summary", {}),
    )
