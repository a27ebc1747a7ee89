"""Benchmark: the nightly over N demo-size bots, through a real Prefect server and worker.

    python bench/nightly.py [--bots 50] [--epochs 4]

Starts its own `prefect server start`, the `tweetbots` process work pool, the deployments
of prefect.yaml and a process worker (as `tweetbots serve` does), in a temp dir. N bots,
each a demo persona's ~700 posts under its own user name (a `file:` source), tiny base,
the demo's training settings. Three nightlies through the `nightly` deployment:

1. the first: every bot is new, every bot trains;
2. unchanged: no source has a new post;
3. one changed: one bot's source got new posts.

For each: wall time from the trigger to the end (worker pick-up and process start
included) and the nightly flow run's own duration, the machine's CPU seconds (every
process: server, worker, flow runs), and the train-bot flow runs it started. The goals
(issue 17, this 2-core machine): the unchanged nightly starts 0 train-bot runs in at most
15 s for 50 bots; the one-changed nightly starts exactly 1.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUERY_SECONDS = 2  # the worker's poll interval (Prefect's default is 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=50, help="bots in the nightly [50]")
    parser.add_argument("--epochs", type=float, default=4, help="training epochs [4: the demo's]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tweetbots-nightly-") as tmp:
        home = Path(tmp) / "home"
        _set_environment(Path(tmp), home)
        from flows import stack
        from flows.environment import configure_local_environment

        port = stack.free_port()
        configure_local_environment(local_stack=True)  # as `tweetbots serve` does
        os.environ.update(stack.client_settings(home, port))  # before Prefect is imported
        api_url = os.environ["PREFECT_API_URL"]
        started = [stack.start_server(port, home, Path(tmp) / "server.log")]
        try:
            stack.prepare(api_url, home)
            started.append(stack.start_worker(api_url, home, Path(tmp) / "worker.log"))
            _three_nightlies(home, args.bots, args.epochs)
        finally:
            stack.stop(started)


def _set_environment(tmp: Path, home: Path) -> None:
    os.environ.update(
        {
            "TWEETBOTS_HOME": str(home),
            "PREFECT_HOME": str(tmp / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
            "PREFECT_WORKER_QUERY_SECONDS": str(QUERY_SECONDS),
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "WANDB_DIR": str(tmp / "wandb"),
            "HF_HUB_OFFLINE": "1",
        }
    )


def _three_nightlies(home: Path, n_bots: int, epochs: float) -> None:
    bots = _bots(home, n_bots, epochs)
    rows = [("first", *_nightly(bots))]
    print(f"first nightly done: {rows[-1][1]:.0f} s", flush=True)
    rows.append(("unchanged", *_nightly(bots)))
    _add_posts(Path(bots[0]["sources"][0].removeprefix("file:")))
    rows.append(("one changed", *_nightly(bots)))
    _print_table(rows, n_bots)


def _bots(home: Path, n_bots: int, epochs: float) -> list[dict]:
    """N bots of the demo's size: each a persona's posts under its own user name."""
    from tweetbots.sources import read_source

    archives = sorted((home / "sample").glob("*.zip"))
    personas = [read_source(f"archive:{a}").posts for a in archives]
    bots = []
    for i in range(n_bots):
        posts = personas[i % len(personas)].assign(user=f"bench{i:02d}")
        path = home / "sources" / f"bench{i:02d}.csv"  # inside: runs read only there
        path.parent.mkdir(exist_ok=True)
        posts[["id", "user", "created_at", "text", "is_retweet", "is_reply"]].to_csv(
            path, index=False
        )
        bots.append(
            {
                "name": f"bench{i:02d}",
                "sources": [f"file:{path}"],
                "base_model": "tiny",
                "train": {"batch_size": 8, "epochs": epochs},
                "evaluate": {"prompts": ["My dream is"], "samples_per_prompt": 2},
            }
        )
    return bots


def _add_posts(path: Path) -> None:
    import pandas as pd

    posts = pd.read_csv(path, dtype=str)
    new = posts.head(20).assign(id=[f"new{i}" for i in range(20)])
    pd.concat([posts, new]).to_csv(path, index=False)


def _nightly(bots: list[dict]) -> tuple[float, float, float, int]:
    """(wall s, the nightly flow run's own s, machine CPU s, train-bot runs started)."""
    from prefect.deployments import run_deployment

    cpu, wall = _machine_cpu_seconds(), time.perf_counter()
    run = run_deployment(
        "nightly/nightly", parameters={"bots": bots}, timeout=None, poll_interval=1
    )
    wall, cpu = time.perf_counter() - wall, _machine_cpu_seconds() - cpu
    if not run.state.is_completed():
        _print_failures(run.id)
    assert run.state.is_completed(), run.state.message
    own = (run.end_time - run.start_time).total_seconds()
    return wall, own, cpu, _children(run.id)


def _print_failures(nightly_id) -> None:
    """The failed rows of the nightly's table, and each failed child run's last message."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    with get_client(sync_client=True) as client:
        for artifact in client.read_artifacts():
            if artifact.key == "nightly-bots":
                print("\n".join(r for r in artifact.data.splitlines() if "Failed" in r))
        for child in client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[nightly_id])
            )
        ):
            if child.state and child.state.is_failed():
                print(f"{child.name}: {child.state.message}")


def _children(parent_id) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id])
            )
        )
    return len(runs)


def _machine_cpu_seconds() -> float:
    """Every process's CPU time on this machine so far (user, nice, system), in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:4]
    return sum(int(f) for f in fields) / os.sysconf("SC_CLK_TCK")


def _print_table(rows, n_bots: int) -> None:
    print(f"\n{n_bots} bots, worker poll {QUERY_SECONDS} s, {os.cpu_count()} cores")
    # The baseline is the first nightly, where every bot trains: what each night cost
    # before the nightly sensed first (every bot a run, a process, a pod).
    print(
        f"{'nightly':<12} {'wall s':>8} {'flow run s':>10} {'CPU s':>8} {'train-bot runs':>15}"
        f" {'CPU / first':>12}"
    )
    first_cpu = rows[0][3]
    for label, wall, own, cpu, runs in rows:
        share = f"{cpu / first_cpu:.3f}" if first_cpu else "-"
        print(f"{label:<12} {wall:>8.1f} {own:>10.1f} {cpu:>8.1f} {runs:>15} {share:>12}")
    _, wall, own, cpu, runs = rows[1]
    print(
        f"per unchanged bot: {wall / n_bots * 1000:.0f} ms wall, {cpu / n_bots * 1000:.0f} ms CPU"
    )
    goals = {
        "unchanged: 0 train-bot runs": runs == 0,
        f"unchanged: at most 15 s wall (the goal is for 50 bots; here {n_bots})": wall <= 15,
        "one changed: exactly 1 train-bot run": rows[2][4] == 1,
    }
    for goal, met in goals.items():
        print(f"{'met ' if met else 'MISSED'} {goal}")


if __name__ == "__main__":
    main()
