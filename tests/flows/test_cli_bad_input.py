"""Bad input through the real CLI: exactly one line, `error: ...` naming the input and the
fix, on stderr, and a non-zero exit code; no traceback, no usage box.

`stats` runs in-process (typer's CliRunner). `train` runs a Prefect flow, so it is run as
the installed `tweetbots` command in a subprocess against the suite's Prefect server:
that is the output a user sees, Prefect's own console logging included.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()
TWEETBOTS = Path(sys.executable).with_name("tweetbots")


def assert_one_error_line(stderr: str, *parts: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), lines[0]
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def write_archive(path: Path, username: str, tweets: list[dict] | str) -> Path:
    account = [{"account": {"username": username, "accountId": "1"}}]
    body = tweets if isinstance(tweets, str) else json.dumps([{"tweet": t} for t in tweets])
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/account.js", "window.YTD.account.part0 = " + json.dumps(account))
        archive.writestr("data/tweets.js", "window.YTD.tweets.part0 = " + body)
    return path


def csv(path: Path, **columns: list) -> Path:
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


STATS_CASES = {
    "missing file": (lambda d: f"file:{d / 'gone.csv'}", ["gone.csv", "check the path"]),
    "not a zip": (lambda d: f"archive:{_text_file(d / 'a.zip')}", ["a.zip", "not a zip file"]),
    "truncated tweets.js": (
        lambda d: f"archive:{write_archive(d / 'cut.zip', 'ada', '[{')}",
        ["cut.zip", "tweets.js", "export it again"],
    ),
    "csv without a usable column": (
        lambda d: f"file:{csv(d / 'b.csv', body=['hello'], when=['today'])}",
        ["b.csv", "no text column", "'body', 'when'"],
    ),
    "csv that is not UTF-8": (
        lambda d: f"file:{_latin1_csv(d)}",
        ["latin1.csv", "not a readable .csv file"],
    ),
    "archive user '../x'": (
        lambda d: f"archive:{write_archive(d / 'evil.zip', '../x', [])}",
        ["evil.zip", "'../x'", "not an X username"],
    ),
    "file user '../../etc'": (
        lambda d: f"file:{csv(d / 'u.csv', text=['a b c'], user=['../../etc'])}",
        ["u.csv", "'../../etc'", "not a handle"],
    ),
    "twitter handle with a space": (lambda d: "twitter:has space", ["'has space'", "1-15"]),
    "mastodon handle '../x'": (lambda d: "mastodon:../x", ["'../x'", "@user@instance"]),
    "bluesky handle of 200 characters": (
        lambda d: "bluesky:" + "a" * 200,
        ["bluesky:'aaaa", "handle or DID"],
    ),
    "unknown scheme": (lambda d: "ftp:nowhere", ["'ftp:nowhere'", "archive:..."]),
}


def _text_file(path: Path) -> Path:
    path.write_text("text\nthis is a csv, named .zip\n")
    return path


def _latin1_csv(d: Path) -> Path:
    path = d / "latin1.csv"
    path.write_bytes("text\ncaf\xe9 au lait ce matin\n".encode("latin-1"))
    return path


@pytest.mark.parametrize("case", list(STATS_CASES))
def test_stats_bad_source_is_one_line_exit_2(tmp_path, case):
    make_spec, expected = STATS_CASES[case]
    result = runner.invoke(app, ["stats", "--source", make_spec(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert_one_error_line(result.stderr, *expected)


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["../x"], ["bot name '../x' is invalid"]),
        (["a/b"], ["bot name 'a/b' is invalid"]),
        (["has space"], ["'has space'", "a-z 0-9"]),
        (["x" * 200], ["1-96"]),
        (["ok", "--target", "s3://bucket/x"], ["'s3://bucket/x'", "file://... or hf://..."]),
        (["ok", "--target", "hf://only-one-part"], ["hf://namespace/name"]),
        (["ok", "--license", "MIT License"], ["license 'MIT License'", "mit, apache-2.0"]),
        (["ok", "--language", "English"], ["language 'English'", "en or fr"]),
    ],
)
def test_train_bad_name_or_target_is_one_line_exit_2(tmp_path, arguments, expected):
    # Refused while the parameters are validated: before any flow run or data root write.
    result = runner.invoke(app, ["train", *arguments, "--source", "file:x.csv"])
    assert result.exit_code == 2, result.output
    assert_one_error_line(result.stderr, *expected)


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--batch-size", "0", "greater than or equal to 1"),
        ("--grad-accum", "1000", "less than or equal to 512"),
        ("--learning-rate", "2", "less than 1"),
        ("--device", "tpu", "'auto', 'cpu' or 'cuda'"),
        ("--epochs", "500", "less than or equal to 100"),
    ],
)
def test_train_bad_training_option_is_one_line_exit_2(option, value, expected):
    # Refused while the parameters are validated, the option named: no flow run starts.
    result = runner.invoke(app, ["train", "ok", "--source", "file:x.csv", option, value])
    assert result.exit_code == 2, result.output
    assert_one_error_line(result.stderr, f"{option}: ", expected)


BOT_FILE = 'name = "ok"\nsources = ["file:x.csv"]\n[train]\nbatch_size = 8\n'


@pytest.mark.parametrize(
    "file_text, arguments, expected",
    [
        (BOT_FILE.replace("batch_size", "batch"), [], ["bot.toml: train.batch: Extra inputs"]),
        (BOT_FILE.replace("= 8", "= 0"), [], ["bot.toml: train.batch_size: Input should be"]),
        (BOT_FILE.replace('"ok"', '"../x"'), [], ["bot.toml: name: bot name '../x'"]),
        (BOT_FILE, ["--target", "s3://b/x"], ["--target (over ", "bot.toml): target 's3://"]),
        (BOT_FILE, ["--source", "ftp:x"], ["--source (over ", "unknown source 'ftp:x'"]),
        (BOT_FILE, ["--batch-size", "0"], ["--batch-size (over ", "greater than or equal to 1"]),
        ("name = [", [], ["bot.toml is not valid TOML", "fix its syntax"]),
        (None, [], ["bot.toml cannot be read (No such file or directory)"]),
    ],
    ids=[
        "unknown field",
        "bad value",
        "bad name",
        "bad --target over it",
        "bad --source over it",
        "bad --batch-size over it",
        "not TOML",
        "missing file",
    ],
)
def test_train_bad_bot_file_is_one_line_exit_2(tmp_path, file_text, arguments, expected):
    # Refused before any flow run: the file checked like the UI's form, the field named.
    config = tmp_path / "bot.toml"
    if file_text is not None:
        config.write_text(file_text)
    result = runner.invoke(app, ["train", "--config", str(config), *arguments])
    assert result.exit_code == 2, result.output
    assert_one_error_line(result.stderr, *expected)


def test_train_without_a_source_or_a_bot_file_is_one_line_exit_2():
    result = runner.invoke(app, ["train", "ok"])
    assert result.exit_code == 2, result.output
    assert_one_error_line(result.stderr, "missing option '--source' (or --config FILE)")


def posts(n: int) -> list[str]:
    words = "sourdough crumb oven starter flour proof bake loaf butter crust".split()
    return [" ".join(words[(i + j) % len(words)] for j in range(12)) for i in range(n)]


def _empty_archive(d: Path) -> list[str]:
    return ["--source", f"archive:{write_archive(d / 'empty.zip', 'nobody', [])}"]


def _only_retweets(d: Path) -> list[str]:
    tweets = [{"id_str": str(i), "full_text": f"RT @x: {t}"} for i, t in enumerate(posts(60))]
    return ["--source", f"archive:{write_archive(d / 'rts.zip', 'echo', tweets)}"]


def _enough_posts(d: Path) -> list[str]:
    return ["--source", f"file:{csv(d / 'baker.csv', id=list(range(150)), text=posts(150))}"]


TRAIN_CASES = {
    "empty archive": (_empty_archive, ["empty.zip", "has no posts to train on"]),
    "only retweets": (_only_retweets, ["echo: 0 characters in 0 of 60", "add more posts"]),
    "hf:// target without a token": (
        lambda d: [*_enough_posts(d), "--target", "hf://me/baker"],
        ["hf://me/baker", "HF_TOKEN"],
    ),
    "missing base model offline": (
        lambda d: [*_enough_posts(d), "--base-model", "distilgpt2"],
        ["'distilgpt2'", "`hf download distilgpt2`", "--base-model tiny"],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(TRAIN_CASES))
def test_train_failure_in_a_stage_ends_in_one_line_exit_1(
    prefect_server, data_root, tmp_path, case
):
    """Run as the installed command: what a terminal shows. Progress log lines come
    first; Prefect's record of the failed run (with its traceback) stays in the flow
    run's logs, off the console; the command's own output is one last line."""
    make_arguments, expected = TRAIN_CASES[case]
    env = {**os.environ, "TWEETBOTS_HOME": str(data_root), "PREFECT_API_URL": prefect_server}
    command = [str(TWEETBOTS), "train", "bot", "--base-model", "tiny", "--epochs", "0.05"]
    result = subprocess.run(
        [*command, *make_arguments(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.strip() == ""  # (the tokenizer trainer prints blank lines)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == result.stderr.strip().splitlines()[-1:], result.stderr
    assert_one_error_line(errors[0], *expected)


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["stats"], ["Missing option '--source'", "tweetbots stats --help"]),
        (["stats", "--source"], ["'--source' requires an argument"]),
        (["generate", "/no/such/model", "hi"], ["'/no/such/model' does not exist"]),
        (["serve", "--port", "0"], ["'--port'", "greater than or equal to 1"]),
        (["no-such-command"], ["No such command 'no-such-command'"]),
    ],
)
def test_usage_errors_of_the_installed_command_are_one_line_exit_2(arguments, expected):
    # The console script itself: typer's usage errors would otherwise be a boxed panel.
    result = subprocess.run(
        [str(TWEETBOTS), *arguments], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert_one_error_line(result.stderr, *expected)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from tweetbots.basemodel import build_tiny_model

    directory = tmp_path_factory.mktemp("tiny-model")
    build_tiny_model(posts(200), directory)
    return directory


def _broken_copy(model: Path, tmp_path: Path, breakage: str) -> Path:
    broken = tmp_path / breakage.replace(" ", "-")
    shutil.copytree(model, broken)
    if breakage == "no tokenizer":
        for name in ("tokenizer.json", "tokenizer_config.json"):
            (broken / name).unlink()
    elif breakage == "corrupt weights":
        weights = broken / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:5000])  # cut off mid-download
    elif breakage == "weights of another model":
        (broken / "config.json").write_text(json.dumps({"model_type": "bert"}))
    else:  # a folder of something else
        shutil.rmtree(broken)
        broken.mkdir()
        (broken / "notes.txt").write_text("not a model")
    return broken


def generate(*arguments: str | bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TWEETBOTS), "generate", *arguments], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "breakage, expected",
    [
        ("a folder of something else", "no model config.json"),
        ("no tokenizer", "tokenizer"),
        ("corrupt weights", "weights that cannot be loaded"),
        ("weights of another model", "weights lack"),
    ],
)
def test_generate_from_a_folder_that_is_no_model_is_one_line_exit_2(
    tiny_model, tmp_path, breakage, expected
):
    broken = _broken_copy(tiny_model, tmp_path, breakage)
    result = generate(str(broken), "bread")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert_one_error_line(result.stderr, str(broken), expected, "tweetbots train")


@pytest.mark.slow
def test_generate_cuts_a_prompt_longer_than_a_sample_to_its_end(tiny_model):
    """Longer than the 160 tokens of a sample (and the tiny model's 256 of context): the
    end is kept, a warning says so, and the samples come."""
    prompt = "BEGINNING " + " ".join(posts(60)) + " the very end"
    result = generate(str(tiny_model), prompt, "-n", "3")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "error:" not in result.stderr
    assert "the prompt" in result.stderr and "is cut to its last" in result.stderr
    samples = result.stdout.splitlines()
    assert len(samples) == 3
    assert all("the very end" in s and "BEGINNING" not in s for s in samples)


@pytest.mark.slow
@pytest.mark.parametrize(
    "prompt", [b"", b"caf\xff bread"], ids=["empty prompt", "undecodable byte"]
)
def test_generate_odd_prompts_still_sample(tiny_model, prompt):
    result = generate(os.fsencode(tiny_model), prompt, b"-n", b"2")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stdout.splitlines()) == 2
