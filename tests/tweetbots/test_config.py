"""A bot's settings (tweetbots/config.py): names, sources and targets refused in one line
when the bot is made."""

import pytest
from pydantic import ValidationError

from tweetbots.config import BotSpec


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


def test_a_bot_takes_up_to_ten_sources():
    sources = [f"file:user{i}.csv" for i in range(11)]
    assert len(BotSpec(name="ten", sources=sources[:10]).sources) == 10
    with pytest.raises(ValidationError, match="at most 10"):
        BotSpec(name="eleven", sources=sources)
