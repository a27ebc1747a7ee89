"""Stage runs on real offline W&B: what each run logged, read back from its `.wandb` file."""

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.fakes.stages import finished_output, scrape_source
from tests.fakes.wandb_runs import wait_for_runs
from tweetbots import lineage
from tweetbots.store import OutputKey

TEST_KEY = "tweetbots-test-key-" + "7" * 21  # W&B keys are 40 characters


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    """Where this test's offline runs land (`$WANDB_DIR/wandb`)."""
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-home"))
    (tmp_path / "wandb-home").mkdir()
    return tmp_path / "wandb-home" / "wandb"


def _md5(content: bytes) -> str:
    """W&B's file digest, computed here independently: base64 of the MD5."""
    return base64.b64encode(hashlib.md5(content).digest()).decode()


def test_an_input_recorded_offline_is_the_digest_its_producer_logged(data_root, runs_dir):
    clean = finished_output(
        "clean", data_root / "clean" / "bot" / "c1", files={"posts.parquet": b"kept"}
    )
    tokens = finished_output(
        "tokenize", data_root / "tokenize" / "bot" / "t1", files={"train.npy": b"123"}
    )
    with lineage.stage_run("clean", "flow-1", inputs=[]) as run:
        run.log_outputs([lineage.artifact_ref(clean)])
    with lineage.stage_run("tokenize", "flow-1", inputs=[lineage.artifact_ref(clean)]) as run:
        run.log_outputs([lineage.artifact_ref(tokens)])

    producer, consumer = wait_for_runs(runs_dir, 2)
    (logged,) = producer.artifacts
    assert (logged.name, logged.type) == ("bot-clean", "clean")
    assert logged.files == {"posts.parquet": _md5(b"kept")}  # the content, not the manifest
    assert set(logged.aliases) == {"latest", "fp-c1"}
    assert (consumer.job_type, consumer.group) == ("tokenize", "flow-1")
    assert consumer.config["inputs"] == [
        {
            "name": "bot-clean",
            "type": "clean",
            "fingerprint": "c1",
            "digest": logged.digest,
        }
    ]
    assert [a.files for a in consumer.artifacts] == [{"train.npy": _md5(b"123")}]


def test_a_runs_config_holds_what_decided_its_output(data_root, runs_dir):
    """The key's settings and code, each input's key and counts, then the output's counts:
    read back from the run's offline log."""
    revision = "e7da7f221d5bf496a48136c0cd264e630fe9fcc8"
    base_dir = data_root / "base-model" / "bot" / "b1"
    base = finished_output(
        "base-model",
        base_dir,
        files={"config.json": b"{}"},
        key={"settings": {"model": "gpt2"}, "inputs": {"revision": revision}},
        model="gpt2",
        model_dir=str(base_dir),
        revision=revision,
    )
    tokens = finished_output(
        "tokenize",
        data_root / "tokenize" / "bot" / "t1",
        files={"train.npy": b"1"},
        block_size=1024,
        train={"posts": 90, "blocks": 3, "tokens": 3072},
        settings={"block_size": 2048},
    )
    key = OutputKey(
        stage="fine-tune",
        bot="bot",
        code="c0de",
        inputs={"tokenize": "t1", "base-model": "b1"},
        settings={"epochs": 4.0, "learning_rate": 1e-4, "batch_size": 8, "seed": 42},
    )
    inputs = [lineage.artifact_ref(tokens), lineage.artifact_ref(base)]
    with lineage.stage_run(
        "fine-tune", "flow-1", inputs, lineage.run_config(key, [tokens, base])
    ) as run:
        run.update_config({"data": lineage.data_counts({"steps": 12, "final_loss": 2.5})})

    (logged,) = wait_for_runs(runs_dir, 1)
    config = logged.config
    assert config["settings"] == key.settings and config["code"] == "c0de"
    assert config["fingerprint"] == key.fingerprint and config["read"] == key.inputs
    assert config["base-model"]["settings"] == {"model": "gpt2"}
    assert config["base-model"]["read"] == {"revision": revision}
    assert config["tokenize"]["data"] == {
        "block_size": 1024,
        "train": {"posts": 90, "blocks": 3, "tokens": 3072},
    }  # the counts, without the settings the summary repeats
    assert config["data"] == {"steps": 12}
    assert [i["name"] for i in config["inputs"]] == ["bot-tokenize", "bot-base-model"]


def test_the_digest_follows_the_content_not_its_place_or_manifest(data_root):
    files = {"train.npy": b"blocks", "val.npy": b"held out"}
    here = finished_output("tokenize", data_root / "a" / "t1", files=files, blocks=3)
    there = finished_output("tokenize", data_root / "b" / "t1", files=files, blocks=4)
    changed = finished_output(
        "tokenize", data_root / "c" / "t1", files={**files, "val.npy": b"held 0ut"}
    )
    digest = lineage.content_digest
    assert digest(lineage.artifact_ref(here)) == digest(lineage.artifact_ref(there))
    assert digest(lineage.artifact_ref(changed)) != digest(lineage.artifact_ref(here))


def test_the_raw_posts_artifact_is_the_users_raw_store_parts(data_root, tmp_path):
    source = tmp_path / "alice.csv"
    source.write_text("id,text\n1,the first post with enough words\n")
    scrape = scrape_source(f"file:{source}", "bot")
    ref = lineage.artifact_ref(scrape)
    assert (ref.name, ref.type) == ("bot-scrape-alice", "scrape")
    assert list(ref.files) == scrape.summary["users"][0]["parts"]
    assert all(path.is_file() for path in ref.files.values())


def test_a_failing_stage_leaves_a_failed_run_without_outputs(data_root, runs_dir):
    with pytest.raises(RuntimeError), lineage.stage_run("fine-tune", "flow-1", []) as run:
        run.log({"loss": 2.5, "learning_rate": 1e-4, "tokens_per_s": 900.0}, step=1)
        raise RuntimeError("out of memory")
    (failed,) = wait_for_runs(runs_dir, 1)
    assert failed.exit_code == 1
    assert failed.artifacts == []
    assert failed.history[0]["loss"] == 2.5


def test_disabled_wandb_opens_no_run_and_writes_nothing(data_root, runs_dir, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    clean = finished_output(
        "clean", data_root / "clean" / "bot" / "c1", files={"posts.parquet": b"kept"}
    )
    with lineage.stage_run("clean", "flow-1", [lineage.artifact_ref(clean)]) as run:
        run.log({"loss": 1.0}, step=1)
        run.log_table("samples", ["prompt", "text"], [["My dream is", "bread"]])
        run.log_outputs([lineage.artifact_ref(clean)])
    assert (run.mode, run.url, run.directory) == ("disabled", None, None)
    assert not runs_dir.exists()


def test_the_api_key_reaches_no_file_of_the_run(data_root, runs_dir, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", TEST_KEY)  # WANDB_MODE stays offline
    clean = finished_output(
        "clean", data_root / "clean" / "bot" / "c1", files={"posts.parquet": b"kept"}
    )
    with lineage.stage_run("clean", "flow-1", [], config={"bot": "bot"}, api_key=TEST_KEY) as run:
        run.log_outputs([lineage.artifact_ref(clean)])
    wait_for_runs(runs_dir, 1)
    files = [f for f in runs_dir.parent.rglob("*") if f.is_file()]
    assert any(f.suffix == ".wandb" for f in files)
    assert [f for f in files if TEST_KEY.encode() in f.read_bytes()] == []


def test_lineage_sync_lists_the_recorded_links_and_needs_a_key(
    data_root, runs_dir, monkeypatch, tmp_path
):
    clean = finished_output(
        "clean", data_root / "clean" / "bot" / "c1", files={"posts.parquet": b"kept"}
    )
    with lineage.stage_run("clean", "flow-1", inputs=[]) as run:
        run.log_outputs([lineage.artifact_ref(clean)])
    with lineage.stage_run("tokenize", "flow-1", inputs=[lineage.artifact_ref(clean)]):
        pass
    _, consumer = wait_for_runs(runs_dir, 2)
    digest = consumer.config["inputs"][0]["digest"]
    runner = CliRunner()

    listed = runner.invoke(app, ["lineage", "sync", "--dry-run", "--wandb-dir", str(runs_dir)])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        f"tokenize {consumer.run_id} <- bot-clean:fp-c1 ({digest})"
    ]

    for name in ("WANDB_API_KEY", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # no `wandb login` either
    refused = runner.invoke(app, ["lineage", "sync", "--wandb-dir", str(runs_dir)])
    assert refused.exit_code == 1
    assert refused.output.splitlines()[-1].startswith("error: no W&B API key: set WANDB_API_KEY")


class _PublicApi:
    """W&B's public API as `sync_lineage` uses it (no W&B server runs without Docker):
    artifact versions by `entity/project/name:alias`, runs that record what they used."""

    default_entity = "me"

    def __init__(self, versions: dict[str, list[tuple[str, str]]]) -> None:
        self.versions = versions  # name -> [(alias, digest), ...], oldest first
        self.used: list[tuple[str, str]] = []  # (run path, digest)

    def artifact(self, path: str, type: str):
        import wandb

        name, alias = path.rsplit("/", 1)[-1].split(":")
        for version_alias, digest in self.versions.get(name, []):
            if version_alias == alias:
                return SimpleNamespace(digest=digest)
        raise wandb.errors.CommError(f"artifact {path} not found")

    def artifacts(self, type: str, path: str):
        return [SimpleNamespace(digest=d) for _, d in self.versions[path.rsplit("/", 1)[-1]]]

    def run(self, path: str):
        return SimpleNamespace(use_artifact=lambda a: self.used.append((path, a.digest)))


def test_lineage_sync_declares_the_version_with_the_recorded_digest(monkeypatch):
    import wandb

    def link(name: str, digest: str) -> lineage.InputLink:
        return lineage.InputLink(
            run_id="r1", project="tweetbots", entity="", job_type="tokenize",
            artifact=f"{name}:fp-c1", type="dataset", digest=digest,
        )  # fmt: skip

    api = _PublicApi(
        {
            "same": [("fp-c1", "d-same")],
            "moved": [("v0", "d-old"), ("fp-c1", "d-new")],  # the alias moved on
        }
    )
    monkeypatch.setattr(wandb, "Api", lambda api_key: api)
    links = [link("same", "d-same"), link("moved", "d-old"), link("never-synced", "d-x")]

    assert lineage.sync_lineage(links, api_key=TEST_KEY) == 2
    assert api.used == [("me/tweetbots/r1", "d-same"), ("me/tweetbots/r1", "d-old")]


# -- online when logged in, the usual ways; WANDB_MODE wins -----------------------------

_WANDB_LOGIN_ENV = {
    "WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_IDENTITY_TOKEN_FILE",
    "WANDB_CONFIG_DIR", "NETRC", "XDG_CONFIG_HOME",
}  # fmt: skip
_MODES_AS_A_NEW_PROCESS_SEES_THEM = """
import logging, os, sys
logging.basicConfig(level=logging.WARNING)
from tweetbots.lineage import wandb_mode
print(wandb_mode())
for forced in ("offline", "disabled"):
    os.environ["WANDB_MODE"] = forced
    print(wandb_mode())
"""
LOGIN_KEY = "c0ffee42" * 5  # the shape wandb accepts: 40 characters of [A-Za-z0-9_]


def _netrc(home: Path, machine: str, key: str = LOGIN_KEY) -> None:
    """What `wandb login` leaves: the key as the password of the W&B host in ~/.netrc."""
    (home / ".netrc").write_text(f"machine {machine}\n  login user\n  password {key}\n")
    (home / ".netrc").chmod(0o600)


def _modes(home: Path, **env: str) -> tuple[list[str], str]:
    """(mode with WANDB_MODE unset, then =offline, then =disabled), and what was logged.

    In a new process with HOME in a temp dir: wandb reads its settings and session
    credentials once per process, and this user's own login must not count."""
    clean = {k: v for k, v in os.environ.items() if k not in _WANDB_LOGIN_ENV}
    result = subprocess.run(
        [sys.executable, "-c", _MODES_AS_A_NEW_PROCESS_SEES_THEM],
        env={**clean, "HOME": str(home), **env},
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split(), result.stderr


@pytest.mark.parametrize(
    ("login", "netrc_host", "env", "mode"),
    [
        ("nothing", None, {}, "offline"),
        ("wandb login (netrc)", "api.wandb.ai", {}, "online"),
        ("WANDB_API_KEY", None, {"WANDB_API_KEY": LOGIN_KEY}, "online"),
        (
            "netrc of a W&B server",
            "wandb.example.com",
            {"WANDB_BASE_URL": "https://wandb.example.com"},
            "online",
        ),
        (
            "netrc of another W&B server",
            "api.wandb.ai",
            {"WANDB_BASE_URL": "https://wandb.example.com"},
            "offline",
        ),
    ],
)
def test_runs_go_online_when_logged_in_and_wandb_mode_wins(tmp_path, login, netrc_host, env, mode):
    if netrc_host:
        _netrc(tmp_path, netrc_host)
    modes, logged = _modes(tmp_path, **env)
    assert modes == [mode, "offline", "disabled"], login
    assert LOGIN_KEY not in logged


def test_a_malformed_key_in_netrc_keeps_runs_offline_with_a_warning(tmp_path):
    _netrc(tmp_path, "api.wandb.ai", key="not-a-w-and-b-key")
    modes, logged = _modes(tmp_path)
    assert modes == ["offline", "offline", "disabled"]
    (warning,) = [line for line in logged.splitlines() if "W&B credentials" in line]
    assert "runs stay offline" in warning and "wandb login" in warning
    assert "not-a-w-and-b-key" not in logged
