"""Faults with real processes: a stage or a scrape killed mid-write (SIGKILL, no cleanup
code runs), and two processes writing the same bot or the same user's raw store at once.

A killed fine-tune resuming from its checkpoint is tests/tweetbots/test_train_resume.py.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.stages import scrape_source
from tweetbots import rawstore
from tweetbots.stages import base_model, clean, fine_tune, tokenize
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.stages.tokenize import TokenizeSettings
from tweetbots.store import LOCKS, BusyError, is_complete

pytestmark = pytest.mark.slow

WORDS = "sourdough crumb oven starter flour proof bake loaf butter crust rye dough".split()


def posts_csv(path: Path, n: int) -> Path:
    texts = [" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(12)) for i in range(n)]
    pd.DataFrame({"id": range(n), "text": texts}).to_csv(path, index=False)
    return path


def start(script: str, *args: str) -> subprocess.Popen:
    """A Python process running `script` with the test's data root."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    """Poll `condition` every millisecond while `process` runs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the process ended before it could be killed: {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("timed out waiting for the process")
        time.sleep(0.001)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()  # reaped: its pid no longer names a live process


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


# -- a stage killed while it writes ---------------------------------------------------

BUILD_BASE = """
import sys
from tweetbots.stages import base_model
from tweetbots.store import StageOutput
base_model.run("tiny", StageOutput.model_validate_json(sys.argv[1]))
"""


def test_a_stage_killed_mid_write_leaves_no_output_and_the_rerun_cleans_up(data_root, tmp_path):
    scraped = scrape_source(f"file:{posts_csv(tmp_path / 'ada.csv', 200)}", "bot")
    cleaned = clean.run([scraped])
    final = base_model.output_key("tiny", cleaned).path

    process = start(BUILD_BASE, cleaned.model_dump_json())
    temp_dirs = lambda: list(final.parent.glob(f".{final.name}.tmp-*"))  # noqa: E731
    wait_for(lambda: final.parent.is_dir() and temp_dirs(), process)
    kill(process)

    assert not final.exists(), "the process finished before it was killed"
    [abandoned] = temp_dirs()
    base = base_model.run("tiny", cleaned)
    assert base.path == final and is_complete(final)
    assert not abandoned.exists()  # its builder is dead: removed, never renamed into place
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name]


# -- the raw store ---------------------------------------------------------------------

APPEND = """
import os, sys, time
from pathlib import Path
import pandas as pd
from tweetbots import rawstore
root, first, n, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
numbers = range(first, first + n)
posts = pd.DataFrame({
    "id": [f"p{i}" for i in numbers], "user": "ada",
    "created_at": pd.Timestamp("2024-01-01", tz="UTC"),
    "text": [f"post {i} " + "ab" * (i % 97) + str(i * 7919) for i in numbers],
    "is_retweet": False, "is_reply": False, "platform": "file", "url": None,
})
(go.parent / f"ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.001)
rawstore.append_posts(posts, root)
"""


def stored(root: Path) -> pd.DataFrame:
    parts = sorted(p.relative_to(root).as_posix() for p in store_of(root).glob("part-*.parquet"))
    return rawstore.read_posts([{"platform": "file", "user": "ada", "parts": parts}], root)


def store_of(root: Path) -> Path:
    return root / "raw" / "file" / "ada"


def test_a_scrape_killed_mid_append_leaves_the_store_as_it_was(data_root, tmp_path):
    scrape_source(f"file:{posts_csv(tmp_path / 'ada.csv', 50)}", "ada")
    before, readable_before = files(store_of(data_root)), stored(data_root)
    go = tmp_path / "go"
    go.touch()

    process = start(APPEND, str(data_root), "0", "400000", str(go))
    wait_for(lambda: any(store_of(data_root).glob(".part-*.tmp")), process)
    kill(process)

    after = files(store_of(data_root))
    assert {k: v for k, v in after.items() if k.startswith("part-")} == before  # no half part
    pd.testing.assert_frame_equal(stored(data_root), readable_before)
    assert any(name.endswith(".tmp") for name in after), "killed after the write finished"

    # The next append (the rerun) drops the dead one's temp file and stores normally.
    scrape_source(f"file:{posts_csv(tmp_path / 'ada.csv', 60)}", "ada")
    names = sorted(files(store_of(data_root)))
    assert not any(name.endswith(".tmp") for name in names) and len(names) == 2
    assert len(stored(data_root)) == 60


def test_a_raw_part_deleted_by_hand_is_stored_again(data_root, tmp_path):
    spec = f"file:{posts_csv(tmp_path / 'ada.csv', 50)}"
    first = scrape_source(spec, "ada")
    [part] = store_of(data_root).glob("part-*.parquet")
    part.unlink()
    # The scrape output lists a part that is gone: not complete, so the source is read again.
    again = scrape_source(spec, "ada")
    assert part.is_file() and again.fingerprint == first.fingerprint
    assert len(stored(data_root)) == 50


def test_two_processes_appending_one_user_take_turns(data_root, tmp_path):
    go = tmp_path / "go"
    # Overlapping batches: posts p30000-p59999 are offered by both.
    both = [start(APPEND, str(data_root), first, "60000", str(go)) for first in ("0", "30000")]
    for process in both:  # both imported and waiting at the line
        wait_for(lambda p=process: (tmp_path / f"ready-{p.pid}").exists(), process)
    go.touch()
    for process in both:
        assert process.wait(timeout=300) == 0, process.stderr.read()

    # The second read the ids the first had stored and added only the 30000 others:
    # interleaved, both would have seen an empty store and stored the overlap twice.
    parts = sorted(store_of(data_root).glob("part-*.parquet"))
    ids = [pd.read_parquet(part, columns=["id"])["id"] for part in parts]
    assert sorted(len(i) for i in ids) == [30000, 60000]
    assert pd.concat(ids).is_unique and len(stored(data_root)) == 90000
    assert not list(store_of(data_root).glob(".part-*"))


# -- two runs of one bot ---------------------------------------------------------------

FINE_TUNE = """
import sys
from tweetbots.stages import fine_tune
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.store import StageOutput
tokens, base = (StageOutput.model_validate_json(a) for a in sys.argv[1:3])
fine_tune.run(tokens, base, TrainSettings.model_validate_json(sys.argv[3]))
"""


def test_a_second_run_of_a_bot_is_refused_while_the_first_writes(data_root, tmp_path):
    spec = f"file:{posts_csv(tmp_path / 'ada.csv', 200)}"
    scraped = scrape_source(spec, "bot")
    cleaned = clean.run([scraped])
    base = base_model.run("tiny", cleaned)
    tokens = tokenize.run(cleaned, base, TokenizeSettings(block_size=32))
    settings = TrainSettings(epochs=100, batch_size=2, device="cpu")  # minutes: killed first

    first = start(
        FINE_TUNE, tokens.model_dump_json(), base.model_dump_json(), settings.model_dump_json()
    )
    lock = data_root / LOCKS / "bot-bot.holder"
    wait_for(lambda: lock.is_file() and lock.read_text().startswith(f"pid {first.pid} "), first)

    with pytest.raises(BusyError) as error:
        fine_tune.run(tokens, base, settings)
    message = str(error.value)
    assert "\n" not in message
    assert "bot 'bot' is busy" in message and f"pid {first.pid}" in message
    assert "wait for that run to finish" in message
    with pytest.raises(BusyError):  # every stage of that bot, not just the one running
        clean.run([scraped])
    clean.run([scrape_source(spec, "another-bot")])  # other bots are not held up

    kill(first)  # a killed holder leaves no stale lock: the kernel drops it
    assert clean.run([scraped]).path == cleaned.path
    assert not is_complete(fine_tune.output_key(tokens, base, settings).path)
