"""The local stack behind `tweetbots serve`: a Prefect server, the work pool, the
deployments of prefect.yaml and a worker, all on 127.0.0.1 with state under the data root.

The server answers only its own UI: any web page the user visits could otherwise drive
it (start runs, read files through their parameters). It allows no other origin (CORS),
wants a CSRF token with every change, and a login (made once per data root, kept in
`<data root>/prefect/ui-login`) with every request.

The end-to-end tests use `prepare` and `start_worker` against their own server, so the
code that sets up a user's stack is the code the tests run.
"""

import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tweetbots.store import check_writable

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
WORK_POOL = "tweetbots"
LOGIN_USER = "tweetbots"


class StackError(RuntimeError):
    """The local stack could not start; the message says what to do."""


def client_settings(root: Path, port: int) -> dict[str, str]:
    """What every client of the local server needs (serve itself, the deploy, the worker
    and its flow runs): its URL and its login."""
    return {
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_API_AUTH_STRING": login(root),
    }


def server_settings(root: Path, port: int) -> dict[str, str]:
    """The local server refuses other web pages: only the UI's own origins may call it,
    every change needs a CSRF token, every request the login."""
    return {
        "PREFECT_SERVER_CORS_ALLOWED_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}",
        "PREFECT_SERVER_CSRF_PROTECTION_ENABLED": "true",
        "PREFECT_SERVER_API_AUTH_STRING": login(root),
    }


def login_file(root: Path) -> Path:
    return root / "prefect" / "ui-login"


def login(root: Path) -> str:
    """The local server's `user:password`, made on first use and kept, readable by the
    user alone, under the data root: the browser stays logged in across restarts."""
    path = login_file(root)
    if not path.is_file() or not path.read_text().strip():
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(f"{LOGIN_USER}:{secrets.token_urlsafe(18)}\n")
        staged.replace(path)  # whole or not at all: never an empty login
    return path.read_text().strip()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now: for a private server of a bench or test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, root: Path, log_file: Path) -> subprocess.Popen:
    """`prefect server start` on 127.0.0.1:port, SQLite under the data root (as set by
    flows.environment); it answers only its own UI (`server_settings`). Waits for it."""
    url = f"http://127.0.0.1:{port}/api"
    if _healthy(url):
        raise StackError(f"port {port} already serves a Prefect API: stop it or pass --port")
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    env = {**_env(url), **server_settings(root, port)}
    server = _spawn([*command, "--port", str(port)], log_file, env)
    try:
        _wait_until_healthy(server, url, log_file)
    except BaseException:  # a Ctrl-C while it starts too: never leave it running behind us
        stop([server])
        raise
    return server


def _wait_until_healthy(server: subprocess.Popen, url: str, log_file: Path) -> None:
    deadline = time.monotonic() + 180  # 15-40 s on 2 cores, the first start the slowest
    while not _healthy(url):
        if server.poll() is not None:
            raise StackError(f"the Prefect server exited ({server.returncode}); see {log_file}")
        if time.monotonic() > deadline:
            raise StackError(f"the Prefect server did not answer within 180 s; see {log_file}")
        time.sleep(0.5)


def prepare(api_url: str, root: Path) -> None:
    """Work pool, the per-host fine-tune limit, the deployments (and with them the demo's
    sample data: `deploy_step`)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from tasks.runtime import ensure_fine_tune_limit

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"), overwrite=True)
    ensure_fine_tune_limit()  # the fine-tunes would create it too; the UI shows it from now
    deploy = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=REPO,
        env=_env(api_url, root),
        capture_output=True,
        text=True,
        check=False,
    )
    if deploy.returncode != 0:
        raise StackError(f"prefect deploy failed: {_last_line(deploy.stdout + deploy.stderr)}")


def deploy_step() -> dict[str, str]:
    """The build step of prefect.yaml, run by `prefect deploy` (by `serve`, or by hand):
    the demo's sample archives under the data root, for the deployments' default bots;
    the checkout to run the flows from (the deploy's working directory, where prefect.yaml
    is) and the data root, both for the deployments to name."""
    from tweetbots.demo_data import write_sample_archives

    root = check_writable()  # TWEETBOTS_HOME, else ./.tweetbots: as `tweetbots train`
    write_sample_archives(root / "sample")
    return {"repo": str(Path.cwd()), "data_root": str(root)}


def start_worker(api_url: str, root: Path, log_file: Path) -> subprocess.Popen:
    """A process worker on the tweetbots pool: it runs each flow run in a subprocess."""
    command = [sys.executable, "-m", "prefect", "worker", "start", "--type", "process"]
    return _spawn([*command, "--pool", WORK_POOL], log_file, _env(api_url, root))


def stop_stack(started: list[subprocess.Popen], api_url: str) -> None:
    """Stop what `serve` started: the worker (it stops its flow runs), then the server.

    In between, the flow runs the worker left Running or Pending are marked Crashed, so
    the UI shows what happened and offers Retry (which resumes at the unfinished stage)
    instead of a run that stays Running forever.
    """
    if not started:
        return
    server, *worker = started  # serve starts the server first, then the worker
    if worker:
        stop(worker)
        if server.poll() is None:
            _crash_abandoned_runs(api_url)
    stop([server])


def _crash_abandoned_runs(api_url: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    unfinished = FlowRunFilter(
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])
        )
    )
    message = "tweetbots serve stopped while this run was in flight: retry it"
    try:
        with get_client(sync_client=True) as client:
            for run in client.read_flow_runs(
                flow_run_filter=unfinished,
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[WORK_POOL])),
            ):
                client.set_flow_run_state(run.id, Crashed(message=message), force=True)
                log.info("marked flow run %s Crashed", run.name)
    except Exception as error:  # noqa: BLE001 - stopping must go on whatever the API says
        log.warning("could not mark the unfinished flow runs Crashed: %s", error)


def stop(processes: list[subprocess.Popen]) -> None:
    """Stop what we started, newest first, each before the next: the worker, then the
    server it reports to. Whatever ignores SIGTERM for 30 s is killed."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _spawn(command: list[str], log_file: Path, env: dict[str, str]) -> subprocess.Popen:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        # Its own session: a Ctrl-C in the terminal reaches `serve`, which stops the
        # children in order, instead of every process at once.
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _env(api_url: str, root: Path | None = None) -> dict[str, str]:
    """Our environment, pointed at this API; flow runs write under `root`."""
    env = {**os.environ, "PREFECT_API_URL": api_url}
    if root is not None:
        env["TWEETBOTS_HOME"] = str(root)
    return env


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def nightly_bots(path: Path = REPO / "prefect.yaml") -> dict[str, dict]:
    """The bots the nightly deployment lists, by name, filled in as `prefect deploy` fills
    them: the build step's data root (TWEETBOTS_HOME, else the default) and checkout."""
    import re

    import yaml

    from tweetbots.store import data_root

    values = {"tweetbots.data_root": str(data_root()), "tweetbots.repo": str(REPO)}
    text = re.sub(
        r"\{\{\s*([\w.]+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), path.read_text()
    )
    deployments = yaml.safe_load(text).get("deployments", [])
    nightly = next((d for d in deployments if d.get("name") == "nightly"), {})
    return {bot["name"]: bot for bot in nightly.get("parameters", {}).get("bots", [])}
