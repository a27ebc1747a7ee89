"""The stages with their I/O: read inputs from stage directories, write outputs to one.

The other library modules are pure functions of data; this module is the edge where
they meet the data root. Each stage has two functions:

- `<stage>_dir(...)`: where its output will live, computed from its inputs alone (the
  fingerprint), so the orchestrator can tell before running whether it exists;
- `run_<stage>(...)`: builds that directory atomically (or returns it if complete).
"""

import functools
import inspect
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from tweetbots import basemodel, card, clean, encode, evaluate, publish, rawstore, train
from tweetbots.config import EvalSettings, PublishSettings, TokenizeSettings, TrainSettings
from tweetbots.sources import local_source_digest, read_source, store_identity
from tweetbots.store import (
    StageOutput,
    bot_lock,
    building,
    data_root,
    fingerprint,
    is_complete,
    load_output,
    read_manifest,
    stage_dir,
    write_manifest,
)

log = logging.getLogger(__name__)


def _one_writer_per_bot(runner):
    """Run `runner` holding its bot's lock: two runs of a bot never interleave writes."""
    signature = inspect.signature(runner)

    @functools.wraps(runner)
    def locked(*args, **kwargs):
        with bot_lock(signature.bind(*args, **kwargs).arguments["bot"]):
            return runner(*args, **kwargs)

    return locked


def _finish(stage: str, bot: str, tmp: Path, final: Path, inputs: list, **summary) -> None:
    write_manifest(
        tmp, stage=stage, bot=bot, fingerprint=final.name, inputs=inputs, summary=summary
    )


# -- scrape ---------------------------------------------------------------------------


def check_source(spec: str) -> str:
    """What a source holds now, as a fingerprint: the sensor every run starts with.

    A local source is its content digest. A network source fetches the posts newer than
    the newest stored into the raw store (an empty increment costs a request or two, the
    least any check could) and is the fingerprint of the user's stored parts. Either way
    an unchanged source gives the same value, so the scrape stage keyed by it is cached.
    """
    digest = local_source_digest(spec)
    if digest:
        return digest
    users, _ = _fetch_into_store(spec)
    return fingerprint([u["parts"] for u in users])


def scrape_dir(spec: str, bot: str, source_state: str) -> Path:
    return stage_dir("scrapes", bot, spec, source_state)


def scrape_is_complete(out: Path) -> bool:
    """A scrape output is usable only while every raw part it lists is still stored."""
    return is_complete(out) and rawstore.parts_exist(out)


@_one_writer_per_bot
def run_scrape(spec: str, bot: str, source_state: str | None = None) -> StageOutput:
    """Read a source, append its new posts to the raw store, record the user's parts.

    For a network source that `check_source` just fetched, the read is an empty
    increment: it lists the stored parts and brings the profile for the card.
    """
    out = scrape_dir(spec, bot, source_state or check_source(spec))
    if scrape_is_complete(out):
        return load_output("scrape", bot, out)
    users, batch = _fetch_into_store(spec)
    with building(out) as tmp:
        write_manifest(
            tmp,
            stage="scrape",
            bot=bot,
            fingerprint=fingerprint([u["parts"] for u in users]),
            inputs=[spec],
            summary={"users": users, "profiles": [p.model_dump() for p in batch.profiles]},
        )
    log.info(
        "scraped %s: %d posts offered, users %s", spec, len(batch.posts), [u["user"] for u in users]
    )
    return load_output("scrape", bot, out)


def _fetch_into_store(spec: str):
    """Read the source (network ones: only posts newer than stored) into the raw store."""
    identity = store_identity(spec)
    newer_than = rawstore.newest_id(data_root(), *identity) if identity else None
    batch = read_source(spec, newer_than)
    users = rawstore.append_posts(batch.posts, data_root(), expected=identity)
    return users, batch


# -- clean ----------------------------------------------------------------------------


def clean_dir(scrapes: list[StageOutput], bot: str) -> Path:
    return stage_dir("clean", bot, [s.fingerprint for s in scrapes])


@_one_writer_per_bot
def run_clean(scrapes: list[StageOutput], bot: str) -> StageOutput:
    """Apply the original's rules to every user's raw posts; record the card's table."""
    out = clean_dir(scrapes, bot)
    if not is_complete(out):
        _require_posts(scrapes)
        users = [u for s in scrapes for u in s.summary["users"]]
        raw = rawstore.read_posts(users, data_root())
        kept, stats = clean.clean_posts(raw)
        warnings = clean.text_volume_warnings(kept, stats)
        for warning in warnings:
            log.warning(warning)
        profiles = [p for s in scrapes for p in s.summary["profiles"]]
        with building(out) as tmp:
            kept.to_parquet(tmp / "posts.parquet", index=False)
            _finish(
                "clean",
                bot,
                tmp,
                out,
                [s.fingerprint for s in scrapes],
                stats={u: s.model_dump() for u, s in stats.items()},
                profiles=profiles,
                warnings=warnings,
            )
    return load_output("clean", bot, out)


def _require_posts(scrapes: list[StageOutput]) -> None:
    """A source that gave nothing is a mistake (wrong account, empty export): say which."""
    for scrape in scrapes:
        if not any(u["parts"] for u in scrape.summary["users"]):
            spec = read_manifest(scrape.path)["inputs"][0]
            raise clean.NotEnoughTextError(
                f"source {spec!r} has no posts to train on: check that it is the right "
                "account or export, or replace it with another source"
            )


# -- base model -----------------------------------------------------------------------


def base_dir(spec: str, clean_output: StageOutput, bot: str) -> Path:
    return _base_dir(spec, bot, _base_revision(spec, clean_output))


def _base_revision(spec: str, clean_output: StageOutput) -> str:
    # Named by what it holds: `tiny` by the corpus its tokenizer is trained on, a Hub
    # model by its commit, a local directory by its files' content.
    return clean_output.fingerprint if spec == "tiny" else basemodel.pinned_revision(spec)


def _base_dir(spec: str, bot: str, revision: str) -> Path:
    return stage_dir("base", bot, spec, revision)


@_one_writer_per_bot
def run_base(spec: str, clean_output: StageOutput, bot: str) -> StageOutput:
    """Resolve the base model: build `tiny` here, or find a local dir / Hub snapshot."""
    # Resolved once: the directory is named by the revision that is then fetched.
    revision = _base_revision(spec, clean_output)
    out = _base_dir(spec, bot, revision)
    if not is_complete(out):
        with building(out) as tmp:
            if spec == "tiny":
                texts = pd.read_parquet(clean_output.path / "posts.parquet")["text"]
                basemodel.build_tiny_model(texts.tolist(), tmp)
                model_dir, revision = out, "built-locally"
            else:
                model_dir = basemodel.fetch_pretrained(spec, revision)
            _finish(
                "base",
                bot,
                tmp,
                out,
                [spec],
                model=spec,
                model_dir=str(model_dir),
                revision=revision,
            )
    return load_output("base", bot, out)


# -- tokenize -------------------------------------------------------------------------


def tokens_dir(
    clean_output: StageOutput, base: StageOutput, settings: TokenizeSettings, bot: str
) -> Path:
    return stage_dir("tokens", bot, clean_output.fingerprint, base.fingerprint, settings)


@_one_writer_per_bot
def run_tokenize(
    clean_output: StageOutput, base: StageOutput, settings: TokenizeSettings, bot: str
) -> StageOutput:
    """Split posts by id hash, balance users (train only), pack into token blocks."""
    from transformers import AutoConfig, AutoTokenizer

    out = tokens_dir(clean_output, base, settings, bot)
    if not is_complete(out):
        model_dir = base.summary["model_dir"]
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        block = min(settings.block_size, AutoConfig.from_pretrained(model_dir).n_positions)
        posts = pd.read_parquet(clean_output.path / "posts.parquet")
        val_mask = encode.is_validation(posts["id"], settings.val_fraction)
        # Balancing repeats posts; done on the train side only, after the split, so a
        # repeated post can never leak into validation.
        train_posts = clean.balance_users(posts[~val_mask], seed=settings.seed)
        dtype = encode.smallest_dtype(len(tokenizer))
        counts = {}
        with building(out) as tmp:
            for split, frame in (("train", train_posts), ("val", posts[val_mask])):
                ids = encode.encode_texts(frame["text"].tolist(), tokenizer)
                blocks = encode.pack_blocks(ids, tokenizer.eos_token_id, block)
                np.save(tmp / f"{split}.npy", blocks.astype(dtype))
                counts[split] = {
                    "posts": len(frame),
                    "blocks": len(blocks),
                    "tokens": int(blocks.size),
                }
            _finish(
                "tokenize",
                bot,
                tmp,
                out,
                [clean_output.fingerprint, base.fingerprint],
                block_size=block,
                settings=settings.model_dump(),
                **counts,
            )
    return load_output("tokenize", bot, out)


# -- fine-tune ------------------------------------------------------------------------


def model_dir(tokens: StageOutput, base: StageOutput, settings: TrainSettings, bot: str) -> Path:
    return stage_dir("models", bot, tokens.fingerprint, base.fingerprint, settings)


@_one_writer_per_bot
def run_fine_tune(
    tokens: StageOutput,
    base: StageOutput,
    settings: TrainSettings,
    bot: str,
    on_progress: train.ProgressCallback | None = None,
) -> StageOutput:
    """Fine-tune the base on the train blocks; save a standard save_pretrained dir."""
    out = model_dir(tokens, base, settings, bot)
    if not is_complete(out):
        blocks = np.load(tokens.path / "train.npy")
        rate = settings.learning_rate_for(base.summary["model"])
        # Beside the output, not inside its temp dir: it must survive a killed process.
        checkpoints = out.with_name(f"{out.name}.checkpoint")
        with building(out) as tmp:
            metrics = train.fine_tune(
                Path(base.summary["model_dir"]),
                blocks,
                settings,
                rate,
                tmp,
                checkpoints,
                on_progress,
            )
            (tmp / "metrics.json").write_text(metrics.model_dump_json(indent=2))
            _finish(
                "fine-tune",
                bot,
                tmp,
                out,
                [tokens.fingerprint, base.fingerprint],
                settings=settings.model_dump(),
                **metrics.model_dump(),
            )
        shutil.rmtree(checkpoints, ignore_errors=True)
    return load_output("fine-tune", bot, out)


# -- evaluate -------------------------------------------------------------------------


def eval_dir(
    model: StageOutput,
    base: StageOutput,
    tokens: StageOutput,
    clean_output: StageOutput,
    settings: EvalSettings,
    bot: str,
) -> Path:
    return stage_dir(
        "eval",
        bot,
        model.fingerprint,
        base.fingerprint,
        tokens.fingerprint,
        clean_output.fingerprint,
        settings,
    )


@_one_writer_per_bot
def run_evaluate(
    model: StageOutput,
    base: StageOutput,
    tokens: StageOutput,
    clean_output: StageOutput,
    settings: EvalSettings,
    bot: str,
) -> StageOutput:
    """Base vs fine-tuned on held-out blocks, samples, memorisation, distinct-2."""
    out = eval_dir(model, base, tokens, clean_output, settings, bot)
    if not is_complete(out):
        val = np.load(tokens.path / "val.npy")
        base_loss = evaluate.validation_loss(Path(base.summary["model_dir"]), val)
        loss = evaluate.validation_loss(model.path, val)
        samples = evaluate.sample_predictions(model.path, settings)
        posts = pd.read_parquet(clean_output.path / "posts.parquet")
        val_fraction = tokens.summary["settings"]["val_fraction"]
        train_texts = posts["text"][~encode.is_validation(posts["id"], val_fraction)].tolist()
        report = evaluate.EvalReport(
            base_loss=base_loss,
            base_perplexity=evaluate.perplexity(base_loss),
            loss=loss,
            perplexity=evaluate.perplexity(loss),
            validation_tokens=int(val.size),
            samples=samples,
            memorisation_rate=evaluate.memorisation_rate(
                samples, train_texts, settings.memorisation_words
            ),
            distinct_2=evaluate.distinct_2(samples),
        )
        with building(out) as tmp:
            (tmp / "report.json").write_text(report.model_dump_json(indent=2))
            evaluate.render_predictions_png(samples, f"@{bot}", tmp / "predictions.png")
            _finish(
                "evaluate",
                bot,
                tmp,
                out,
                [model.fingerprint, tokens.fingerprint],
                **report.model_dump(mode="json"),
            )
    return load_output("evaluate", bot, out)


# -- publish --------------------------------------------------------------------------


def default_target() -> str:
    return (data_root() / "published").as_uri()


def publish_dir(
    model: StageOutput,
    report: StageOutput,
    clean_output: StageOutput,
    base: StageOutput,
    settings: PublishSettings,
    bot: str,
) -> Path:
    target = settings.target or default_target()
    return stage_dir(
        "publish",
        bot,
        model.fingerprint,
        report.fingerprint,
        clean_output.fingerprint,
        base.fingerprint,
        target,
        settings.force,
    )


@_one_writer_per_bot
def run_publish(
    model: StageOutput,
    report: StageOutput,
    clean_output: StageOutput,
    base: StageOutput,
    settings: PublishSettings,
    bot: str,
    token: str | None = None,
    message: str = "Publish bot",
    wandb_links: dict[str, str | None] | None = None,
) -> StageOutput:
    """Write the card and publish model + card + predictions, if the gate lets it through.

    `wandb_links` (`wandb_train_url`, `wandb_data_url`) are the W&B runs the card links.
    """
    out = publish_dir(model, report, clean_output, base, settings, bot)
    if is_complete(out):
        return load_output("publish", bot, out)
    target = settings.target or default_target()
    publish.check_credentials(target, bot, token)  # before the gate reads the Hub
    current = publish.published_perplexity(target, bot, token)
    new = report.summary["perplexity"]
    better = current is None or new < current
    with building(out) as tmp:
        url = None
        if better or settings.force:
            data = _card_data(report, clean_output, base, target, bot, wandb_links or {})
            card_text = card.render_card(data)
            (tmp / "README.md").write_text(card_text, encoding="utf-8")
            files = {
                p.name: p
                for p in sorted(model.path.iterdir())
                if p.name not in {"manifest.json", "metrics.json"}
            }
            files |= {
                "README.md": tmp / "README.md",
                "predictions.png": report.path / "predictions.png",
            }
            url = publish.publish(files, target, bot, message, token)
        else:
            log.warning(
                "not publishing %s: perplexity %.3f does not beat the published %.3f",
                bot,
                new,
                current,
            )
        _finish(
            "publish",
            bot,
            tmp,
            out,
            [model.fingerprint, report.fingerprint],
            target=target,
            url=url,
            published=url is not None,
            perplexity=new,
            previous_perplexity=current,
            card=str(out / "README.md") if url else None,
            model_dir=str(model.path),
            report=str(report.path / "report.json"),
            predictions=str(report.path / "predictions.png"),
        )
    return load_output("publish", bot, out)


def _card_data(
    report: StageOutput,
    clean_output: StageOutput,
    base: StageOutput,
    target: str,
    bot: str,
    links: dict[str, str | None],
) -> card.CardData:
    profiles = {p["user"]: p for p in clean_output.summary["profiles"]}
    users = [
        card.CardUser(
            user=user,
            display_name=profiles.get(user, {}).get("display_name", user),
            avatar_url=profiles.get(user, {}).get("avatar_url"),
            profile_url=profiles.get(user, {}).get("profile_url"),
            **stats,
        )
        for user, stats in clean_output.summary["stats"].items()
    ]
    return card.CardData(
        model_id=publish.model_id(target, bot),
        users=users,
        base_model=base.summary["model"],
        perplexity=report.summary["perplexity"],
        base_perplexity=report.summary["base_perplexity"],
        thumbnail=publish.published_file_url(target, bot, "predictions.png"),
        **links,
    )
