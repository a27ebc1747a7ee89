"""The train-bot parameters as the Prefect UI's form gets them: the JSON schema Prefect
renders for the deployment (help text for every field, the name and target rules as
patterns), checked with Prefect's own validator, as the server does before a run."""

import re

import pytest
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools.validation import is_valid

from flows.train_bot import train_bot
from tweetbots.config import BotSpec
from tweetbots.targets import check_target_uri, uri_pattern

GOOD = {"name": "maya_bakes", "sources": ["archive:/data/sample/maya_bakes.zip"]}


@pytest.fixture(scope="module")
def schema() -> dict:
    return parameter_schema(train_bot).model_dump()


def _fields(schema: dict):
    """(model, field, its schema) of every field of every model the form shows."""
    for model, definition in schema["definitions"].items():
        for field, spec in definition["properties"].items():
            yield model, field, spec


def test_every_field_of_the_form_has_help_text(schema):
    undocumented = [f"{m}.{f}" for m, f, spec in _fields(schema) if not spec.get("description")]
    assert undocumented == []


@pytest.mark.parametrize(
    "change",
    [
        {"name": "../x"},
        {"name": "Maya Bakes"},
        {"name": "-x"},
        {"name": "x" * 97},
        {"publish": {"target": "s3://bucket/x"}},
        {"publish": {"target": "file://relative/dir"}},
        {"publish": {"target": "hf://only-a-name"}},
    ],
)
def test_the_form_refuses_a_bad_name_or_target_before_a_run(schema, change):
    assert is_valid({"bot": GOOD}, schema)
    assert not is_valid({"bot": {**GOOD, **change}}, schema)


@pytest.mark.parametrize(
    "target", [None, "file:///srv/bots", "file://localhost/srv/bots", "hf://me/bot-1.0"]
)
def test_the_form_takes_every_good_target(schema, target):
    assert is_valid({"bot": {**GOOD, "publish": {"target": target}}}, schema)


@pytest.mark.parametrize(
    "uri",
    [
        "file:///srv/bots",
        "file://localhost/x",
        "file:///",
        "file://host/x",
        "file://x",
        "file:/x",
        "hf://me/bot",
        "hf://me/b.o_t-1",
        "hf://me",
        "hf://me/bot/extra",
        "hf://me/b t",
        "s3://bucket/x",
        "",
    ],
)
def test_the_target_pattern_says_what_the_targets_own_check_says(uri):
    try:
        check_target_uri(uri)
        accepted = True
    except ValueError:
        accepted = False
    assert bool(re.search(uri_pattern(), uri)) == accepted


def test_a_bad_name_still_gets_our_one_line_not_the_patterns():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        BotSpec(name="Maya Bakes", sources=["file:x.csv"])
    assert "use 1-96 of a-z 0-9 _ . -" in refused.value.errors()[0]["msg"]
