"""Read W&B's offline transaction logs (`offline-run-*/run-<id>.wandb`) without uploading.

wandb 0.31 has no reader of its own for these files (the Go core writes them), so this is
one: a 7-byte header (`:W&B`, 0xBEE1, version), then LevelDB-log-format 32 KiB blocks of
CRC32-checked chunks, each record a `wandb.proto.wandb_internal_pb2.Record`. We need it
for `tweetbots lineage sync` (the inputs a run recorded while offline) and to check, in
tests, what each stage's run really logged.
"""

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

_HEADER = struct.Struct("<4sHB")  # ident, magic, version
_CHUNK = struct.Struct("<IHB")  # crc32, length, type
_BLOCK = 32 * 1024
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


class LoggedArtifact(BaseModel):
    name: str
    type: str
    digest: str
    aliases: list[str]
    metadata: dict[str, Any]
    files: dict[str, str]  # path in the artifact -> its digest


class OfflineRun(BaseModel):
    """What one run's transaction log holds, as far as lineage is concerned."""

    directory: Path
    run_id: str
    project: str
    entity: str
    group: str
    job_type: str
    start_time: float
    config: dict[str, Any]
    artifacts: list[LoggedArtifact]
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    finished: bool  # the exit record is there: the run wrote everything it will
    exit_code: int | None = None


def offline_runs(wandb_dir: Path) -> list[OfflineRun]:
    """Every offline run under `wandb_dir` (the folder holding `offline-run-*`), oldest first."""
    runs = [read_offline_run(d) for d in sorted(wandb_dir.glob("offline-run-*")) if d.is_dir()]
    return sorted(runs, key=lambda run: run.start_time)


def read_offline_run(run_dir: Path) -> OfflineRun:
    """Parse the `run-<id>.wandb` file of one offline run directory."""
    log_file = next(run_dir.glob("run-*.wandb"), None)
    if log_file is None:
        raise FileNotFoundError(f"{run_dir} holds no run-*.wandb transaction log")
    run: dict[str, Any] = {"directory": run_dir, "artifacts": [], "history": [], "summary": {}}
    run["finished"] = False
    for record in read_records(log_file):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.update(_run_fields(record.run))
        elif kind == "config":
            run.setdefault("config", {}).update(_items(record.config.update))
        elif kind == "artifact":
            run["artifacts"].append(_artifact(record.artifact))
        elif kind == "history":
            run["history"].append(_items(record.history.item))
        elif kind == "summary":
            run["summary"].update(_items(record.summary.update))
        elif kind == "exit":
            run.update(finished=True, exit_code=record.exit.exit_code)
    if "run_id" not in run:
        raise ValueError(f"{log_file} has no run record")
    return OfflineRun(**run)


def read_records(path: Path) -> Iterator[Any]:
    """The records of a transaction log, in order; a half-written last one is left out."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    if len(data) < _HEADER.size:
        raise ValueError(f"{path} is not a W&B transaction log (yet)")
    ident, magic, _version = _HEADER.unpack_from(data)
    if ident != b":W&B" or magic != 0xBEE1:
        raise ValueError(f"{path} is not a W&B transaction log")
    for payload in _payloads(data, _HEADER.size, path):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        yield record


def _payloads(data: bytes, position: int, path: Path) -> Iterator[bytes]:
    """Reassemble records from chunks; a chunk never spans blocks, the tail is padding."""
    pending = b""
    while position + _CHUNK.size <= len(data):
        room = _BLOCK - position % _BLOCK
        if room < _CHUNK.size:
            position += room  # block trailer: zero padding
            continue
        crc, length, kind = _CHUNK.unpack_from(data, position)
        chunk = data[position + _CHUNK.size : position + _CHUNK.size + length]
        if len(chunk) < length:
            return  # the writer is still at it
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            raise ValueError(f"{path}: corrupt chunk at byte {position}")
        position += _CHUNK.size + length
        if kind in (_FULL, _FIRST):
            pending = chunk
        elif kind in (_MIDDLE, _LAST):
            pending += chunk
        if kind in (_FULL, _LAST):
            yield pending


def _run_fields(run) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "project": run.project,
        "entity": run.entity,
        "group": run.run_group,
        "job_type": run.job_type,
        "start_time": run.start_time.seconds + run.start_time.nanos / 1e9,
        "config": _items(run.config.update),
    }


def _artifact(artifact) -> LoggedArtifact:
    return LoggedArtifact(
        name=artifact.name,
        type=artifact.type,
        digest=artifact.digest,
        aliases=list(artifact.aliases),
        metadata=json.loads(artifact.metadata or "{}"),
        files={entry.path: entry.digest for entry in artifact.manifest.contents},
    )


def _items(items) -> dict[str, Any]:
    """Config, summary and history items: `key` or `nested_key` with a JSON value."""
    return {item.key or ".".join(item.nested_key): json.loads(item.value_json) for item in items}
