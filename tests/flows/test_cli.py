import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

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
    # (tests/tweetbots/test_sample.py), not by tweetbots.clean.
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
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hub" / "baker" / "README.md").is_file()
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
    assert "[default: gpt2]" in result.output  # typer's own
    assert "--config" in result.output and "--version" in runner.invoke(app, ["--help"]).output


def test_train_refuses_a_path_traversal_name():
    result = runner.invoke(app, ["train", "../evil", "--source", "file:x.csv"])
    assert result.exit_code == 2
    assert "bot name '../evil' is invalid" in result.output


@pytest.fixture(scope="session")
def gpt2_in_hf_cache(session_dir):
    """A small model stored as `gpt2` in the session's HF cache, laid out as the Hub does."""
    from huggingface_hub.constants import HF_HUB_CACHE

    from tweetbots.basemodel import build_tiny_model

    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = Path(HF_HUB_CACHE) / "models--gpt2"
    build_tiny_model(
        [f"a post about bread number {i}" for i in range(200)], repo / "snapshots" / revision
    )
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    return revision


def test_a_newer_cached_revision_of_a_hub_model_is_a_new_base(data_root, gpt2_in_hf_cache):
    """Offline, the key is the cache's `main`: another commit there names another base,
    and each base directory holds the snapshot of the revision its manifest records."""
    import shutil

    from huggingface_hub.constants import HF_HUB_CACHE

    from tweetbots.stages import base_model
    from tweetbots.store import StageOutput

    clean = StageOutput(stage="clean", bot="baker", path=data_root, fingerprint="0" * 16)
    first = base_model.run("gpt2", clean)
    assert first.summary["revision"] == gpt2_in_hf_cache
    assert Path(first.summary["model_dir"]).name == gpt2_in_hf_cache

    repo = Path(HF_HUB_CACHE) / "models--gpt2"
    newer = "fedcba9876543210fedcba9876543210fedcba98"
    shutil.copytree(repo / "snapshots" / gpt2_in_hf_cache, repo / "snapshots" / newer)
    (repo / "refs" / "main").write_text(newer)
    try:
        key = base_model.output_key("gpt2", clean).path
        second = base_model.run("gpt2", clean)
    finally:  # the session's other tests use the first revision
        (repo / "refs" / "main").write_text(gpt2_in_hf_cache)
    assert key != first.path and second.path == key
    assert second.summary["revision"] == newer
    assert Path(second.summary["model_dir"]).name == newer


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
    card = (tmp_path / "hub" / "baker" / "README.md").read_text()
    assert "base_model: gpt2" in card


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
