"""The publish stage: the gate, the card it writes (with the W&B runs it links), and what it
sends to each target."""

import json
import math
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fakes.checks import one_line, snapshot
from tests.fakes.hub import TOKEN
from tests.fakes.stages import finished_output
from tweetbots.card import read_card_perplexity
from tweetbots.stages import publish
from tweetbots.stages.publish import PublishSettings
from tweetbots.store import LOCKS
from tweetbots.targets import PublishError

RUN_URL = "http://127.0.0.1:4200/runs/flow-run/0b7e5f0e-1111-2222-3333-444455556666"


@pytest.fixture
def publishable(data_root, tmp_path):
    """Real directories for a model, a report and a clean dataset, without training."""
    model = finished_output("fine-tune", data_root / "fine-tune" / "bot" / "m1")
    (model.path / "model.safetensors").write_bytes(b"weights")
    cleaned = finished_output(
        "clean",
        data_root / "clean" / "bot" / "c1",
        profiles=[
            {"platform": "file", "user": "alice", "display_name": "Alice", "avatar_url": None}
        ],
        stats={"alice": {"downloaded": 10, "retweets": 1, "short": 2, "kept": 7}},
    )
    base = finished_output(
        "base-model", data_root / "base-model" / "bot" / "b1", model="tiny", model_dir="x"
    )

    def report(name: str, perplexity: float):
        out = finished_output(
            "evaluate",
            data_root / "evaluate" / "bot" / name,
            perplexity=perplexity,
            base_perplexity=900.0,
        )
        (out.path / "predictions.png").write_bytes(b"png")
        return out

    return model, cleaned, base, report, PublishSettings(target=f"file://{tmp_path}/hub")


def _published_perplexity(tmp_path) -> float:
    return read_card_perplexity((tmp_path / "hub" / "bot" / "README.md").read_text())


def test_gate_publishes_only_a_better_model(publishable, tmp_path):
    model, cleaned, base, report, settings = publishable
    first = publish.run(model, report("r1", 20.0), cleaned, base, settings)
    assert first.summary["published"] and _published_perplexity(tmp_path) == 20.0

    worse = publish.run(model, report("r2", 25.0), cleaned, base, settings)
    assert not worse.summary["published"] and worse.summary["previous_perplexity"] == 20.0
    assert "does not beat the published 20.000" in worse.summary["reason"]
    assert _published_perplexity(tmp_path) == 20.0

    better = publish.run(model, report("r3", 15.0), cleaned, base, settings)
    assert better.summary["published"] and _published_perplexity(tmp_path) == 15.0


def test_the_same_model_ties_with_its_own_card_and_is_published_again(publishable, tmp_path):
    """The card declares 4 decimals: the unrounded score must not lose to its own card."""
    model, cleaned, base, report, settings = publishable
    publish.run(model, report("r1", 432.67621687), cleaned, base, settings)
    again = publish.run(model, report("r2", 432.67621687), cleaned, base, settings)
    assert again.summary["published"], again.summary["reason"]
    worse = publish.run(model, report("r3", 432.6763), cleaned, base, settings)
    assert not worse.summary["published"]


def test_force_publishes_a_worse_model(publishable, tmp_path):
    model, cleaned, base, report, settings = publishable
    publish.run(model, report("r1", 20.0), cleaned, base, settings)
    forced = settings.model_copy(update={"force": True})
    result = publish.run(model, report("r2", 30.0), cleaned, base, forced)
    assert result.summary["published"] and _published_perplexity(tmp_path) == 30.0
    files = json.dumps(sorted(p.name for p in (tmp_path / "hub" / "bot").iterdir()))
    assert files == '[".tweetbots-published", "README.md", "model.safetensors", "predictions.png"]'


@pytest.mark.parametrize("score", [math.nan, math.inf, 0.0, -3.0])
def test_a_score_that_is_not_a_finite_positive_number_is_never_published(
    publishable, tmp_path, score
):
    model, cleaned, base, report, settings = publishable
    forced = settings.model_copy(update={"force": True})  # not even forced
    with pytest.raises(PublishError, match="is not a score") as error:
        publish.run(model, report("r1", score), cleaned, base, forced)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "hub").exists()


@pytest.mark.parametrize("declared", [".nan", "0", "-4.5", "not a number", None])
def test_a_published_card_without_a_usable_score_needs_force(publishable, tmp_path, declared):
    """A NaN card blocked every later model ("the published model is at least as good")."""
    model, cleaned, base, report, settings = publishable
    publish.run(model, report("r1", 20.0), cleaned, base, settings)
    card = tmp_path / "hub" / "bot" / "README.md"
    text = card.read_text(encoding="utf-8")
    meta, body = text.split("---\n")[1], text.split("---\n", 2)[2]
    parsed = yaml.safe_load(meta)
    if declared is None:
        del parsed["model-index"]
    else:
        metric = parsed["model-index"][0]["results"][0]["metrics"][0]
        metric["value"] = yaml.safe_load(declared)
    card.write_text("---\n" + yaml.safe_dump(parsed) + "---\n" + body, encoding="utf-8")

    with pytest.raises(PublishError, match="--force") as error:
        publish.run(model, report("r2", 18.0), cleaned, base, settings)
    assert "no usable perplexity" in str(error.value) and "\n" not in str(error.value)

    forced = settings.model_copy(update={"force": True})
    assert publish.run(model, report("r2", 18.0), cleaned, base, forced).summary["published"]
    assert _published_perplexity(tmp_path) == 18.0


def test_a_hub_target_without_a_token_fails_before_reading_the_hub(publishable, data_root):
    model, cleaned, base, report, _ = publishable
    evaluated = report("r1", 20.0)
    before = snapshot(data_root, data_root / LOCKS)
    # HF_HUB_OFFLINE is set for the suite: reaching for the Hub would fail differently.
    with pytest.raises(PublishError) as error:
        publish.run(model, evaluated, cleaned, base, PublishSettings(target="hf://me/bot"))
    one_line(error, "hf://me/bot", "HF_TOKEN", "hf-token")
    assert snapshot(data_root, data_root / LOCKS) == before  # nothing written


def test_a_hub_publish_links_the_flow_run_and_an_absolute_thumbnail(hub, publishable):
    model, cleaned, base, report, settings = publishable
    to_hub = settings.model_copy(update={"target": "hf://me/bot"})
    message = f"tweetbots: publish bot (Prefect flow run {RUN_URL})"

    publish.run(model, report("r1", 20.0), cleaned, base, to_hub, token=TOKEN, message=message)

    repo = hub.repos["me/bot"]
    assert repo.commits[-1].message == message
    card = repo.files["README.md"].decode("utf-8")
    thumbnail = yaml.safe_load(card.split("---\n")[1])["thumbnail"]
    assert thumbnail == f"{hub.url}/me/bot/resolve/main/predictions.png"
    picture = httpx.get(thumbnail, headers={"Authorization": f"Bearer {TOKEN}"})
    assert picture.content == repo.files["predictions.png"] == b"png"


def _published_card(tmp_path):
    from huggingface_hub import ModelCard

    return ModelCard.load(tmp_path / "hub" / "bot" / "README.md").data


def _hub_base(data_root, tmp_path, spec: str):
    """A Hub base as the base-model stage leaves it: a snapshot without its README."""
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir(exist_ok=True)
    revision = "0123456789abcdef0123456789abcdef01234567"
    return finished_output(
        "base-model",
        data_root / "base-model" / "bot" / spec,
        model=spec,
        model_dir=str(snapshot),
        revision=revision,
    )


def test_the_card_declares_the_canonical_base_and_its_license(publishable, data_root, tmp_path):
    model, cleaned, _, report, settings = publishable
    base = _hub_base(data_root, tmp_path, "gpt2")
    result = publish.run(model, report("r1", 20.0), cleaned, base, settings)
    card = _published_card(tmp_path)
    assert (card.base_model, card.license, card.language) == ("openai-community/gpt2", "mit", "en")
    assert result.summary["license"] == "mit"


def test_license_and_language_settings_win(publishable, data_root, tmp_path):
    model, cleaned, _, report, settings = publishable
    chosen = settings.model_copy(update={"license": "cc-by-nc-4.0", "language": "fr"})
    publish.run(model, report("r1", 20.0), cleaned, _hub_base(data_root, tmp_path, "gpt2"), chosen)
    card = _published_card(tmp_path)
    assert (card.license, card.language) == ("cc-by-nc-4.0", "fr")


def test_a_tiny_base_gives_no_license_and_says_so(publishable, tmp_path, caplog):
    model, cleaned, base, report, settings = publishable
    result = publish.run(model, report("r1", 20.0), cleaned, base, settings)
    card = _published_card(tmp_path)
    assert card.license is None and card.base_model is None
    assert result.summary["license"] is None
    assert "declares no license: its base tiny has none (built here)" in caplog.text
    assert "--license" in caplog.text


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("license", "MIT License", "is not a Hub license id"),
        ("license", "", "is not a Hub license id"),
        ("language", "English", "is not a language code"),
    ],
)
def test_a_bad_license_or_language_is_one_line(field, value, expected):
    with pytest.raises(ValueError, match=expected) as error:
        PublishSettings(**{field: value})
    assert "\n" not in error.value.errors()[0]["msg"]


@pytest.mark.parametrize("private", [True, False])
def test_private_makes_a_new_hub_repo_private(hub, publishable, private):
    model, cleaned, base, report, settings = publishable
    to_hub = settings.model_copy(update={"target": "hf://me/bot", "private": private})
    publish.run(model, report("r1", 20.0), cleaned, base, to_hub, token=TOKEN)
    assert hub.repos["me/bot"].private is private


# -- the card links the W&B runs --------------------------------------------------------


def test_the_card_links_the_wandb_runs_it_is_given(data_root):
    root = data_root
    model = finished_output(
        "fine-tune", root / "fine-tune" / "bot" / "m1", files={"model.safetensors": b"w"}
    )
    report = finished_output(
        "evaluate",
        root / "evaluate" / "bot" / "e1",
        files={"predictions.png": b"png"},
        perplexity=3.0,
        base_perplexity=9.0,
    )
    clean = finished_output(
        "clean",
        root / "clean" / "bot" / "c1",
        files={"posts.parquet": b"kept"},
        profiles=[],
        stats={"alice": {"downloaded": 9, "retweets": 1, "short": 2, "kept": 6}},
    )
    base = finished_output(
        "base-model", root / "base-model" / "bot" / "b1", files={}, model="tiny", model_dir="x"
    )
    links = {
        "wandb_train_url": "https://wandb.ai/me/tweetbots/runs/train1",
        "wandb_data_url": "https://wandb.ai/me/tweetbots/runs/clean1",
    }
    published = publish.run(model, report, clean, base, PublishSettings(), wandb_links=links)
    card = Path(published.summary["card"]).read_text(encoding="utf-8")
    assert "[W&B training run](https://wandb.ai/me/tweetbots/runs/train1)" in card
    assert "[Explore the data](https://wandb.ai/me/tweetbots/runs/clean1)" in card
