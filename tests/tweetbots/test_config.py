import pytest
from pydantic import ValidationError

from tweetbots.config import BotSpec
from tweetbots.stages.fine_tune import ORIGINAL_LEARNING_RATE, TrainSettings


@pytest.mark.parametrize("name", ["../x", "a/b", "has space", "x" * 200, "", "-x"])
def test_unsafe_bot_names_are_refused(name):
    with pytest.raises(ValidationError, match="bot name"):
        BotSpec(name=name, sources=["file:x.csv"])


def test_unknown_source_scheme_is_refused():
    with pytest.raises(ValidationError, match="unknown source 'ftp:x'"):
        BotSpec(name="bot", sources=["ftp:x"])


def test_malformed_target_is_refused():
    with pytest.raises(ValidationError, match="use file://... or hf://..."):
        BotSpec(name="bot", sources=["file:x.csv"], publish={"target": "s3://x"})


def test_learning_rate_defaults_to_the_originals_except_for_tiny():
    assert TrainSettings().learning_rate_for("gpt2") == ORIGINAL_LEARNING_RATE
    assert TrainSettings().learning_rate_for("tiny") > ORIGINAL_LEARNING_RATE
    assert TrainSettings(learning_rate=1e-3).learning_rate_for("tiny") == 1e-3


def test_settings_are_validated_early():
    with pytest.raises(ValidationError):
        TrainSettings(epochs=0)
    with pytest.raises(ValidationError):
        TrainSettings(unknown_knob=1)
