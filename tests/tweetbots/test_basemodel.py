"""Base models (tweetbots/basemodel.py): the tiny one built here, and the Hub's by a pinned
revision, with a one-line error for what cannot be had."""

import json

import pytest

from tweetbots.basemodel import BaseModelError, fetch_pretrained, pinned_revision


def test_tiny_base_is_a_standard_directory(tiny):
    directory, _, _ = tiny
    assert (directory / "model.safetensors").is_file()
    assert json.loads((directory / "config.json").read_text())["n_layer"] == 2
    assert fetch_pretrained(str(directory), pinned_revision(str(directory))) == directory


def test_unknown_base_model_offline_says_how_to_fetch(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BaseModelError, match="`hf download distilgpt2`") as error:
        pinned_revision("distilgpt2")
    assert "\n" not in str(error.value)


def test_misspelt_hub_id_online_is_its_own_one_line_error(hub):
    with pytest.raises(BaseModelError) as error:
        pinned_revision("me/gtp2")
    assert str(error.value).startswith("no model 'me/gtp2' on the Hub: check the id")
    assert "\n" not in str(error.value)
