"""A bot described in a YAML or TOML file: the same BotSpec as the UI form, errors in one
line naming the file and the field."""

from pathlib import Path

import pytest

from tweetbots.botfile import BotFileError, read_bot_file
from tweetbots.config import BotSpec

YAML = """
name: maya
sources: ["file:posts.csv", "mastodon:@maya@example.social"]
base_model: tiny
train: {epochs: 2, batch_size: 8}
evaluate:
  prompts: ["I like"]
publish: {target: "file:///srv/published"}
"""

TOML = """
name = "maya"
sources = ["file:posts.csv", "mastodon:@maya@example.social"]
base_model = "tiny"

[train]
epochs = 2
batch_size = 8

[evaluate]
prompts = ["I like"]

[publish]
target = "file:///srv/published"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_and_toml_describe_the_same_bot(tmp_path):
    from_yaml = read_bot_file(write(tmp_path, "bot.yaml", YAML))
    from_toml = read_bot_file(write(tmp_path, "bot.toml", TOML))
    assert from_yaml == from_toml
    assert from_yaml.train.epochs == 2 and from_yaml.train.batch_size == 8
    assert from_yaml.train.grad_accum == 1  # not in the file: BotSpec's default
    assert from_yaml.publish.target == "file:///srv/published"


def test_given_values_override_the_files_field_by_field(tmp_path):
    bot = read_bot_file(
        write(tmp_path, "bot.yml", YAML),
        {"train": {"epochs": 0.5}, "sources": ["file:other.csv"]},
    )
    assert bot.train.epochs == 0.5
    assert bot.train.batch_size == 8  # the file's, beside the overridden epochs
    assert bot.sources == ["file:other.csv"]  # a list is replaced, not extended
    assert bot.name == "maya"


def test_a_file_without_a_name_is_named_by_the_callers_rule(tmp_path):
    path = write(tmp_path, "bot.yaml", 'sources: ["file:a.csv", "file:b.csv"]\n')
    bot = read_bot_file(path, default_name=lambda sources: f"n{len(sources)}")
    assert bot.name == "n2"


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("bad.toml", TOML.replace("epochs = 2", "epoch = 2"), "train.epoch: Extra inputs"),
        ("bad.yaml", YAML.replace("epochs: 2", "epochs: 500"), "train.epochs: Input should"),
        ("bad.yaml", YAML.replace("name: maya", "name: ../x"), "name: bot name '../x'"),
        ("bad.yaml", YAML.replace("file:posts.csv", "ftp:x"), "sources: unknown source"),
        ("bad.toml", TOML.replace('target = "file', 'target = "s3'), "publish.target: target"),
        ("bad.yaml", "name: maya\n", "sources is missing; add it to the file"),
    ],
    ids=["unknown field", "out of range", "unsafe name", "unknown source", "bad target", "missing"],
)
def test_a_bad_field_is_one_line_naming_the_file_and_the_field(tmp_path, name, text, expected):
    path = write(tmp_path, name, text)
    with pytest.raises(BotFileError) as error:
        read_bot_file(path)
    message = str(error.value)
    assert message.startswith(f"bot file {path}: ") and expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("bot.yaml", "name: [maya\n", "is not valid YAML"),
        ("bot.toml", 'name = "maya\n', "is not valid TOML"),
        ("bot.yaml", "- maya\n- ada\n", "holds a list, not the fields of a bot"),
        ("bot.yaml", "# nothing\n", "is empty: write the bot's fields"),
        ("bot.json", "{}", "use a .yaml, .yml or .toml file"),
        # safe_load: a YAML tag that would build a Python object is a syntax error here.
        ("bot.yaml", "name: !!python/object/apply:os.system [id]\n", "is not valid YAML"),
    ],
    ids=["bad YAML", "bad TOML", "a list", "empty", "JSON", "python tag"],
)
def test_an_unreadable_file_is_one_line(tmp_path, name, text, expected):
    path = write(tmp_path, name, text)
    with pytest.raises(BotFileError) as error:
        read_bot_file(path)
    assert f"bot file {path}" in str(error.value) and expected in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_or_binary_file_is_one_line(tmp_path):
    with pytest.raises(BotFileError, match="cannot be read .No such file"):
        read_bot_file(tmp_path / "none.yaml")
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(BotFileError, match="cannot be read .not UTF-8 text"):
        read_bot_file(tmp_path / "latin1.yaml")


def test_a_bad_value_given_over_the_file_is_named_as_the_caller_names_it(tmp_path):
    path = write(tmp_path, "bot.yaml", YAML)
    names = {"sources": "--source", "train.batch_size": "--batch-size"}
    with pytest.raises(BotFileError) as error:
        read_bot_file(path, {"sources": ["file:a.csv", "ftp:x"]}, override_names=names)
    assert str(error.value).startswith(f"--source (over {path}): unknown source 'ftp:x'")
    with pytest.raises(BotFileError) as error:
        read_bot_file(path, {"train": {"batch_size": 0}}, override_names=names)
    assert str(error.value).startswith(f"--batch-size (over {path}): Input should be greater")


def test_the_file_is_checked_like_the_ui_form(tmp_path):
    # The same model: what the form (BotSpec) refuses, the file refuses with its message.
    text = YAML.replace("batch_size: 8", "batch_size: 0")
    with pytest.raises(Exception) as form:
        BotSpec.model_validate({"name": "maya", "sources": ["file:x"], "train": {"batch_size": 0}})
    with pytest.raises(BotFileError) as file:
        read_bot_file(write(tmp_path, "bot.yaml", text))
    assert form.value.errors()[0]["msg"] in str(file.value)
