"""Read back what the stages' W&B runs logged, from their offline `.wandb` files."""

import time
from pathlib import Path

from tweetbots.wandb_records import OfflineRun, offline_runs

# Each stage's inputs of the previous stage's type must be exactly its logged outputs.
CHAIN = [
    ("scrape", "clean"),
    ("clean", "tokenize"),
    ("base-model", "tokenize"),
    ("tokenize", "fine-tune"),
    ("fine-tune", "evaluate"),
    ("evaluate", "publish"),
]
STAGE_TABLES = {"run_table"}  # W&B's own artifact behind a logged wandb.Table


def wait_for_runs(runs_dir: Path, expected: int, timeout: float = 60) -> list[OfflineRun]:
    """The finished offline runs under `runs_dir`, once there are `expected` of them.

    `run.finish()` can return before wandb-core has flushed the file: poll for the exit
    record of each run.
    """
    deadline = time.monotonic() + timeout
    while True:
        runs = _readable_runs(runs_dir)
        if len(runs) >= expected and all(r.finished for r in runs):
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(runs)} runs under {runs_dir}, expected {expected}")
        time.sleep(0.25)


def _readable_runs(runs_dir: Path) -> list[OfflineRun]:
    """The runs, or none while one is too new to have its run record on disk."""
    try:
        return offline_runs(runs_dir) if runs_dir.is_dir() else []
    except (FileNotFoundError, ValueError):
        return []


def logged_outputs(runs: list[OfflineRun], job_type: str) -> dict[str, set[tuple[str, str]]]:
    """Artifact type -> {(name, digest)} logged by the runs of one stage."""
    found: dict[str, set[tuple[str, str]]] = {}
    for run in runs:
        for artifact in run.artifacts if run.job_type == job_type else []:
            if artifact.type not in STAGE_TABLES:
                found.setdefault(artifact.type, set()).add((artifact.name, artifact.digest))
    return found


def recorded_inputs(runs: list[OfflineRun], job_type: str) -> dict[str, set[tuple[str, str]]]:
    """Artifact type -> {(name, digest)} that the runs of one stage recorded as inputs."""
    found: dict[str, set[tuple[str, str]]] = {}
    for run in runs:
        for item in run.config.get("inputs", []) if run.job_type == job_type else []:
            found.setdefault(item["type"], set()).add((item["name"], item["digest"]))
    return found
