"""The plan of a bot: which stages a run would execute now, and why, running none.

It walks the DAG of `flows/train_bot.py` with the stages' own `output_key`s, the same
functions that name their outputs and key Prefect's cache: one truth. Sensing a source is
the one thing it does for real (`scrape.fetch_new_posts`: a network source's new posts go
into the raw store, so the run that follows does not fetch them again). Each stage then
either has its output (up to date) or would run; its reasons come from comparing its key
with the key of the last output built for the bot: new posts from a source, the stage's
code changed, the base model has a new revision, settings changed, the output is gone.
"""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tweetbots.config import BotSpec
from tweetbots.stages import base_model, clean, evaluate, fine_tune, publish, scrape, tokenize
from tweetbots.store import (
    MANIFEST,
    OutputKey,
    StageOutput,
    data_root,
    is_complete,
    last_key,
    load_output,
)


class StagePlan(BaseModel):
    stage: str
    runs: bool
    reasons: list[str] = []
    output: Path | None = None


class BotPlan(BaseModel):
    bot: str
    stages: list[StagePlan]
    # What the sensing found, handed to the run so it does not sense again.
    source_states: dict[str, str]
    published_url: str | None = None
    last_trained: datetime | None = None

    @property
    def has_work(self) -> bool:
        return any(stage.runs for stage in self.stages)

    @property
    def why(self) -> list[str]:
        """The reasons of the first stage that would run: the cause of all the others."""
        return next((s.reasons for s in self.stages if s.runs), [])


def plan_bot(bot: BotSpec) -> BotPlan:
    """Which stages of `bot` a run would execute now, and why; none is executed."""
    states = {spec: scrape.fetch_new_posts(spec) for spec in bot.sources}
    walk = _Walk()
    scrapes = [walk.stage(scrape, spec, bot.name, states[spec]) for spec in bot.sources]
    cleaned = walk.stage(clean, scrapes)
    base = walk.stage(base_model, bot.base_model, cleaned)
    tokens = walk.stage(tokenize, cleaned, base, bot.tokenize)
    model = walk.stage(fine_tune, tokens, base, bot.train)
    report = walk.stage(evaluate, model, base, tokens, cleaned, bot.evaluate)
    walk.stage(publish, model, report, cleaned, base, bot.publish)
    published = _latest(publish.NAME, bot.name, lambda m: m["summary"].get("published"))
    trained = _latest(fine_tune.NAME, bot.name)
    return BotPlan(
        bot=bot.name,
        stages=walk.plans,
        source_states=states,
        published_url=published["summary"]["url"] if published else None,
        last_trained=datetime.fromisoformat(trained["created_at"]) if trained else None,
    )


class _Walk:
    """Each stage's plan in DAG order, handing on what each output is or will be."""

    def __init__(self) -> None:
        self.plans: list[StagePlan] = []

    def stage(self, module, *args) -> StageOutput | None:
        """The stage's output if it is there, what it will be if it is not (None: not
        known before an input is rebuilt)."""
        if any(a is None for a in _flat(args)):
            reason = "an input is rebuilt first, and what it will hold is not known yet"
            self.plans.append(StagePlan(stage=module.NAME, runs=True, reasons=[reason]))
            return None
        key = module.output_key(*args)
        usable = getattr(module, "is_usable", is_complete)(key.path)
        self.plans.append(
            StagePlan(
                stage=module.NAME,
                runs=not usable,
                reasons=[] if usable else _reasons(key),
                output=key.path,
            )
        )
        return load_output(key.path) if usable else _projected(key)


def _projected(key: OutputKey) -> StageOutput | None:
    """What the output will be once built: named by its key, which is what the next stages'
    keys read. A scrape is named by what it holds: None when that is unknown before it runs."""
    fingerprint = key.fingerprint
    summary = {}
    if key.stage == scrape.NAME:
        summary = {"source": key.inputs["source"]}
        fingerprint = scrape.projected_fingerprint(key.inputs["source"], key.inputs["state"])
        if fingerprint is None:
            return None
    return StageOutput(
        stage=key.stage, bot=key.bot, path=key.path, fingerprint=fingerprint, summary=summary
    )


def _reasons(key: OutputKey) -> list[str]:
    previous = last_key(key.stage, key.bot)
    if previous is None:
        return ["never built for this bot"]
    if previous.fingerprint == key.fingerprint:
        return ["its output was deleted or is unreadable"]
    reasons = []
    if previous.code != key.code:
        reasons.append(f"the {key.stage} code changed")
    for name in sorted(set(key.inputs) | set(previous.inputs)):
        old, new = previous.inputs.get(name), key.inputs.get(name)
        if old != new:
            reasons.append(_changed_input(key, name, old, new))
    changed = _changed_settings(previous.settings, key.settings)
    if changed:
        reasons.append(f"settings changed: {changed}")
    return [r for r in dict.fromkeys(reasons) if r]


def _changed_input(key: OutputKey, name: str, old: str | None, new: str | None) -> str:
    if key.stage == scrape.NAME:
        spec = key.inputs["source"]
        return f"new posts from source {spec}" if name == "state" else ""
    if name.startswith(f"{scrape.NAME} "):
        return f"new posts from source {name.removeprefix(scrape.NAME + ' ')}"
    if name == "revision":
        return (
            f"the base model {key.settings.get('model')} has a new revision "
            f"({(old or '?')[:12]} -> {(new or '?')[:12]})"
        )
    return f"the {name} output changed"


def _changed_settings(old: dict[str, Any], new: dict[str, Any]) -> str:
    names = sorted(set(old) | set(new))
    return ", ".join(
        f"{n} {json.dumps(old.get(n))} -> {json.dumps(new.get(n))}"
        for n in names
        if old.get(n) != new.get(n)
    )


def _latest(stage: str, bot: str, wanted=lambda manifest: True) -> dict | None:
    """The manifest of the newest complete output of `stage` for `bot` that is `wanted`."""
    manifests = []
    for path in (data_root() / stage / bot).glob(f"*/{MANIFEST}"):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # an unreadable output is no output
        if isinstance(manifest, dict) and wanted(manifest):
            manifests.append(manifest)
    return max(manifests, key=lambda m: m.get("created_at", ""), default=None)


def _flat(args) -> list:
    return [x for a in args for x in (a if isinstance(a, list) else [a])]
