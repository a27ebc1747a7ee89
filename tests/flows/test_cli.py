"""The `tweetbots` command (flows/cli.py): stats, train, generate, plan, and bad input.

Bad input gets exactly one line, `error: ...` naming the input and the fix, on stderr, and
a non-zero exit code; no traceback, no usage box. `stats` runs in-process (typer's
CliRunner). `train` runs a Prefect flow, so it is run as the installed `tweetbots` command
in a subprocess against the suite's Prefect server: that is the output a user sees,
Prefect's own console logging included.

`stats` on network sources runs against local servers speaking the documented APIs: every
account holds a page-crossing run of plain posts (kept: three words each) plus a few posts
built so that each rule decides their fate; the expected counts are worked out by hand in
the comments, not by the cleaning code under test.
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
from huggingface_hub import ModelCard
from typer.testing import CliRunner

from flows.cli import app
from tests.fakes.social import (
    bluesky_post,
    bluesky_profile,
    link_facet,
    mastodon_account,
    mastodon_link,
    mastodon_status,
    repost_item,
)
from tests.fakes.sources import long_posts, write_archive

runner = CliRunner()


def test_stats_json_counts_a_text_only_csv_by_the_rules(tmp_path):
    csv = tmp_path / "posts.csv"
    csv.write_text(
        "text\n"
        '"RT @someone: a retweet with plenty of words"\n'  # retweet by prefix
        '"three whole words"\n'  # kept (exactly 3)
        '"two words https://t.co/x"\n'  # short: links don't count
        '"@bob #tbt wow"\n'  # short: mentions, hashtags
        '"this one is long enough to keep"\n'  # kept
    )
    result = runner.invoke(app, ["stats", "--source", f"file:{csv}", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "posts": {"downloaded": 5, "retweets": 1, "short": 2, "kept": 2}
    }


def test_stats_table_is_the_cards(tmp_path):
    csv = tmp_path / "alice.csv"
    csv.write_text("text\nhello there my friends\n")
    result = runner.invoke(app, ["stats", "--source", f"file:{csv}"])
    assert result.exit_code == 0, result.output
    assert "| Tweets kept | 1 |" in result.output


def test_unknown_source_is_a_one_line_error():
    result = runner.invoke(app, ["stats", "--source", "ftp:nowhere"])
    assert result.exit_code == 2
    assert "unknown source 'ftp:nowhere'" in result.output


def test_stats_of_the_sample_archive_match_an_independent_count(sample_archives):
    # Counts computed by the sample's own reference implementation of the rules
    # (tests/tweetbots/test_demo_data.py), not by tweetbots.clean.
    result = runner.invoke(app, ["stats", "--json", "--source", f"archive:{sample_archives[0]}"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "maya_bakes": {"downloaded": 704, "retweets": 74, "short": 56, "kept": 574}
    }


def test_train_then_generate_through_the_cli(prefect_server, data_root, tmp_path):
    import random

    rng = random.Random(0)
    words = "sourdough crumb oven starter flour proof bake loaf butter crust".split()
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 14))) for _ in range(300)]
    csv = tmp_path / "baker.csv"
    csv.write_text("id,text\n" + "\n".join(f"{i},{t}" for i, t in enumerate(lines)) + "\n")

    result = runner.invoke(
        app,
        [
            "train",
            "baker",
            "--source",
            f"file:{csv}",
            "--base-model",
            "tiny",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--grad-accum",
            "2",
            "--learning-rate",
            "0.002",
            "--device",
            "cpu",
            "--no-compile",
            "--target",
            f"file://{tmp_path}/hub",
            "--license",
            "cc-by-4.0",
            "--language",
            "fr",
        ],
    )
    assert result.exit_code == 0, result.output
    card = ModelCard.load(tmp_path / "hub" / "baker" / "README.md").data
    assert (card.license, card.language) == ("cc-by-4.0", "fr")
    model_manifest = next((data_root / "fine-tune" / "baker").glob("*/manifest.json"))
    summary = json.loads(model_manifest.read_text())["summary"]
    settings = summary["settings"]
    assert (settings["batch_size"], settings["grad_accum"], settings["compile"]) == (4, 2, False)
    assert settings["learning_rate"] == summary["learning_rate"] == 0.002
    assert settings["device"] == summary["device"] == "cpu"

    generated = runner.invoke(
        app, ["generate", str(tmp_path / "hub" / "baker"), "sourdough", "-n", "3"]
    )
    assert generated.exit_code == 0, generated.output
    # split("\n"), not splitlines(): a barely trained model's sample may hold \x1e or \x1c.
    assert len(generated.output.rstrip("\n").split("\n")) == 3, generated.output


def test_train_without_a_name_names_the_bot_like_the_original(
    prefect_server, data_root, sample_archives, tmp_path
):
    ollie, maya = sample_archives[1], sample_archives[0]  # any order: the name is sorted
    result = runner.invoke(
        app,
        ["train", "--source", f"archive:{ollie}", "--source", f"archive:{maya}"]
        + ["--base-model", "tiny", "--epochs", "0.05", "--batch-size", "8"]
        + ["--target", f"file://{tmp_path}/hub"],
    )
    assert result.exit_code == 0, result.output
    card = (tmp_path / "hub" / "maya_bakes-ollie_stargazes" / "README.md").read_text()
    assert "Maya 🍞 Okafor & Ollie Brandt 🔭" in card


def test_train_from_a_bot_file_with_options_over_it(prefect_server, data_root, tmp_path):
    import random

    rng = random.Random(1)
    words = "comet nebula lens orbit dusk telescope moon star galaxy night".split()
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 14))) for _ in range(300)]
    csv = tmp_path / "gazer.csv"
    csv.write_text("id,text\n" + "\n".join(f"{i},{t}" for i, t in enumerate(lines)) + "\n")
    config = tmp_path / "bot.toml"
    config.write_text(
        f'name = "gazer"\nsources = ["file:{csv}"]\nbase_model = "tiny"\n'
        f'[train]\nepochs = 1\nbatch_size = 4\ndevice = "cpu"\n'
        f'[publish]\ntarget = "file://{tmp_path}/from-file"\n'
    )

    result = runner.invoke(
        app,
        ["train", "--config", str(config), "--epochs", "0.5"]
        + ["--target", f"file://{tmp_path}/hub"],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hub" / "gazer" / "README.md").is_file()  # the option's target
    assert not (tmp_path / "from-file").exists()
    model_manifest = next((data_root / "fine-tune" / "gazer").glob("*/manifest.json"))
    settings = json.loads(model_manifest.read_text())["summary"]["settings"]
    # epochs from the command line; batch size and device from the file, beside it.
    assert (settings["epochs"], settings["batch_size"], settings["device"]) == (0.5, 4, "cpu")


def test_version_of_the_installed_command():
    import subprocess
    import sys

    from tweetbots import __version__

    tweetbots = Path(sys.executable).with_name("tweetbots")
    done = subprocess.run([str(tweetbots), "--version"], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"tweetbots {__version__}\n", "")


def test_help_shows_every_bracketed_default():
    # Rich markup took "[no]" and "[auto]" for style tags and printed nothing of them.
    result = runner.invoke(app, ["train", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for default in ["[1]", "[no]", "[auto]", "[the original's; tiny: 3e-3]", "[the handles"]:
        assert default in result.output, default
    assert "[gpt2]" in result.output and "[4]" in result.output
    assert "--config" in result.output and "--version" in runner.invoke(app, ["--help"]).output


def test_train_refuses_a_path_traversal_name():
    result = runner.invoke(app, ["train", "../evil", "--source", "file:x.csv"])
    assert result.exit_code == 2
    assert "bot name '../evil' is invalid" in result.output


def test_train_with_gpt2_from_the_hf_cache_offline(
    prefect_server, data_root, tmp_path, gpt2_in_hf_cache
):
    csv = tmp_path / "baker.csv"
    csv.write_text(
        "text\n"
        + "\n".join(f"bread post {i} with some more words to keep it" for i in range(200))
        + "\n"
    )
    result = runner.invoke(
        app,
        [
            "train",
            "baker",
            "--source",
            f"file:{csv}",
            "--base-model",
            "gpt2",
            "--epochs",
            "1",
            "--target",
            f"file://{tmp_path}/hub",
        ],
    )
    assert result.exit_code == 0, result.output
    base_manifest = next((data_root / "base-model" / "baker").glob("*/manifest.json"))
    assert json.loads(base_manifest.read_text())["summary"]["revision"] == gpt2_in_hf_cache
    card = ModelCard.load(tmp_path / "hub" / "baker" / "README.md").data
    assert (card.base_model, card.license) == ("openai-community/gpt2", "mit")


def test_missing_hub_model_offline_is_one_clear_line(prefect_server, data_root, tmp_path):
    csv = tmp_path / "baker.csv"
    csv.write_text("text\n" + "\n".join(f"bread post {i} with words" for i in range(400)))
    result = runner.invoke(
        app,
        [
            "train",
            "baker",
            "--source",
            f"file:{csv}",
            "--base-model",
            "distilgpt2",
            "--epochs",
            "1",
        ],
    )
    assert result.exit_code != 0
    assert "`hf download distilgpt2`" in result.output


def test_plan_a_bot_of_the_nightly_by_name_as_json_and_as_text(data_root):
    from tweetbots.demo_data import write_sample_archives

    write_sample_archives(data_root / "sample")  # the nightly's bots read the demo's sample
    plan = json.loads(runner.invoke(app, ["plan", "maya_bakes", "--json"]).stdout)
    assert plan["bot"] == "maya_bakes" and all(s["runs"] for s in plan["stages"])
    assert [s["stage"] for s in plan["stages"]][:2] == ["scrape", "clean"]
    assert plan["stages"][0]["reasons"] == ["never built for this bot"]
    assert set(plan["source_states"]) == {f"archive:{data_root / 'sample' / 'maya_bakes.zip'}"}

    text = runner.invoke(app, ["plan", "maya_bakes"]).stdout.splitlines()
    assert text[0] == "maya_bakes: work to do"
    assert text[1].split() == ["scrape", "runs", "never", "built", "for", "this", "bot"]


def test_plan_of_a_bot_the_nightly_does_not_list_is_one_line(data_root):
    result = runner.invoke(app, ["plan", "nobody"])
    assert result.exit_code == 2
    assert "no bot 'nobody' in prefect.yaml's nightly" in result.stderr
    assert "maya_bakes" in result.stderr and len(result.stderr.splitlines()) == 1


# -- bad input: one line, exit 2 (refused) or 1 (a stage failed) ------------------------


TWEETBOTS = Path(sys.executable).with_name("tweetbots")


def assert_one_error_line(stderr: str, *parts: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), lines[0]
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def columns_csv(path: Path, **columns: list) -> Path:
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
        lambda d: f"file:{columns_csv(d / 'b.csv', body=['hello'], when=['today'])}",
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
        lambda d: f"file:{columns_csv(d / 'u.csv', text=['a b c'], user=['../../etc'])}",
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


def _empty_archive(d: Path) -> list[str]:
    return ["--source", f"archive:{write_archive(d / 'empty.zip', 'nobody', [])}"]


def _only_retweets(d: Path) -> list[str]:
    tweets = [{"id_str": str(i), "full_text": f"RT @x: {t}"} for i, t in enumerate(long_posts(60))]
    return ["--source", f"archive:{write_archive(d / 'rts.zip', 'echo', tweets)}"]


def _enough_posts(d: Path) -> list[str]:
    return [
        "--source",
        f"file:{columns_csv(d / 'baker.csv', id=list(range(150)), text=long_posts(150))}",
    ]


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
    build_tiny_model(long_posts(200), directory)
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
    prompt = "BEGINNING " + " ".join(long_posts(60)) + " the very end"
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


# -- stats of network sources and of odd posts ------------------------------------------


MASTODON_HOST = "example.social"
BLUESKY_HANDLE = "alice.bsky.social"
BLUESKY_DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
PLAIN_POSTS = 50  # "post number n" / "skeet number n": 3 words, kept; more than a page


def _stats_json(*sources: str) -> dict:
    arguments = ["stats", "--json"]
    for source in sources:
        arguments += ["--source", source]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _mastodon_mention(user: str, host: str) -> str:
    return (
        f'<span class="h-card"><a href="https://{host}/@{user}" class="u-url mention">'
        f"@<span>{user}</span></a></span>"
    )


def _add_mastodon_account(mastodon) -> None:
    account = mastodon.add_account("ada", MASTODON_HOST, count=PLAIN_POSTS)
    friend = mastodon_account("77", "bob", "other.social")
    boosted = mastodon_status(900, friend, "<p>a long post by somebody else entirely</p>")
    contents = {
        # kept: tags dropped, 7 words
        "<p>Hello friends, this is a <strong>lovely</strong> morning</p>": {},
        # kept: <br> and paragraphs are whitespace, 6 words
        "<p>line one<br>line two</p><p>line three</p>": {},
        # kept: a reply; the mention does not count, "thanks a lot" does
        f"<p>{_mastodon_mention('bob', 'other.social')} thanks a lot</p>": {
            "in_reply_to_id": "109999999999999999"
        },
        # short: the link is removed, "read this" is 2 words
        f"<p>read this {mastodon_link('https://example.com/some/article')}</p>": {},
        # short: the hashtag does not count, "so good" is 2 words
        '<p><a href="https://example.social/tags/tbt" class="mention hashtag">#<span>tbt'
        "</span></a> so good</p>": {},
        # short: an image-only status has empty content
        "": {"media_attachments": [{"type": "image", "description": "a cat on a mat"}]},
        # retweets: a boost's own content is empty, the text is the boosted post's
        "<!-- boost 1 -->": {"reblog": boosted},
        "<!-- boost 2 -->": {"reblog": mastodon_status(901, friend, "<p>x</p>")},
    }
    for number, (content, extra) in enumerate(contents.items(), start=PLAIN_POSTS):
        shown = "" if "reblog" in extra else content
        mastodon.add_status(account, mastodon_status(number, account, shown, **extra))


def test_stats_of_a_mastodon_account(mastodon, server):
    _add_mastodon_account(mastodon)
    counts = _stats_json(f"mastodon:@ada@{MASTODON_HOST}")
    # 50 plain + 8 built: 2 boosts, 3 short (link, hashtag, image-only), 3 kept.
    assert counts == {
        f"ada@{MASTODON_HOST}": {"downloaded": 58, "retweets": 2, "short": 3, "kept": 53}
    }
    assert len(server.seen(r"/api/v1/accounts/\w+/statuses")) >= 2  # paged: 40 a page


def _reply_to(parent: dict) -> dict:
    ref = {"uri": parent["uri"], "cid": parent["cid"]}
    return {"reply": {"root": ref, "parent": ref}}


def _add_bluesky_account(bluesky) -> None:
    alice = bluesky.add_profile(BLUESKY_HANDLE, BLUESKY_DID, count=PLAIN_POSTS * 3)
    bob = bluesky_profile("bob.bsky.social", "did:plc:bobbobbobbobbobbobbobbob")
    bobs_post = bluesky_post(bob, 500, "a long post by somebody else entirely")
    n = PLAIN_POSTS * 3
    link_text = "read this example.com/some/art..."
    posts = [
        # kept: 6 words
        bluesky_post(alice, n, "just baked a lovely loaf today"),
        # kept: a reply; the mention does not count, "that is great news" does
        bluesky_post(alice, n + 1, "@bob.bsky.social that is great news", **_reply_to(bobs_post)),
        # short: a reply of 2 counted words
        bluesky_post(alice, n + 2, "@bob.bsky.social yes indeed", **_reply_to(bobs_post)),
        # short: the facet's full URL replaces the shortened one and is removed: 2 words
        bluesky_post(
            alice,
            n + 3,
            link_text,
            facets=[link_facet(link_text, "example.com/some/art...", "https://example.com/a")],
        ),
        # short: 2 words, one of them an emoji
        bluesky_post(alice, n + 4, "ok 👍"),
    ]
    for post in posts:
        bluesky.add_item(alice, {"post": post})
    bluesky.add_item(alice, repost_item(alice, bobs_post, minutes=n + 5))  # a retweet


def test_stats_of_a_bluesky_account(bluesky, server):
    _add_bluesky_account(bluesky)
    counts = _stats_json(f"bluesky:{BLUESKY_HANDLE}")
    # 150 plain + 6 built: 1 repost, 3 short (short reply, link, emoji), 2 kept.
    assert counts == {BLUESKY_HANDLE: {"downloaded": 156, "retweets": 1, "short": 3, "kept": 152}}
    assert len(server.seen("/xrpc/app.bsky.feed.getAuthorFeed")) >= 2  # paged: 100 a page


def test_stats_of_a_cyborg_has_one_column_per_user(mastodon, bluesky, tmp_path):
    _add_mastodon_account(mastodon)
    _add_bluesky_account(bluesky)
    csv = tmp_path / "carol.csv"
    csv.write_text(
        "id,text\n"
        "c1,RT @ada: a retweet with plenty of words\n"  # retweet by prefix
        "c2,three whole words\n"  # kept
        "c3,two words https://t.co/x\n"  # short
    )
    sources = [f"file:{csv}", f"mastodon:@ada@{MASTODON_HOST}", f"bluesky:{BLUESKY_HANDLE}"]
    arguments = ["stats"] + [a for s in sources for a in ("--source", s)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == f"| Data | carol | ada@{MASTODON_HOST} | {BLUESKY_HANDLE} |"
    assert "| Tweets downloaded | 3 | 58 | 156 |" in lines
    assert "| Retweets | 1 | 2 | 1 |" in lines
    assert "| Short tweets | 1 | 3 | 3 |" in lines
    assert "| Tweets kept | 1 | 53 | 152 |" in lines


def test_stats_counts_the_same_ids_of_two_users_for_each(tmp_path):
    for user, texts in (("ann", ["one two three", "four five six"]), ("ben", ["a b c"] * 3)):
        rows = "".join(f"{i},{text}\n" for i, text in enumerate(texts))
        (tmp_path / f"{user}.csv").write_text("id,text\n" + rows)
    counts = _stats_json(f"file:{tmp_path / 'ann.csv'}", f"file:{tmp_path / 'ben.csv'}")
    assert {user: c["downloaded"] for user, c in counts.items()} == {"ann": 2, "ben": 3}


def test_stats_of_glued_links_match_the_original(tmp_path):
    csv = tmp_path / "dana.csv"
    csv.write_text(
        "id,text\n"
        "1,see:https://x.y/z tiny rain\n"  # short: "see:tiny rain", the space goes too
        "2,look:https://t.co/a nice day\n"  # short: "look:nice day"
        "3,see: https://x.y/z tiny rain\n"  # kept: "see: tiny rain", 3 words
        "4,(https://x.y) and more\n"  # short: "(and more", 2 words
    )
    counts = _stats_json(f"file:{csv}")
    assert counts == {"dana": {"downloaded": 4, "retweets": 0, "short": 3, "kept": 1}}


def _archive_js(name: str, items: list) -> str:
    return f"window.YTD.{name}.part0 = " + json.dumps(items, indent=2)


def test_stats_of_an_x_archive_count_an_edited_post_once(tmp_path):
    versions = ["1780000000000000001", "1780000000000000002", "1780000000000000003"]
    control = {"editTweetIds": versions}
    texts = ["I have a typo in this psot", "I have a typo in this post", "fixed the typo, finally"]
    edited = [
        {
            "id_str": version,
            "full_text": text,
            "created_at": f"Fri Mar 01 10:0{n}:00 +0000 2024",
            "edit_info": {"initial": control}
            if n == 0
            else {"edit": {"initialTweetId": versions[0], "editControlInitial": control}},
        }
        for n, (version, text) in enumerate(zip(versions, texts, strict=True))
    ]
    others = [
        {"id_str": "1780000000000000010", "full_text": "RT @bob: words of bob here"},
        {"id_str": "1780000000000000011", "full_text": "ok then"},
        {"id_str": "1780000000000000012", "full_text": "three plain words"},
    ]
    path = tmp_path / "twitter-2024.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "data/account.js", _archive_js("account", [{"account": {"username": "eve"}}])
        )
        archive.writestr(
            "data/tweets.js", _archive_js("tweets", [{"tweet": t} for t in edited + others])
        )
    counts = _stats_json(f"archive:{path}")
    # 3 posts + 1 edited post (3 versions, read once): 1 retweet, 1 short, 2 kept.
    assert counts == {"eve": {"downloaded": 4, "retweets": 1, "short": 1, "kept": 2}}
