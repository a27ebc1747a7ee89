"""Publish a bot: `file://DIR` (a local hub: DIR/<bot>/) or `hf://namespace/name`.

Both targets receive the same files in one step: a local directory is swapped in by
rename (never half-written), a Hub repo gets a single commit. The gate reads the
perplexity the currently published card declares, so a worse model never replaces it.
"""

import logging
import shutil
import tempfile
from pathlib import Path

from tweetbots.card import read_card_perplexity
from tweetbots.store import with_default_modes

log = logging.getLogger(__name__)

_HUB_READ_TIMEOUT_S = 30  # huggingface_hub's shared session has no timeout of its own


class PublishError(ValueError):
    """A target that cannot be published to: one line naming it and the fix."""


def parse_target(target: str, bot: str) -> tuple[str, str]:
    """`file://DIR` -> ("file", "DIR/<bot>"); `hf://ns/name` -> ("hf", "ns/name")."""
    if target.startswith("file://") and len(target) > len("file://"):
        return "file", str(Path(target.removeprefix("file://")).expanduser().absolute() / bot)
    if target.startswith("hf://") and target.count("/") == 3:
        return "hf", target.removeprefix("hf://")
    raise PublishError(
        f"target {target!r} is not a target URI: use file://DIR or hf://namespace/name"
    )


def model_id(target: str, bot: str) -> str:
    """What `pipeline(model=...)` takes for this target: a Hub id or a local path."""
    return parse_target(target, bot)[1]


def commit_message(bot: str, flow_run_link: str) -> str:
    """The Hub commit's summary: it links the flow run that published, so the Hub's history
    leads back to the run's logs and artifacts."""
    return f"tweetbots: publish {bot} (Prefect flow run {flow_run_link})"


def published_file_url(target: str, bot: str, name: str) -> str:
    """Where a published file is read from: a Hub repo's file needs an absolute URL (the
    card's thumbnail is shown off the repo page); a local one sits beside its card."""
    scheme, location = parse_target(target, bot)
    return name if scheme == "file" else _hub_file_url(location, name)


def check_credentials(target: str, bot: str, token: str | None) -> None:
    """Refuse an hf:// target without a token before anything is read or sent."""
    scheme, location = parse_target(target, bot)
    if scheme == "hf" and not token:
        raise _missing_token(location)


def published_perplexity(target: str, bot: str, token: str | None = None) -> float | None:
    """The validation perplexity of the model published at `target`, None if none is."""
    scheme, location = parse_target(target, bot)
    if scheme == "file":
        card = Path(location) / "README.md"
        return read_card_perplexity(card.read_text(encoding="utf-8")) if card.exists() else None
    return _hub_card_perplexity(location, token)


def publish(
    files: dict[str, Path], target: str, bot: str, message: str, token: str | None = None
) -> str:
    """Put `files` (name in the repo -> local file or directory) at `target`; return a URL."""
    scheme, location = parse_target(target, bot)
    if scheme == "file":
        _publish_to_directory(files, Path(location))
        return Path(location).as_uri()
    return _publish_to_hub(files, location, message, token)


def _publish_to_directory(files: dict[str, Path], final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    for name, source in files.items():
        if source.is_dir():
            shutil.copytree(source, staging / name, dirs_exist_ok=True)
        else:
            shutil.copy2(source, staging / name)
    with_default_modes(staging)
    # Swap by renames: readers see the old bot or the new one, never a mix.
    retired = final.with_name(f".{final.name}.retired")
    shutil.rmtree(retired, ignore_errors=True)
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    shutil.rmtree(retired, ignore_errors=True)


def _publish_to_hub(files: dict[str, Path], repo_id: str, message: str, token: str | None) -> str:
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    if not token:
        raise _missing_token(repo_id)
    api = HfApi(token=token)
    operations = [
        CommitOperationAdd(
            path_in_repo=f"{name}/{p.relative_to(source).as_posix()}" if source.is_dir() else name,
            path_or_fileobj=p,
        )
        for name, source in files.items()
        for p in (
            sorted(x for x in source.rglob("*") if x.is_file()) if source.is_dir() else [source]
        )
    ]
    try:
        api.create_repo(repo_id, exist_ok=True)
        commit = api.create_commit(repo_id, operations=operations, commit_message=message)
    except HfHubHTTPError as error:
        rejected = _rejected_token(error, repo_id)
        if rejected is None:
            raise
        raise rejected from error
    return commit.commit_url


def _hub_card_perplexity(repo_id: str, token: str | None) -> float | None:
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    # A plain GET, not hf_hub_download: that answers from its local cache when the Hub
    # errors, and a stale card could let a worse model replace the one published now.
    # Errors keep their HTTP status, so the task retries a 5xx.
    response = get_session().get(
        _hub_file_url(repo_id, "README.md"),
        headers=build_hf_headers(token=token),
        timeout=_HUB_READ_TIMEOUT_S,
    )
    try:
        hf_raise_for_status(response)
    except (EntryNotFoundError, RepositoryNotFoundError):
        return None  # no repo yet, or a repo without a card: nothing published to beat
    except HfHubHTTPError as error:
        rejected = _rejected_token(error, repo_id)
        if rejected is None:
            raise
        raise rejected from error
    return read_card_perplexity(response.content.decode("utf-8"))


def _hub_file_url(repo_id: str, name: str) -> str:
    from huggingface_hub import constants

    # Read at each call: the endpoint can be pointed elsewhere (HF_ENDPOINT, a test Hub).
    return f"{constants.ENDPOINT}/{repo_id}/resolve/main/{name}"


def _missing_token(repo_id: str) -> PublishError:
    return PublishError(
        f"target hf://{repo_id} needs a Hugging Face token: set HF_TOKEN or create the "
        "Prefect Secret block 'hf-token'"
    )


def _rejected_token(error, repo_id: str) -> PublishError | None:
    """A 401/403 as one line naming the repo (retrying cannot help); None for other errors."""
    status = error.response.status_code
    if status not in (401, 403):
        return None
    reason = " ".join((error.server_message or f"HTTP {status}").split())
    return PublishError(
        f"token rejected by the Hub for {repo_id}: {reason} "
        "(check HF_TOKEN or the Prefect Secret block 'hf-token'; it needs "
        "write access)"
    )
