"""The base model as a bot's card names it: the Hub id it is known by, and its license.

The Hub moved the legacy GPT-2 ids to organisations (`gpt2` redirects to
`openai-community/gpt2`); a card declares the canonical id, resolved from a table, so
no request is made. The license is the one the base's own card declares: its README in
the base's directory (a local model, or a Hub snapshot downloaded whole), else what the
GPT-2 family's cards declare, else, online only, the card fetched from the Hub. `tiny` is
built here from the bot's posts: it has no license of its own.
"""

import logging
from pathlib import Path

log = logging.getLogger(__name__)

TINY = "tiny"
# Where the Hub redirects the legacy ids of the GPT-2 family.
LEGACY_IDS = {
    "gpt2": "openai-community/gpt2",
    "gpt2-medium": "openai-community/gpt2-medium",
    "gpt2-large": "openai-community/gpt2-large",
    "gpt2-xl": "openai-community/gpt2-xl",
    "distilgpt2": "distilbert/distilgpt2",
}
# The `license` these repos' cards declare.
KNOWN_LICENSES = {
    "openai-community/gpt2": "mit",
    "openai-community/gpt2-medium": "mit",
    "openai-community/gpt2-large": "mit",
    "openai-community/gpt2-xl": "mit",
    "distilbert/distilgpt2": "apache-2.0",
}


def hub_id(spec: str) -> str | None:
    """The canonical Hub id of the base named `spec`; None for `tiny` and a local directory."""
    if spec == TINY or Path(spec).expanduser().exists():
        return None
    return LEGACY_IDS.get(spec, spec)


def base_license(spec: str, model_dir: Path, revision: str | None = None) -> str | None:
    """The license the card of the base `spec` (at `revision`, in `model_dir`) declares."""
    if spec == TINY:
        return None
    declared = card_license(model_dir / "README.md")
    repo = hub_id(spec)
    if declared or repo is None:
        return declared
    return KNOWN_LICENSES.get(repo) or _fetched_license(spec, revision)


def card_license(readme: Path) -> str | None:
    """The `license` in a model card's front matter; None without a card or a license."""
    from huggingface_hub import ModelCard

    if not readme.is_file():
        return None
    try:
        return ModelCard.load(readme, ignore_metadata_errors=True).data.license
    except Exception as error:  # noqa: BLE001 - an unreadable card declares nothing
        log.info("no license read from %s: %s", readme, error)
        return None


def _fetched_license(repo_id: str, revision: str | None) -> str | None:
    """Online, the card of the base at `revision` from the Hub (kept in the HF cache)."""
    from huggingface_hub import constants, hf_hub_download

    if constants.HF_HUB_OFFLINE:
        return None
    try:
        readme = hf_hub_download(repo_id, "README.md", revision=revision)
    except Exception as error:  # noqa: BLE001 - no card, no network: no license known
        log.info("no card of %s at %s on the Hub: %s", repo_id, revision, error)
        return None
    return card_license(Path(readme))
