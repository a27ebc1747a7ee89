"""The base model as the card names it: canonical Hub id and license, with no request
offline (the suite runs with HF_HUB_OFFLINE=1) and the base's own card read online from
the fake Hub."""

import pytest

from tests.fakes.hub import TOKEN, Repo
from tweetbots.hub_base import base_license, hub_id

SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("gpt2", "openai-community/gpt2"),
        ("gpt2-medium", "openai-community/gpt2-medium"),
        ("gpt2-xl", "openai-community/gpt2-xl"),
        ("distilgpt2", "distilbert/distilgpt2"),
        ("openai-community/gpt2", "openai-community/gpt2"),
        ("EleutherAI/pythia-70m", "EleutherAI/pythia-70m"),
        ("tiny", None),
    ],
)
def test_the_hub_id_is_the_canonical_one(spec, canonical):
    assert hub_id(spec) == canonical


def test_a_local_directory_is_no_hub_model(tmp_path, monkeypatch):
    (tmp_path / "gpt2").mkdir()  # even one named like a Hub model
    monkeypatch.chdir(tmp_path)
    assert hub_id("gpt2") is None and hub_id(str(tmp_path / "gpt2")) is None


def _card(directory, license: str):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "README.md").write_text(f"---\nlicense: {license}\n---\n# A model\n")
    return directory


def test_the_license_is_the_one_the_bases_own_card_declares(tmp_path):
    # A local model, or a Hub snapshot downloaded with its card (`hf download`).
    assert base_license(str(_card(tmp_path / "mine", "apache-2.0")), tmp_path / "mine") == (
        "apache-2.0"
    )
    snapshot = _card(tmp_path / "snapshots" / SNAPSHOT, "cc-by-4.0")
    assert base_license("someone/model", snapshot, SNAPSHOT) == "cc-by-4.0"
    # Even for gpt2: its card, when at hand, beats the table.
    assert base_license("gpt2", snapshot, SNAPSHOT) == "cc-by-4.0"


def test_offline_the_gpt2_family_has_its_cards_license_and_others_none(tmp_path):
    snapshot = tmp_path / "snapshot"  # downloaded without its README (our allow_patterns)
    snapshot.mkdir()
    assert base_license("gpt2", snapshot, SNAPSHOT) == "mit"
    assert base_license("distilgpt2", snapshot, SNAPSHOT) == "apache-2.0"
    assert base_license("someone/model", snapshot, SNAPSHOT) is None
    assert base_license("tiny", snapshot) is None  # built here: no license of its own


def test_online_the_bases_card_is_read_from_the_hub_offline_never(hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    base = Repo()
    base.commit("init", "", {"README.md": b"---\nlicense: bigscience-openrail-m\n---\n"})
    hub.repos["me/base"] = base
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert base_license("me/base", tmp_path, "main") is None
    assert hub.requests == []
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert base_license("me/base", tmp_path, "main") == "bigscience-openrail-m"
    assert base_license("me/no-such-model", tmp_path, "main") is None  # a 404: no license
