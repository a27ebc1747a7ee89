"""Benchmark: a demo-size bot's first run against its unchanged rerun, on a real server.

    python bench/orchestration.py [--api-url http://127.0.0.1:4200/api]

Without --api-url it starts its own `prefect server start` (as `tweetbots serve` does)
in a temp dir and stops it at the end. Both runs call the train-bot flow in this process
against that server, with a fresh data root, W&B offline. Stage bodies executed are
counted from the task-run states the server recorded (`Cached` = not executed). The
issue's goal: the rerun executes 0 stage bodies in at most 10% of the first run's time.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAGES = {"scrape", "clean", "base-model", "tokenize", "fine-tune", "evaluate", "publish"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", help="a running Prefect server's API (default: start one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tweetbots-bench-") as tmp:
        _set_environment(Path(tmp))
        from flows import stack
        from flows.environment import configure_local_environment

        started = []
        api_url = args.api_url
        if not api_url:
            port = stack.free_port()
            home = configure_local_environment(local_stack=True)  # as `tweetbots serve`
            os.environ.update(stack.client_settings(home, port))  # before Prefect's import
            api_url = os.environ["PREFECT_API_URL"]
            started.append(stack.start_server(port, home, Path(tmp) / "server.log"))
        os.environ["PREFECT_API_URL"] = api_url
        try:
            _compare(Path(tmp))
        finally:
            stack.stop(started)


def _set_environment(tmp: Path) -> None:
    os.environ.update(
        {
            "TWEETBOTS_HOME": str(tmp / "home"),
            "PREFECT_HOME": str(tmp / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "WANDB_DIR": str(tmp / "wandb"),
            "HF_HUB_OFFLINE": "1",
        }
    )


def _compare(tmp: Path) -> None:
    from flows.train_bot import train_bot
    from tweetbots.card import model_name
    from tweetbots.config import BotSpec
    from tweetbots.demo_data import write_sample_archives
    from tweetbots.stages.fine_tune import TrainSettings

    archives = write_sample_archives(tmp / "sample")
    # The demo's bot: three users, the tiny base model, batch 8.
    bot = BotSpec(
        name=model_name([a.stem for a in archives]),
        sources=[f"archive:{a}" for a in archives],
        base_model="tiny",
        train=TrainSettings(batch_size=8),
    )
    rows = []
    for label in ("first run", "unchanged rerun"):
        start = time.perf_counter()
        state = train_bot(bot, return_state=True)
        seconds = time.perf_counter() - start
        assert state.is_completed(), state.message
        rows.append((label, seconds, _bodies_executed(state.state_details.flow_run_id)))
        print(f"{label}: {seconds:.1f} s")
    _print_table(rows)


def _bodies_executed(flow_run_id, timeout: float = 30) -> int:
    """Stage task runs that ran their body (Completed, not Cached) in that flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:  # task-run states reach the server through its event pipeline
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            final = [
                r
                for r in runs
                if r.name.rsplit("-", 1)[0] in STAGES and r.state and r.state.is_final()
            ]
            if len(final) >= len(STAGES) + 2 or time.monotonic() > deadline:  # 3 scrapes
                return sum(r.state.name == "Completed" for r in final)
            time.sleep(0.25)


def _print_table(rows) -> None:
    first_seconds = rows[0][1]
    print(f"\n{'run':<16} {'seconds':>8} {'share':>7} {'stage bodies':>13}")
    for label, seconds, bodies in rows:
        print(f"{label:<16} {seconds:>8.1f} {seconds / first_seconds:>6.1%} {bodies:>13}")
    print("(share: of the first run's wall time; stage bodies: task runs not Cached)")


if __name__ == "__main__":
    main()
