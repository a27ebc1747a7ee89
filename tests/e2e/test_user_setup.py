"""`tweetbots train` as a new user runs it: the installed command in a fresh directory,
with nothing of the test session's Prefect, W&B or data root in the environment and a home
directory of their own. Without a Prefect of theirs it starts one under the data root;
with one (a profile in their PREFECT_HOME) the run is registered there."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

from tests.fakes.wandb_runs import wait_for_runs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TWEETBOTS = Path(sys.executable).parent / "tweetbots"
STAGE_RUNS = 7  # one scrape, then six stages: a W&B run each


def _new_user(home: Path) -> dict[str, str]:
    """The environment of a user whose home is `home`: no Prefect, W&B or tweetbots
    setting (their PREFECT_HOME is then `home/.prefect`, as for anyone)."""
    ours = ("PREFECT_", "WANDB_", "TWEETBOTS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    home.mkdir(parents=True, exist_ok=True)
    return {**env, "HOME": str(home)}


def _train(bot: str, archive: Path, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    command = [str(TWEETBOTS), "train", bot, "--source", f"archive:{archive}"]
    command += ["--base-model", "tiny", "--epochs", "1", "--batch-size", "8"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _published_message(root: Path, bot: str) -> str:
    marker = root / "published" / bot / ".tweetbots-published"
    return json.loads(marker.read_text())["message"]


@pytest.mark.parametrize("where", ["working directory", "TWEETBOTS_HOME not made yet"])
def test_a_first_train_in_a_fresh_directory_works(tmp_path, sample_archives, where):
    user, fresh = tmp_path / "user", tmp_path / "fresh"
    fresh.mkdir()
    env = _new_user(user)
    root = fresh / ".tweetbots"
    if where != "working directory":
        root = tmp_path / "not" / "made" / "yet"
        env["TWEETBOTS_HOME"] = str(root)

    result = _train("first", sample_archives[0], fresh, env)

    assert result.returncode == 0, result.stderr[-3000:]
    assert (root / "published" / "first" / "README.md").is_file()
    # The temporary server's database and the cache under the data root; the user's
    # PREFECT_HOME holds no database of ours.
    assert (root / "prefect" / "prefect.db").is_file()
    assert any((root / "prefect" / "storage").iterdir())
    assert not list((user / ".prefect").glob("*.db"))
    # No UI shows a temporary server's runs: the commit names the run, links nothing.
    message = _published_message(root, "first")
    assert re.fullmatch(r"tweetbots: publish first \(Prefect flow run [0-9a-f-]{36}\)", message)
    for run in wait_for_runs(root / "wandb", STAGE_RUNS):
        assert "prefect_flow_run" not in run.config, run.config
        assert re.fullmatch(r"[0-9a-f-]{36}", run.config["prefect_flow_run_id"])


def test_train_runs_on_the_server_of_the_users_profile(prefect_server, tmp_path, sample_archives):
    """Configured only by a profile in the user's PREFECT_HOME (~/.prefect): no
    PREFECT_API_URL in the environment."""
    user, root = tmp_path / "user", tmp_path / "data"
    (user / ".prefect").mkdir(parents=True)
    (user / ".prefect" / "profiles.toml").write_text(
        f'active = "mine"\n\n[profiles.mine]\nPREFECT_API_URL = "{prefect_server}"\n'
    )
    env = {**_new_user(user), "TWEETBOTS_HOME": str(root)}
    assert "PREFECT_API_URL" not in env

    result = _train("profiled", sample_archives[1], tmp_path, env)

    assert result.returncode == 0, result.stderr[-3000:]
    with get_client(sync_client=True) as client:  # the session's client: the same server
        (run,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=["train-profiled"]))
        )
    assert run.state.is_completed()
    assert not (root / "prefect" / "prefect.db").exists()  # no server of ours
    page = f"{prefect_server.removesuffix('/api')}/runs/flow-run/{run.id}"
    assert _published_message(root, "profiled").endswith(f"(Prefect flow run {page})")
    runs = wait_for_runs(root / "wandb", STAGE_RUNS)
    assert {r.config["prefect_flow_run"] for r in runs} == {page}
