"""W&B lineage: one W&B run per stage, its outputs logged as artifacts, its inputs declared.

W&B is optional and imported lazily: with `WANDB_MODE=disabled` or wandb not installed,
every function here is a no-op and the pipeline runs unchanged. Offline (the default
without an API key) W&B cannot declare inputs (`use_artifact` raises), so every run also
records its inputs in its config (name, fingerprint, digest); `sync_lineage` declares
them through the public API once the runs are uploaded with `wandb sync`.

Lineage is a record of the work, never a reason for the work to fail: a W&B error is
logged as a warning and the stage goes on without its run.
"""

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tweetbots.store import MANIFEST, StageOutput, data_root
from tweetbots.wandb_records import OfflineRun

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "tweetbots"


class ArtifactRef(BaseModel):
    """A stage output as a W&B reference artifact: its files stay where they are."""

    name: str
    type: str
    fingerprint: str
    files: dict[str, Path]  # path inside the artifact -> local file
    metadata: dict[str, Any] = {}

    @property
    def alias(self) -> str:
        """Names this output across versions: the fingerprint of what made it."""
        return f"fp-{self.fingerprint}"


class RecordedInput(BaseModel):
    """An input as a run's config records it: enough to find and check the artifact."""

    name: str
    type: str
    fingerprint: str
    digest: str


def project() -> str:
    return os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT


def offline_runs_dir() -> Path:
    """Where the stage runs write `offline-run-*`: `$WANDB_DIR/wandb`."""
    return _wandb_dir() / "wandb"


def _wandb_dir() -> Path:
    # Read at every run, passed to wandb.init: W&B reads WANDB_DIR once per process.
    return Path(os.environ.get("WANDB_DIR", ".")).absolute()


def wandb_mode(api_key: str | None = None) -> str:
    """'disabled' without wandb; else WANDB_MODE, or online only when there is a key."""
    try:
        import wandb  # noqa: F401
    except ImportError:
        return "disabled"
    mode = os.environ.get("WANDB_MODE")
    if mode:
        return "offline" if mode == "dryrun" else mode
    return "online" if api_key or os.environ.get("WANDB_API_KEY") else "offline"


# -- stage outputs as artifacts --------------------------------------------------------


def artifact_ref(output: StageOutput) -> ArtifactRef:
    """The artifact of a stage output: its content files, not our bookkeeping."""
    # One name for a stage everywhere: the artifact's type is the stage's name.
    kind = output.stage
    name = f"{output.bot}-{kind}"
    if output.stage == "scrape":  # several per bot: one artifact per source's users
        name += "-" + "-".join(u["user"] for u in output.summary["users"])
    return ArtifactRef(
        name=re.sub(r"[^\w.-]+", "-", name)[:128],
        type=kind,
        fingerprint=output.fingerprint,
        files=_content_files(output),
        metadata={
            "stage": output.stage,
            "bot": output.bot,
            "fingerprint": output.fingerprint,
            "path": str(output.path),
        },
    )


def _content_files(output: StageOutput) -> dict[str, Path]:
    """What the stage made. The manifest is left out (its timestamp would make identical
    content a new version) unless it is all there is (a publish the gate refused)."""
    if output.stage == "scrape":  # the posts live in the raw store, shared across bots
        return {part: data_root() / part for u in output.summary["users"] for part in u["parts"]}
    directory = Path(output.summary["model_dir"]) if output.stage == "base-model" else output.path
    files = {
        path.relative_to(directory).as_posix(): path
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    return files or {MANIFEST: output.path / MANIFEST}


_digests: dict[tuple, str] = {}


def content_digest(ref: ArtifactRef) -> str:
    """W&B's digest of the artifact (MD5s of the files), remembered while files are unchanged.

    Computed by W&B itself so an input recorded offline can be matched, digest for digest,
    to the artifact version that the producing stage logged.
    """
    signature = tuple(
        (name, str(path), path.stat().st_size, path.stat().st_mtime_ns)
        for name, path in sorted(ref.files.items())
    )
    if signature not in _digests:
        _digests[signature] = _artifact(ref).digest
    return _digests[signature]


def _artifact(ref: ArtifactRef):
    import wandb

    metadata = {**ref.metadata, "fingerprint": ref.fingerprint}
    artifact = wandb.Artifact(ref.name, type=ref.type, metadata=metadata)
    for name, path in sorted(ref.files.items()):
        artifact.add_reference(path.as_uri(), name=name)  # checksum=True: MD5 of content
    return artifact


# -- one run per stage -----------------------------------------------------------------


class StageRun:
    """The W&B run of one stage execution; every method is a no-op without an open run."""

    def __init__(self, run=None, mode: str = "disabled"):
        self._run = run
        self._open = run is not None
        self.mode = mode if run is not None else "disabled"

    @property
    def url(self) -> str | None:
        """The run's page on W&B: online only."""
        return self._run.url if self._run is not None and self.mode == "online" else None

    @property
    def directory(self) -> Path | None:
        """The local run directory (`offline-run-*` offline): what `wandb sync` uploads."""
        return Path(self._run.dir).parent if self._run is not None else None

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self._open:
            self._run.log(metrics, step=step)

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        if self._open:
            import wandb

            self._run.log({key: wandb.Table(columns=columns, data=rows)})

    def log_outputs(self, outputs: list[ArtifactRef]) -> None:
        for ref in outputs if self._open else []:
            try:
                self._run.log_artifact(_artifact(ref), aliases=["latest", ref.alias])
            except Exception as error:  # noqa: BLE001 - lineage must not fail the stage
                log.warning("W&B artifact %s not logged: %s", ref.name, error)

    def summarize(self, metrics: dict[str, Any]) -> None:
        if self._open and metrics:
            self._run.summary.update(metrics)

    def finish(self, exit_code: int = 0) -> None:
        if self._open:
            self._open = False
            self._run.finish(exit_code=exit_code)


@contextmanager
def stage_run(
    stage: str,
    group: str,
    inputs: list[ArtifactRef],
    config: dict[str, Any] | None = None,
    api_key: str | None = None,
    name: str | None = None,
) -> Iterator[StageRun]:
    """A W&B run open while the stage works (job_type = stage, group = the pipeline run).

    Finished with exit code 1 if the stage raises, so a failed attempt reads as failed.
    """
    mode = wandb_mode(api_key)
    settings = {"job_type": stage, "group": group, "name": name, "mode": mode}
    run = _start(settings, inputs, config or {}, api_key) if mode != "disabled" else None
    current = StageRun(run, mode)
    try:
        yield current
    except BaseException:
        current.finish(exit_code=1)
        raise
    current.finish()


def _start(settings: dict[str, Any], inputs: list[ArtifactRef], config: dict, api_key):
    import wandb

    try:
        recorded = [
            RecordedInput(
                name=i.name, type=i.type, fingerprint=i.fingerprint, digest=content_digest(i)
            )
            for i in inputs
        ]
        run = wandb.init(
            project=project(),
            dir=_wandb_dir(),
            reinit="create_new",  # one run per stage, even if stages overlap in a process
            config={**config, "inputs": [i.model_dump() for i in recorded]},
            # The key goes to W&B through its settings only: never config, env or logs.
            # No console capture: the stage's log is in Prefect, and runs would share it.
            settings=wandb.Settings(api_key=api_key, console="off", silent=True),
            **settings,
        )
    except Exception as error:  # noqa: BLE001 - lineage must not fail the stage
        log.warning("W&B run of %s not started, going on without it: %s", settings, error)
        return None
    if settings["mode"] == "online":
        _declare_inputs(run, inputs)
    return run


def _declare_inputs(run, inputs: list[ArtifactRef]) -> None:
    for ref in inputs:
        try:
            run.use_artifact(f"{ref.name}:{ref.alias}", type=ref.type)
        except Exception as error:  # noqa: BLE001 - e.g. logged while offline, not synced
            log.warning(
                "W&B input %s:%s not declared (still recorded in the config): %s",
                ref.name,
                ref.alias,
                error,
            )


# -- after the fact: links for the card, inputs of runs synced from offline -------------


class LineageSyncError(RuntimeError):
    """Linking cannot start: no API key, or W&B cannot be reached."""


class InputLink(BaseModel):
    """One input a run recorded offline, to be declared with the public API."""

    run_id: str
    project: str
    entity: str
    job_type: str
    artifact: str  # name:alias
    type: str
    digest: str


def sync_plan(runs: list[OfflineRun]) -> list[InputLink]:
    """The input declarations the offline runs recorded, in pipeline order."""
    return [
        InputLink(
            run_id=run.run_id,
            project=run.project,
            entity=run.entity,
            job_type=run.job_type,
            artifact=f"{item.name}:fp-{item.fingerprint}",
            type=item.type,
            digest=item.digest,
        )
        for run in sorted(runs, key=lambda r: r.start_time)
        for item in (RecordedInput(**i) for i in run.config.get("inputs", []))
    ]


def sync_lineage(links: list[InputLink], api_key: str | None = None) -> int:
    """Declare each link's artifact as an input of its (already uploaded) run.

    The artifact version is found by its fingerprint alias and checked by digest; if the
    alias moved to other content, the version with the recorded digest is searched for.
    Returns how many inputs were declared.
    """
    api = _api(api_key)
    declared = 0
    for link in links:
        entity = link.entity or os.environ.get("WANDB_ENTITY") or api.default_entity
        artifact = _matching_version(api, f"{entity}/{link.project}", link)
        if artifact is None:
            log.warning(
                "no uploaded %s with digest %s: run `wandb sync` on its run first",
                link.artifact,
                link.digest,
            )
            continue
        api.run(f"{entity}/{link.project}/{link.run_id}").use_artifact(artifact)
        declared += 1
    return declared


def _api(api_key: str | None):
    import wandb

    try:
        return wandb.Api(api_key=api_key)
    except wandb.errors.UsageError as error:
        raise LineageSyncError(
            "no W&B API key: set WANDB_API_KEY, create the Prefect Secret block "
            f"'wandb-api-key' or run `wandb login` ({error})"
        ) from None


def _matching_version(api, path: str, link: InputLink):
    import wandb

    try:
        artifact = api.artifact(f"{path}/{link.artifact}", type=link.type)
        if artifact.digest == link.digest:
            return artifact
        name = link.artifact.split(":")[0]
        return next(
            (a for a in api.artifacts(link.type, f"{path}/{name}") if a.digest == link.digest), None
        )
    except (wandb.errors.CommError, ValueError):  # not uploaded, or another type
        return None


def producing_run_url(ref: ArtifactRef, api_key: str | None = None) -> str | None:
    """Online: the page of the W&B run that logged this output (for the card), if any."""
    if wandb_mode(api_key) != "online":
        return None
    try:
        artifact = _api(api_key).artifact(f"{project()}/{ref.name}:{ref.alias}", type=ref.type)
        run = artifact.logged_by()
        return run.url if run is not None else None
    except Exception as error:  # noqa: BLE001 - a card without the link beats no card
        log.warning("no W&B run link for %s: %s", ref.name, error)
        return None
