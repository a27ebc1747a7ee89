"""`tweetbots serve` as a user starts it, and the processes it leaves (or must not leave)."""

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from flows.stack import login_file


def start_serve(home: Path, port: int) -> subprocess.Popen:
    """The installed `tweetbots serve`, with nothing of the test session's Prefect or W&B."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PREFECT_") and not k.startswith("WANDB_")
    }
    env.update(
        TWEETBOTS_HOME=str(home),
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_LOGGING_LEVEL="WARNING",
        WANDB_MODE="offline",
    )
    cli = Path(sys.executable).parent / "tweetbots"
    return subprocess.Popen(
        [str(cli), "serve", "--port", str(port)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for_ui_line(serve: subprocess.Popen, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = serve.stdout.readline()
        if not line and serve.poll() is not None:
            raise AssertionError(f"tweetbots serve exited with {serve.returncode}")
        found = re.search(r"Prefect UI: (http://\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("tweetbots serve printed no UI address")


def api_client(home: Path, port: int) -> httpx.Client:
    """The served API, called as its own UI calls it: with the login `serve` made for the
    data root and a CSRF token for every change."""
    user, _, password = login_file(home).read_text().strip().partition(":")
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api", auth=(user, password), timeout=10
    )
    client_id = uuid.uuid4().hex
    token = client.get("/csrf-token", params={"client": client_id})
    token.raise_for_status()
    client.headers.update(
        {"Prefect-Csrf-Token": token.json()["token"], "Prefect-Csrf-Client": client_id}
    )
    return client


def processes_under(home: Path) -> dict[int, str]:
    """pid -> command line of the live processes started with this data root (the server,
    the worker, its flow runs ...), this test's own process left out."""
    marker = f"TWEETBOTS_HOME={home}\0".encode()
    found = {}
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes() and int(environ.parent.name) != os.getpid():
                command = (environ.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                found[int(environ.parent.name)] = command.decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def wait_for_process(home: Path, words: str, timeout: float = 240) -> None:
    """Until a process under `home` has `words` in its command line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(words in command for command in processes_under(home).values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"no process running {words!r} under {home}")


def wait_for_no_process(
    home: Path, timeout: float = 10, spared: frozenset[int] = frozenset()
) -> dict[int, str]:
    """Until nothing but `spared` runs under `home` (a killed child may take a moment);
    what is left."""
    deadline = time.monotonic() + timeout
    while (left := processes_under(home)).keys() - spared and time.monotonic() < deadline:
        time.sleep(0.2)
    return left
