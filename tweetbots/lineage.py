"""W&B lineage: one W&B run per stage, its outputs logged as artifacts, its inputs declared.

W&B is optional and imported lazily: with `WANDB_MODE=disabled` or wandb not installed,
every function here is a no-op and the pipeline runs unchanged. Offline (the default
without an API key) W&B cannot declare inputs (`use_artifact` raises), so inputs are
recorded in the run's config as name + fingerprint, to be linked after `wandb sync`.
"""

import logging
import os
from pathlib import Path

from pydantic import BaseModel

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "tweetbots"


class ArtifactRef(BaseModel):
    name: str
    type: str
    fingerprint: str
    path: Path


def wandb_mode() -> str:
    """'disabled' without wandb; else WANDB_MODE, or online only when a key is present."""
    try:
        import wandb  # noqa: F401
    except ImportError:
        return "disabled"
    mode = os.environ.get("WANDB_MODE")
    if mode:
        return mode
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


def log_stage(
    stage: str,
    group: str,
    inputs: list[ArtifactRef],
    outputs: list[ArtifactRef],
    config: dict | None = None,
    metrics: dict | None = None,
) -> str | None:
    """One W&B run for one stage execution; returns the run's URL when online."""
    mode = wandb_mode()
    if mode == "disabled":
        return None
    import wandb

    run = wandb.init(
        project=os.environ.get("WANDB_PROJECT", DEFAULT_PROJECT),
        job_type=stage,
        group=group,
        mode=mode,
        reinit="finish_previous",
        config={**(config or {}), "inputs": [i.model_dump(mode="json") for i in inputs]},
    )
    try:
        if mode == "online":
            for ref in inputs:
                run.use_artifact(f"{ref.name}:fp-{ref.fingerprint}")
        for ref in outputs:
            artifact = wandb.Artifact(
                ref.name, type=ref.type, metadata={"fingerprint": ref.fingerprint}
            )
            artifact.add_reference(ref.path.as_uri())
            run.log_artifact(artifact, aliases=["latest", f"fp-{ref.fingerprint}"])
        if metrics:
            run.summary.update(metrics)
        return run.url if mode == "online" else None
    finally:
        run.finish()
