"""The data root's outputs (tweetbots/store.py): named by their keys, built in a temp dir
and renamed whole, locked per bot; with real processes killed mid-write (SIGKILL, no
cleanup code runs) and two runs of one bot at once."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.processes import kill, start, wait_for
from tests.fakes.sources import posts_csv
from tests.fakes.stages import scrape_source
from tweetbots.stages import base_model, clean, fine_tune, tokenize
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.stages.tokenize import TokenizeSettings
from tweetbots.store import (
    LOCKS,
    BusyError,
    OutputKey,
    building,
    fingerprint,
    is_complete,
    write_manifest,
)


def test_fingerprint_is_stable_and_order_sensitive():
    assert fingerprint("a", {"x": 1, "y": 2}) == fingerprint("a", {"y": 2, "x": 1})
    assert fingerprint("a", "b") != fingerprint("b", "a")


def test_an_output_is_named_by_everything_in_its_key(data_root):
    key = OutputKey(stage="clean", bot="bot", code="c1", inputs={"scrape": "fp1"})
    assert key.path.parent == data_root / "clean" / "bot"
    for change in ({"code": "c2"}, {"inputs": {"scrape": "fp2"}}, {"settings": {"x": 1}}):
        assert key.model_copy(update=change).path != key.path, change
    assert key.model_copy(update={"bot": "other"}).path.name == key.path.name  # not the name


def test_building_renames_only_on_success(data_root):
    final = data_root / "clean" / "bot" / "abc"
    with pytest.raises(RuntimeError), building(final) as tmp:
        (tmp / "half.parquet").write_text("partial")
        raise RuntimeError("crash mid-write")
    assert not final.exists()
    assert list(final.parent.iterdir()) == []  # no temp dir left behind

    with building(final) as tmp:
        write_manifest(tmp, stage="clean", bot="bot", fingerprint="abc")
    assert is_complete(final)


def test_a_finished_output_has_the_modes_of_plain_files(data_root, umask_027):
    final = data_root / "models" / "bot" / "fp"
    with building(final) as tmp:
        (tmp / "weights").write_bytes(b"w")
        (tmp / "weights").chmod(0o600)  # as a private writer leaves it
        (tmp / "tokenizer").mkdir(mode=0o700)
        write_manifest(tmp, stage="x", bot="bot", fingerprint="fp")
    modes = {p.name: p.stat().st_mode & 0o777 for p in [final, *final.iterdir()]}
    assert modes == {"fp": 0o750, "weights": 0o640, "tokenizer": 0o750, "manifest.json": 0o640}


def test_building_keeps_a_concurrent_complete_copy(data_root):
    final = data_root / "x" / "bot" / "fp"
    with building(final) as outer:
        with building(final) as inner:
            write_manifest(inner, stage="x", bot="bot", fingerprint="first")
        write_manifest(outer, stage="x", bot="bot", fingerprint="second")
    assert '"first"' in (final / "manifest.json").read_text()


def test_incomplete_leftover_is_replaced(data_root):
    final = data_root / "x" / "bot" / "fp"
    final.mkdir(parents=True)
    (final / "junk").write_text("crash leftover without manifest")
    with building(final) as tmp:
        write_manifest(tmp, stage="x", bot="bot", fingerprint="fp")
    assert is_complete(final) and not (final / "junk").exists()


def _dead_pid() -> int:

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_only_temp_dirs_of_dead_builders_on_this_host_are_removed(data_root):
    import socket

    final = data_root / "x" / "bot" / "fp"
    final.parent.mkdir(parents=True)
    host = socket.gethostname()
    dead = final.parent / f".fp.tmp-{host}-{_dead_pid()}-abc123"
    alive = final.parent / f".fp.tmp-{host}-{os.getpid()}-def456"
    elsewhere = final.parent / ".fp.tmp-other-host-1-ghi789"  # cannot tell: kept
    other_output = final.parent / f".fq.tmp-{host}-{_dead_pid()}-jkl012"
    for directory in (dead, alive, elsewhere, other_output):
        directory.mkdir()
    with building(final) as tmp:
        write_manifest(tmp, stage="x", bot="bot", fingerprint="fp")
    assert not dead.exists()
    assert alive.exists() and elsewhere.exists() and other_output.exists()


def test_exclusive_waits_for_the_holder_then_gives_up_in_one_line(data_root):
    import threading

    from tweetbots.store import BusyError, exclusive

    with exclusive("thing", "the thing"):
        started = time.monotonic()
        with pytest.raises(BusyError) as error, exclusive("thing", "the thing", wait_s=0.3):
            pass
        assert time.monotonic() - started >= 0.3
    message = str(error.value)
    assert message.startswith("the thing is busy: another run (pid ")
    assert f"pid {os.getpid()} on " in message and "\n" not in message

    held = threading.Event()

    def hold_briefly():
        with exclusive("thing", "the thing"):
            held.set()
            time.sleep(0.2)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    held.wait()
    waiting = time.monotonic()
    with exclusive("thing", "the thing", wait_s=5):  # waits, then gets it
        assert time.monotonic() - waiting >= 0.15
    holder.join()


# Windows has no fcntl; neither do some embedded Pythons. Imported in a child so that
# hiding fcntl cannot leak into this process's modules.
WITHOUT_FCNTL = """
import importlib, pkgutil, sys, warnings
from pathlib import Path
sys.modules["fcntl"] = None  # `import fcntl` now fails, as on Windows
warnings.simplefilter("ignore")  # filelock says it falls back to its portable lock
import tweetbots
for module in pkgutil.walk_packages(tweetbots.__path__, "tweetbots."):
    importlib.import_module(module.name)
from tweetbots.store import BusyError, exclusive
root = Path(sys.argv[1])
with exclusive("thing", "the thing", root=root):
    try:
        with exclusive("thing", "the thing", wait_s=0.2, root=root):
            print("not exclusive")
    except BusyError as error:
        print(error)
with exclusive("thing", "the thing", root=root):  # released: free again
    print("free again")
"""


def test_the_library_imports_and_locks_where_there_is_no_fcntl(tmp_path):
    import subprocess

    repo = Path(__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_FCNTL, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert done.returncode == 0, done.stderr
    busy, free = done.stdout.splitlines()
    assert busy.startswith("the thing is busy: another run (pid ")
    assert free == "free again"


def test_a_truncated_or_garbled_manifest_is_no_output_and_is_rebuilt(data_root):
    from tweetbots.store import CorruptOutputError, produce, read_manifest

    key = OutputKey(stage="clean", bot="bot", code="c1")
    builds = []

    def build(tmp):
        builds.append(tmp)
        (tmp / "posts.parquet").write_bytes(b"rows")
        return {"rows": 1}

    produce(key, build)
    manifest = key.path / "manifest.json"
    for garbage in (manifest.read_text()[:37], "\x00\x9f not json", "[1, 2]"):
        manifest.write_text(garbage, encoding="latin-1")
        assert not is_complete(key.path)
        with pytest.raises(CorruptOutputError) as error:
            read_manifest(key.path)
        assert str(manifest) in str(error.value) and "\n" not in str(error.value)
        assert produce(key, build).summary == {"rows": 1}  # rebuilt, not a bare JSON error
    assert len(builds) == 4 and is_complete(key.path)


# Run as root in a mount namespace of its own: a data root on a tiny or read-only tmpfs.
ON_A_SMALL_DISK = """
import sys
from pathlib import Path
from tweetbots.store import DataRootError, building
root = Path(sys.argv[1])
try:
    with building(root / "fine-tune" / "bot" / "fp") as tmp:
        (tmp / "model.safetensors").write_bytes(b"w" * (4 << 20))
except DataRootError as error:
    print(error)
"""


@pytest.mark.parametrize("mount", ["size=1m", "ro"])
def test_a_full_or_read_only_data_root_is_one_line_naming_it(tmp_path, mount):
    import shutil

    root = tmp_path / "root"
    root.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a tmpfs in its own namespace")
    script = f'mount -t tmpfs -o {mount} tmpfs "$1" && exec "$2" -c "$3" "$1"'
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(root), sys.executable, ON_A_SMALL_DISK],
        env={**__import__("os").environ, "TWEETBOTS_HOME": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    if "Operation not permitted" in done.stderr:
        pytest.skip("no permission to mount a tmpfs here (CI runs as root)")
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith(f"data root {root} cannot be written (")
    reason = "No space left on device" if mount == "size=1m" else "Read-only file system"
    assert reason in line and "TWEETBOTS_HOME" in line
    assert list(root.iterdir()) == []  # its own mount is gone: nothing left here either


# -- faults with real processes: a stage killed mid-write, two runs of one bot ----------


BUILD_BASE = """
import sys
from tweetbots.stages import base_model
from tweetbots.store import StageOutput
base_model.run("tiny", StageOutput.model_validate_json(sys.argv[1]))
"""


@pytest.mark.slow
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


FINE_TUNE = """
import sys
from tweetbots.stages import fine_tune
from tweetbots.stages.fine_tune import TrainSettings
from tweetbots.store import StageOutput
tokens, base = (StageOutput.model_validate_json(a) for a in sys.argv[1:3])
fine_tune.run(tokens, base, TrainSettings.model_validate_json(sys.argv[3]))
"""


@pytest.mark.slow
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
