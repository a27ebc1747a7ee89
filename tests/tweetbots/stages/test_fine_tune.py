"""The fine-tune stage's settings: the original's learning rate (but for `tiny`), and
bad values refused when the settings are made."""

import pytest
from pydantic import ValidationError

from tweetbots.stages.fine_tune import ORIGINAL_LEARNING_RATE, TrainSettings


def test_learning_rate_defaults_to_the_originals_except_for_tiny():
    assert TrainSettings().learning_rate_for("gpt2") == ORIGINAL_LEARNING_RATE
    assert TrainSettings().learning_rate_for("tiny") > ORIGINAL_LEARNING_RATE
    assert TrainSettings(learning_rate=1e-3).learning_rate_for("tiny") == 1e-3


def test_settings_are_validated_early():
    with pytest.raises(ValidationError):
        TrainSettings(epochs=0)
    with pytest.raises(ValidationError):
        TrainSettings(unknown_knob=1)
