"""publish: the bot's card, weights and predictions at its target, if the gate lets it.

Two steps. The gate reads the score of the model published at the target now (through
the target's interface) and lets a new model through only when its validation perplexity
is no worse, or when forced. Publishing then writes the card and puts the model, tokenizer,
card and predictions there in one step (`tweetbots.targets`). The stage output records
what happened (published or not, and why) in `publish/<bot>/<fp>/`, with the card.
"""

import logging
import math
import re
from pathlib import Path
from typing import Annotated, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tweetbots import card, hub_base
from tweetbots.stages import output_key_of
from tweetbots.store import OutputKey, StageOutput, data_root, produce
from tweetbots.targets import PublishError, Target, check_target_uri, open_target, uri_pattern

log = logging.getLogger(__name__)

NAME = "publish"
CODE = (
    __name__,
    "tweetbots.card",
    "tweetbots.hub_base",
    "tweetbots.targets",
    "tweetbots.targets.file",
    "tweetbots.targets.hf",
)
# Not published: the model itself and its bookkeeping.
_NOT_PUBLISHED = {"manifest.json", "metrics.json"}


class PublishSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target: Annotated[
        str | None,
        Field(
            description="file:///DIR or hf://namespace/name; empty: the data root's published/",
            # For the UI's form only: the check below stays the rule, with its one line.
            json_schema_extra={"pattern": uri_pattern()},
        ),
    ] = None
    force: Annotated[
        bool, Field(description="publish even if the published model scores better")
    ] = False
    license: Annotated[
        str | None,
        Field(description="the card's license (a Hub id: mit, apache-2.0...); empty: the base's"),
    ] = None
    language: Annotated[
        str, Field(description="the posts' language, for the card: an ISO 639 code")
    ] = "en"
    private: Annotated[
        bool, Field(description="create the Hub repo private (an existing repo keeps its own)")
    ] = False

    @field_validator("target")
    @classmethod
    def _known_target(cls, target: str | None) -> str | None:
        return None if target is None else check_target_uri(target)

    @field_validator("license")
    @classmethod
    def _hub_license_id(cls, license: str | None) -> str | None:
        if license is not None and not _LICENSE_ID.fullmatch(license):
            raise ValueError(
                f"license {license!r} is not a Hub license id: use one like mit, apache-2.0, "
                "cc-by-4.0 or other"
            )
        return license

    @field_validator("language")
    @classmethod
    def _language_code(cls, language: str) -> str:
        if not _LANGUAGE_CODE.fullmatch(language):
            raise ValueError(
                f"language {language!r} is not a language code: use an ISO 639 one like en or fr"
            )
        return language


# The Hub's license ids (mit, apache-2.0, cc-by-nc-sa-4.0, bigscience-openrail-m, other...).
_LICENSE_ID = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


def target_uri(settings: PublishSettings) -> str:
    """The settings' target; by default the data root's own `published/` directory."""
    return settings.target or (data_root() / "published").as_uri()


class GateDecision(NamedTuple):
    publish: bool
    previous_perplexity: float | None
    reason: str


def output_key(
    model: StageOutput,
    report: StageOutput,
    cleaned: StageOutput,
    base: StageOutput,
    settings: PublishSettings,
) -> OutputKey:
    settings_used = {**settings.model_dump(mode="json"), "target": target_uri(settings)}
    return output_key_of(NAME, CODE, [model, report, cleaned, base], settings_used)


def run(
    model: StageOutput,
    report: StageOutput,
    cleaned: StageOutput,
    base: StageOutput,
    settings: PublishSettings,
    *,
    token: str | None = None,
    message: str = "Publish bot",
    wandb_links: dict[str, str | None] | None = None,
) -> StageOutput:
    """Publish model, card and predictions if the gate lets the new model through.

    `wandb_links` (`wandb_train_url`, `wandb_data_url`) are the W&B runs the card links.
    """
    key = output_key(model, report, cleaned, base, settings)
    target = open_target(key.settings["target"], model.bot, token)

    def build(tmp: Path) -> dict:
        target.check_credentials()  # before the gate reads the Hub
        decision = gate(target, report.summary["perplexity"], settings.force)
        url = license = None
        if decision.publish:
            license = settings.license or _base_license(model.bot, base)
            links = wandb_links or {}
            text = _card(target, report, cleaned, base, settings, license, links)
            (tmp / "README.md").write_text(text, "utf-8")
            url = target.publish(_files(model, report, tmp), message, private=settings.private)
        else:
            log.warning("not publishing %s: %s", model.bot, decision.reason)
        return {
            "target": target.uri,
            "url": url,
            "published": url is not None,
            "reason": decision.reason,
            "license": license,
            "perplexity": report.summary["perplexity"],
            "previous_perplexity": decision.previous_perplexity,
            "card": str(key.path / "README.md") if url else None,
            "model_dir": str(model.path),
            "report": str(report.path / "report.json"),
            "predictions": str(report.path / "predictions.png"),
        }

    return produce(key, build)


def gate(target: Target, perplexity: float, force: bool) -> GateDecision:
    """Whether a model of `perplexity` may replace the one published at `target`.

    A model that scores no worse goes through (a tie is the same model with a new card).
    A score that is not a finite positive number is never published, and a published card
    without one cannot be compared: only `force` replaces it.
    """
    if not _is_score(perplexity):
        raise PublishError(f"{target.bot}: perplexity {perplexity} is not a score: not published")
    published = target.published_card()
    if published is None:
        return GateDecision(True, None, "nothing was published there yet")
    previous = card.read_card_perplexity(published)
    if force:
        return GateDecision(True, previous, "forced")
    if previous is None or not _is_score(previous):
        raise PublishError(
            f"the model published at {target.model_id} declares no usable perplexity "
            f"({previous}), so the gate cannot compare: rerun with --force to replace it"
        )
    # A tie goes through: it is the same model again, with a card or code that changed.
    if card.as_declared(perplexity) <= previous:
        return GateDecision(True, previous, f"perplexity {perplexity:.3f} vs {previous:.3f}")
    return GateDecision(
        False,
        previous,
        f"perplexity {perplexity:.3f} does not beat the published {previous:.3f}",
    )


def _is_score(value: float) -> bool:
    return math.isfinite(value) and value > 0


def _files(model: StageOutput, report: StageOutput, tmp: Path) -> dict[str, Path]:
    files = {p.name: p for p in sorted(model.path.iterdir()) if p.name not in _NOT_PUBLISHED}
    return files | {
        "README.md": tmp / "README.md",
        "predictions.png": report.path / "predictions.png",
    }


def _base_license(bot: str, base: StageOutput) -> str | None:
    """The license the base model's card declares; none for `tiny`, built here."""
    spec, model_dir = base.summary["model"], Path(base.summary["model_dir"])
    license = hub_base.base_license(spec, model_dir, base.summary.get("revision"))
    if license is None:
        why = "built here" if spec == hub_base.TINY else "its card declares none"
        log.warning(
            "the card of %s declares no license: its base %s has none (%s); set one with --license",
            bot,
            spec,
            why,
        )
    return license


def _card(
    target: Target,
    report: StageOutput,
    cleaned: StageOutput,
    base: StageOutput,
    settings: PublishSettings,
    license: str | None,
    links: dict[str, str | None],
) -> str:
    profiles = {p["user"]: p for p in cleaned.summary["profiles"]}
    users = [
        card.CardUser(
            user=user,
            display_name=profiles.get(user, {}).get("display_name", user),
            avatar_url=profiles.get(user, {}).get("avatar_url"),
            profile_url=profiles.get(user, {}).get("profile_url"),
            **stats,
        )
        for user, stats in cleaned.summary["stats"].items()
    ]
    return card.render_card(
        card.CardData(
            model_id=target.model_id,
            users=users,
            base_model=base.summary["model"],
            base_model_id=hub_base.hub_id(base.summary["model"]),
            license=license,
            language=settings.language,
            perplexity=report.summary["perplexity"],
            base_perplexity=report.summary["base_perplexity"],
            thumbnail=target.file_url("predictions.png"),
            **links,
        )
    )
