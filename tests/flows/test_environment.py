"""Which Prefect the CLI runs against: the user's own (PREFECT_API_URL, or the active
profile in their PREFECT_HOME), else a local server whose database and results live
under the data root; PREFECT_HOME is never moved. And a data root that cannot be written
fails at the start, in one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.environment import configure_local_environment, users_prefect_api

TWEETBOTS = Path(sys.executable).parent / "tweetbots"
SERVER_SETTINGS = (
    "PREFECT_SERVER_DATABASE_CONNECTION_URL",
    "PREFECT_RESULTS_LOCAL_STORAGE_PATH",
    "PREFECT_SERVER_EPHEMERAL_ENABLED",
)


@pytest.fixture
def user(monkeypatch, tmp_path, data_root):
    """A user with a PREFECT_HOME of their own and no Prefect setting in the environment;
    the process environment is restored afterwards (configure sets it)."""
    monkeypatch.setattr(os, "environ", dict(os.environ))
    for name in [n for n in os.environ if n.startswith("PREFECT_")]:
        monkeypatch.delenv(name)
    home = tmp_path / "prefect-home"
    home.mkdir()
    monkeypatch.setenv("PREFECT_HOME", str(home))
    return home


def _profiles(home: Path, active: str, **urls: str) -> None:
    tables = "".join(
        f'[profiles.{name}]\nPREFECT_API_URL = "{url}"\n' for name, url in urls.items()
    )
    (home / "profiles.toml").write_text(f'active = "{active}"\n{tables}[profiles.bare]\n')


def test_without_a_prefect_of_the_users_a_local_server_lives_under_the_data_root(user, data_root):
    assert users_prefect_api() is None
    configure_local_environment()
    assert os.environ["PREFECT_HOME"] == str(user)  # the user's, untouched
    database = os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"]
    assert database == f"sqlite+aiosqlite:///{data_root}/prefect/prefect.db"
    assert (data_root / "prefect").is_dir()  # SQLite cannot make it
    assert os.environ["PREFECT_RESULTS_LOCAL_STORAGE_PATH"] == str(
        data_root / "prefect" / "storage"
    )
    assert (data_root / "prefect" / "storage").is_dir()
    assert os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] == "true"


def test_the_active_profile_of_the_users_prefect_home_is_their_prefect(user, monkeypatch):
    _profiles(user, "mine", mine="http://prefect.example/api", other="http://other/api")
    assert users_prefect_api() == "http://prefect.example/api"
    monkeypatch.setenv("PREFECT_PROFILE", "other")  # as Prefect: the variable wins
    assert users_prefect_api() == "http://other/api"
    configure_local_environment()
    assert not any(name in os.environ for name in SERVER_SETTINGS)  # theirs runs it all
    assert "PREFECT_API_URL" not in os.environ  # Prefect reads the profile itself
    assert os.environ["PREFECT_HOME"] == str(user)


def test_prefect_api_url_in_the_environment_is_their_prefect(user, monkeypatch):
    _profiles(user, "mine", mine="http://prefect.example/api")
    monkeypatch.setenv("PREFECT_API_URL", "https://api.prefect.cloud/api/accounts/a/workspaces/w")
    assert users_prefect_api().startswith("https://api.prefect.cloud/")
    configure_local_environment()
    assert not any(name in os.environ for name in SERVER_SETTINGS)


@pytest.mark.parametrize("content", ['active = "bare"\n[profiles.bare]\n', "not [toml", ""])
def test_a_profile_without_a_server_or_an_unreadable_file_means_none(user, content):
    (user / "profiles.toml").write_text(content)
    assert users_prefect_api() is None


def test_the_local_stack_uses_its_own_server_whatever_the_user_has(user, data_root):
    _profiles(user, "mine", mine="http://prefect.example/api")
    configure_local_environment(local_stack=True)
    assert os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"].endswith(
        f"{data_root}/prefect/prefect.db"
    )


def test_a_read_only_data_root_fails_at_the_start_in_one_line(tmp_path):
    """A real read-only file system (a tmpfs mounted read-only in a mount namespace of
    its own: as root, file modes would not stop a write)."""
    root = tmp_path / "read-only-root"
    root.mkdir()
    mount_then_run = 'mount -t tmpfs -o ro tmpfs "$0" || exit 97; exec "$@"'
    command = ["unshare", "-m", "--", "sh", "-c", mount_then_run, str(root)]
    command += [str(TWEETBOTS), "train", "--source", "file:posts.csv", "--base-model", "tiny"]
    env = {**os.environ, "TWEETBOTS_HOME": str(root)}
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    except FileNotFoundError:
        pytest.skip("no unshare here")
    if result.returncode == 97 or "unshare:" in result.stderr:
        pytest.skip(f"cannot mount a read-only file system here: {result.stderr.strip()}")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: data root {root} cannot be written (Read-only file system")
    assert "TWEETBOTS_HOME" in line
